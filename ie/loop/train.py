"""Stage 6, train: self-supervised training on the iteration's candidates mixed with PCR x (replay buffer +
target train split), from the current checkpoint; the trainer checkpoints inside the stage."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any, ClassVar

from ie.faults import fault_point
from ie.loop.checkpoint import record_checkpoint
from ie.loop.context import RunContext
from ie.progress import progress_bar


class TrainStage:
    name: ClassVar[str] = "train"
    changes_brain: ClassVar[bool] = False

    def run(self, ctx: RunContext, iteration: int) -> dict[str, Any]:
        from ie.learning.data import training_mix

        cfg, store = ctx.config, ctx.store
        candidates = [img.path for img in store.images(iteration=iteration)]
        new = set(candidates)  # built once: rebuilt per replay image it made this stage quadratic (paper_scale.py)
        replay = [img.path for img in store.replay() if img.path not in new]
        past = replay + [x.path for x in ctx.target.train]
        rng = random.Random(f"{cfg.seed}:{iteration}:mix")
        mix = training_mix(candidates, past, cfg.pcr, rng) if candidates else rng.sample(past, min(len(past), 256))
        steps = max(1, math.ceil(cfg.epochs * len(mix) / cfg.batch_size))
        if cfg.max_steps_per_iter:
            steps = min(steps, cfg.max_steps_per_iter)
        trainer = ctx.model.trainer(ctx.run_dir / "checkpoints" / f"iter{iteration:03d}")

        def on_step(done: int) -> None:
            bar.update(done)
            fault_point(f"train:{iteration}:step-{done}")

        # checkpoints every cfg.checkpoint_every steps: a crash mid-stage resumes from the newest (redoes fewer)
        with progress_bar(f"training iteration {iteration}", steps, enabled=ctx.progress) as bar:
            result = trainer.fit(mix, steps, on_step=on_step)
        fault_point(f"train:{iteration}:after-fit")
        record_checkpoint(store, iteration, Path(result.checkpoint), result.steps, cfg.keep_checkpoints)
        fault_point(f"checkpoint:{iteration}:after-record")
        ctx.model.became(iteration, trainer)
        ctx.session.emit("checkpoint_saved", iteration, path=str(result.checkpoint), step=result.steps)
        loss = result.losses[-1] if result.losses else float("nan")
        return {"steps": result.steps, "resumed_from": result.resumed_from, "mix": len(mix),
                "candidates": len(candidates), "loss": loss, "images_per_second": result.images_per_second}
