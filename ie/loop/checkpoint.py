"""Checkpoints of a run: recorded per iteration, old ones pruned, the final backbone exported for timm.

The trainer writes its own step checkpoints inside a stage (``checkpoints/iterNNN/``); this module decides
which iteration folders stay and hands the result to the user."""

from __future__ import annotations

import shutil
from pathlib import Path

from ie.store import RunStore


def record_checkpoint(store: RunStore, iteration: int, path: Path, steps: int, keep: int) -> list[int]:
    """Record ``iteration``'s checkpoint, then prune the folders of iterations older than the newest ``keep``."""
    store.add_checkpoint(iteration, path, steps)
    return prune_checkpoints(store, iteration, keep)


def prune_checkpoints(store: RunStore, iteration: int, keep: int) -> list[int]:
    """Delete the checkpoint folders of iterations older than the newest ``keep`` (0 = keep all).

    Runs after ``iteration``'s checkpoint is recorded, so resume never needs what it deletes. Folders are found on
    disk, not in the store, so a crash between forgetting the rows and deleting the files is cleaned up next time.
    """
    root = store.run_dir / "checkpoints"
    if keep <= 0 or not root.is_dir():
        return []
    found = sorted(int(d.name[4:]) for d in root.glob("iter*") if d.is_dir() and d.name[4:].isdigit())
    stale = [i for i in found if i <= iteration - keep]
    store.forget_checkpoints(stale)
    for i in stale:
        shutil.rmtree(root / f"iter{i:03d}", ignore_errors=True)
    return stale


def export_backbone(trainer: object, path: Path) -> Path:
    """The trained backbone as a timm-loadable state dict (``checkpoints/backbone_timm.pth``)."""
    return trainer.save_timm_state_dict(path)  # type: ignore[attr-defined]
