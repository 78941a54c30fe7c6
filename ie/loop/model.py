"""The model side of the loop: which checkpoint is current, training one iteration, features, evaluation."""

from __future__ import annotations

import math
import random
import shutil
from pathlib import Path
from typing import Any

from ie.api import TargetData
from ie.faults import fault_point
from ie.loop.context import Session
from ie.store import RunStore


class ModelState:
    """Holds the current backbone: the latest iteration's checkpoint, or the initial weights."""

    def __init__(self, session: Session, store: RunStore, target: TargetData):
        self.session, self.store, self.target = session, store, target
        self.config = session.config
        self.method = session.create("ssl", self.config.ssl)
        self._trainer: Any = None
        self._trainer_id: str | None = None

    def _current(self) -> tuple[str, Path | None]:
        row = self.store.latest_checkpoint()
        return (f"iter{row['iteration']:03d}", Path(row["path"])) if row else ("init", None)

    def trainer(self, checkpoint_dir: Path | None = None) -> Any:
        """A Trainer holding the current weights (rebuilt only when the current checkpoint changes)."""
        from ie.learning.train import Trainer

        model_id, path = self._current()
        if self._trainer is not None and self._trainer_id == model_id and checkpoint_dir is None:
            return self._trainer
        cfg = self.config
        trainer = Trainer(self.method, cfg.arch, image_size=cfg.image_size, batch_size=cfg.batch_size,
                          checkpoint_dir=checkpoint_dir or self.session.run_dir / "checkpoints" / "current",
                          device=cfg.device, seed=cfg.seed, init=cfg.init, finetune=cfg.finetune)
        if path is not None:
            trainer.load(path)
        self._trainer, self._trainer_id = trainer, model_id
        return trainer

    def featurizer(self) -> Any:
        from ie.learning.features import ModelFeaturizer

        model_id, _ = self._current()
        return ModelFeaturizer(self.trainer().backbone, id=model_id, image_size=self.config.image_size,
                               device=self.config.device, cache_dir=self.session.run_dir / "features",
                               executor=self.session.executor)

    def train(self, iteration: int) -> dict[str, Any]:
        """SSL on this iteration's candidates + PCR x (replay buffer + target); resumes inside the stage."""
        from ie.learning.data import training_mix

        cfg = self.config
        candidates = [img.path for img in self.store.images(iteration=iteration)]
        replay = [img.path for img in self.store.replay() if img.path not in set(candidates)]
        past = replay + [x.path for x in self.target.train]
        rng = random.Random(f"{cfg.seed}:{iteration}:mix")
        mix = training_mix(candidates, past, cfg.pcr, rng) if candidates else rng.sample(past, min(len(past), 256))
        steps = max(1, math.ceil(cfg.epochs * len(mix) / cfg.batch_size))
        if cfg.max_steps_per_iter:
            steps = min(steps, cfg.max_steps_per_iter)
        checkpoint_dir = self.session.run_dir / "checkpoints" / f"iter{iteration:03d}"
        trainer = self.trainer(checkpoint_dir)
        result = trainer.fit(mix, steps)
        fault_point(f"train:{iteration}:after-fit")
        self.store.add_checkpoint(iteration, Path(result.checkpoint), result.steps)
        fault_point(f"checkpoint:{iteration}:after-record")
        self._trainer, self._trainer_id = trainer, f"iter{iteration:03d}"
        self.session.emit("checkpoint_saved", iteration, path=str(result.checkpoint), step=result.steps)
        self.prune_checkpoints(iteration)
        loss = result.losses[-1] if result.losses else float("nan")
        return {"steps": result.steps, "mix": len(mix), "candidates": len(candidates), "loss": loss,
                "images_per_second": result.images_per_second}

    def prune_checkpoints(self, iteration: int) -> list[int]:
        """Delete the checkpoint folders of iterations older than the newest ``keep_checkpoints``.

        Runs after ``iteration``'s checkpoint is recorded, so resume never needs what it deletes. Folders are found on
        disk, not in the store, so a crash between forgetting the rows and deleting the files is cleaned up next time.
        """
        keep = self.config.keep_checkpoints
        root = self.session.run_dir / "checkpoints"
        if keep <= 0 or not root.is_dir():
            return []
        found = sorted(int(d.name[4:]) for d in root.glob("iter*") if d.is_dir() and d.name[4:].isdigit())
        stale = [i for i in found if i <= iteration - keep]
        self.store.forget_checkpoints(stale)
        for i in stale:
            shutil.rmtree(root / f"iter{i:03d}", ignore_errors=True)
        return stale

    def evaluate(self, iteration: int) -> dict[str, float]:
        from ie.learning.evaluate import evaluate_featurizer

        result = evaluate_featurizer(self.featurizer(), self.target, linear=self.config.linear_probe)
        return {k: result[k] for k in ("knn_top1", "linear_top1") if k in result}

    def export_backbone(self, path: Path) -> Path:
        """The trained backbone as a timm-loadable state dict."""
        return self.trainer().save_timm_state_dict(path)
