"""How to fine-tune a pretrained start without destroying what it knows (the choice behind ``finetune = "auto"``).

From EfficientNet-Lite0's offline ImageNet weights, MoCo-v3 as the loop runs it (iterations of ``--steps`` steps,
a fresh optimizer and schedule each, the model carried over) on the clipart animals target's train split plus the
relevant images of its web (what a good exploration downloads). After every iteration: the loop's target kNN top-1
and linear probe (train -> test), and kNN leave-one-out over all the target's images (less noisy: 113 images).
Modes:

- ``full``: the paper's recipe on every layer (LARS lr 0.8 x batch / 256, batch-norm statistics re-estimated),
- ``gentle``: backbone learning rate x0.1 against the fresh heads, batch-norm statistics kept (``finetune = "gentle"``),
- ``bn-only``: batch-norm statistics kept, full learning rate,
- ``lr-only``: backbone learning rate x0.1, batch-norm statistics re-estimated.

    python benchmarks/finetune_start.py --seeds 0,1           # CPU: ~2 min a mode and seed
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODES = {"full": ("full", {}), "gentle": ("gentle", {}), "bn-only": ("full", {"freeze_bn_stats": True}),
         "lr-only": ("full", {"backbone_lr_scale": 0.1})}


def leave_one_out_knn(features, labels, k: int = 20) -> float:
    import torch

    sims = features @ features.T
    sims.fill_diagonal_(-2.0)
    values, index = sims.topk(k, dim=1)
    votes = torch.zeros(len(features), int(labels.max()) + 1).scatter_add_(1, labels[index], (values / 0.07).exp())
    return float((votes.argmax(1) == labels).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--steps", type=int, default=20, help="SSL steps per iteration (the demo's 20)")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--out", default="bench-out/finetune_start.jsonl")
    parser.add_argument("--quick", action="store_true", help="modes full and gentle, 2 iterations, seed 0")
    args = parser.parse_args()
    if args.quick:
        args.modes, args.iterations, args.seeds = "full,gentle", 2, "0"

    import random

    import torch
    from rich.console import Console
    from rich.table import Table

    from ie.learning.evaluate import evaluate_featurizer
    from ie.learning.features import ModelFeaturizer
    from ie.host.manager import get_plugin_manager
    from ie.learning.train import Trainer

    pm = get_plugin_manager()
    target = pm.create("target", "clipart", {"name": "clipart:animals"}).load()
    engine = pm.create("engine", "clipart", {"target": "animals"})
    relevant = sorted(engine.relevant_files())
    engine.close()
    everything = target.train + target.val + target.test
    labels = torch.tensor([int(x.label) for x in everything])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
            finetune, options = MODES[mode]
            with tempfile.TemporaryDirectory() as tmp:
                trainer = Trainer(pm.create("ssl", "mocov3", dict(options)), "efficientnet_lite0",
                                  image_size=args.image_size, batch_size=args.batch_size,
                                  checkpoint_dir=Path(tmp) / "start", device="cpu", seed=seed, init="imagenet",
                                  finetune=finetune)
                pool = relevant + [x.path for x in target.train]
                by_iteration = []
                for i in range(-1, args.iterations):
                    if i >= 0:
                        trainer.checkpoint_dir = Path(tmp) / f"iter{i}"
                        trainer.fit(random.Random(f"{seed}:{i}").sample(pool, len(pool)), args.steps)
                    featurizer = ModelFeaturizer(trainer.backbone, id=f"{mode}{i}", image_size=args.image_size,
                                                 device="cpu")
                    loop = evaluate_featurizer(featurizer, target, linear=True)
                    by_iteration.append({"iteration": i, "knn_top1": loop["knn_top1"],
                                         "linear_top1": loop["linear_top1"],
                                         "knn_loo": leave_one_out_knn(featurizer([x.path for x in everything]),
                                                                      labels)})
            row = {"mode": mode, "seed": seed, "steps": args.steps, "image_size": args.image_size,
                   "by_iteration": by_iteration}
            rows.append(row)
            with open(out, "a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(f"finetune[{mode} seed {seed}]: kNN LOO by iteration "
                  f"{[round(x['knn_loo'], 3) for x in by_iteration]}", flush=True)
    table = Table(title=f"clipart animals: accuracy by iteration ({args.steps} MoCo-v3 steps each, "
                        f"{args.image_size} px), mean over seeds {args.seeds}")
    table.add_column("mode")
    table.add_column("metric")
    for i in range(-1, args.iterations):
        table.add_column("start" if i < 0 else f"iter {i}")
    for mode in dict.fromkeys(r["mode"] for r in rows):
        chosen = [r for r in rows if r["mode"] == mode]
        for metric in ("knn_loo", "knn_top1", "linear_top1"):
            table.add_row(mode, metric, *(f"{statistics.mean(r['by_iteration'][j][metric] for r in chosen):.3f}"
                                          for j in range(args.iterations + 1)))
    Console().print(table)


if __name__ == "__main__":
    main()
