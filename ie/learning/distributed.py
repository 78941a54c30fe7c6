"""torch.distributed in one place: set up from torchrun's environment, rank/world-size helpers, barrier.

Every helper is a no-op (rank 0 of a world of 1) when torch.distributed is not initialised, so single-process
code calls them unconditionally. torchrun sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``; :func:`init_from_env` reads them (backend: nccl on CUDA, gloo on CPU).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any


def _dist() -> Any:
    import torch.distributed as dist

    return dist


def is_initialized() -> bool:
    dist = _dist()
    return bool(dist.is_available() and dist.is_initialized())


def world_size() -> int:
    return _dist().get_world_size() if is_initialized() else 1


def rank() -> int:
    return _dist().get_rank() if is_initialized() else 0


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0")) if is_initialized() else 0


def is_main() -> bool:
    """True on rank 0 (and in a single process): the one process that writes checkpoints and logs."""
    return rank() == 0


def barrier() -> None:
    if is_initialized():
        _dist().barrier()


def launched_by_torchrun() -> bool:
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def init_from_env(device: str = "auto") -> bool:
    """Join the process group torchrun describes in the environment; False (and nothing done) without one.

    ``device`` picks the backend: nccl for CUDA (and ``cuda:LOCAL_RANK`` becomes the current device), else gloo.
    """
    if is_initialized():
        return True
    if not launched_by_torchrun() or int(os.environ["WORLD_SIZE"]) < 1:
        return False
    import torch

    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    _dist().init_process_group(backend="nccl" if cuda else "gloo")
    return True


def shutdown() -> None:
    if is_initialized():
        _dist().destroy_process_group()


def device_for_rank(device: str) -> str:
    """``auto``/``cuda`` -> ``cuda:LOCAL_RANK`` under DDP; anything else unchanged."""
    if is_initialized() and device in ("auto", "cuda"):
        import torch

        if torch.cuda.is_available():
            return f"cuda:{local_rank()}"
        return "cpu"
    return device


def all_reduce_mean(tensor: Any) -> Any:
    """The mean of ``tensor`` over ranks (``tensor`` itself in a single process)."""
    if world_size() == 1:
        return tensor
    out = tensor.clone()
    _dist().all_reduce(out)
    return out / world_size()


def torchrun_command(nproc: int, module: str, args: Sequence[str]) -> list[str]:
    """``python -m torch.distributed.run --standalone --nproc_per_node N -m MODULE ARGS`` with this interpreter."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
            "-m", module, *args]
