"""Run by tests/learning/test_ddp.py under torchrun: a few DDP steps, recording what each rank holds and writes.

Usage: ``torchrun --nproc_per_node 2 _ddp_worker.py METHOD IMAGE_DIR OUT_DIR``; writes ``OUT_DIR/rank-R.json``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch

from ie.learning import distributed
from ie.learning.data import list_images
from ie.learning.train import Trainer
from ie_plugins.ssl.mocov3 import MoCoV3
from ie_plugins.ssl.simsiam import SimSiam

METHODS = {"mocov3": lambda: MoCoV3({"proj_hidden_dim": 64, "out_dim": 32, "pred_hidden_dim": 64,
                                     "warmup_fraction": 0.0}),
           "simsiam": lambda: SimSiam({"proj_hidden_dim": 64, "out_dim": 32, "pred_hidden_dim": 16})}


def checksum(model: torch.nn.Module) -> str:
    """sha256 of every parameter and buffer (momentum encoder and BN statistics included)."""
    digest = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def main(method: str, images: Path, out: Path) -> None:
    torch.set_num_threads(1)
    assert distributed.init_from_env("cpu")
    saved: list[str] = []
    real_save = torch.save

    def recording_save(obj: object, f: object, *args: object, **kwargs: object) -> None:
        saved.append(str(getattr(f, "name", f)))  # a path, or the file object atomic_write yields
        real_save(obj, f, *args, **kwargs)

    torch.save = recording_save  # type: ignore[assignment]
    trainer = Trainer(METHODS[method](), "resnet18", image_size=32, batch_size=8, checkpoint_dir=out / "ck",
                      device="cpu", checkpoint_every=2, amp=False)
    sums = [checksum(trainer.model)]
    result = trainer.fit(list_images(images), 3, on_step=lambda done: sums.append(checksum(trainer.model)))
    record = {"rank": distributed.rank(), "world_size": distributed.world_size(), "checksums": sums,
              "losses": result.losses, "saved": saved, "checkpoint": str(result.checkpoint)}
    (out / f"rank-{distributed.rank()}.json").write_text(json.dumps(record))
    distributed.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
