"""The current model of a run: the latest iteration's checkpoint (or the start weights), as a trainer to go on
training from and as a featurizer for the reward and the evaluation (features cached per model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ie.api import TargetData
from ie.loop.session import Session
from ie.store import RunStore


class ModelState:
    """Holds the current backbone: the latest iteration's checkpoint, or the initial weights."""

    def __init__(self, session: Session, store: RunStore, target: TargetData, progress: bool = False):
        self.session, self.store, self.target, self.progress = session, store, target, progress
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
                          device=cfg.device, seed=cfg.seed, init=cfg.init, finetune=cfg.finetune,
                          checkpoint_every=cfg.checkpoint_every)
        if path is not None:
            trainer.load(path)
        self._trainer, self._trainer_id = trainer, model_id
        return trainer

    def became(self, iteration: int, trainer: Any) -> None:
        """``trainer`` (just trained in ``iteration``, its checkpoint recorded) is the current model now."""
        self._trainer, self._trainer_id = trainer, f"iter{iteration:03d}"

    def featurizer(self) -> Any:
        from ie.learning.features import ModelFeaturizer

        model_id, _ = self._current()
        return ModelFeaturizer(self.trainer().backbone, id=model_id, image_size=self.config.model_feature_size,
                               device=self.config.device, cache_dir=self.session.run_dir / "features",
                               executor=self.session.executor, progress=self.progress)

    def evaluate(self, iteration: int) -> dict[str, float]:
        """Target kNN (and linear-probe) accuracy of the current model, with the test-set size ``n_test`` that
        their 95% intervals need (iteration -1: the start model's baseline)."""
        from ie.learning.evaluate import evaluate_featurizer

        result = evaluate_featurizer(self.featurizer(), self.target, linear=self.config.linear_probe)
        return {k: result[k] for k in ("knn_top1", "linear_top1", "n_test") if k in result}
