"""Stage 5, estimate: the iteration's concept rewards added to the GP; the replay buffer grows by the top
share of the new images (by reward)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from ie.faults import fault_point
from ie.loop.context import RunContext
from ie.store.reads import search_spent


class EstimateStage:
    name: ClassVar[str] = "estimate"
    changes_brain: ClassVar[bool] = True  # the GP's observations: saved with the stage's mark

    def run(self, ctx: RunContext, iteration: int) -> dict[str, Any]:
        observed = ctx.store.concept_rewards(iteration=iteration)
        if ctx.brain.observed_through < iteration:
            ctx.brain.observe([r["concept_id"] for r in observed], [r["value"] for r in observed], iteration=iteration)
            # a search that returned fewer results than asked (or failed for good) has nothing deeper: never draw
            # it again; one that failed in passing (throttled, network, a paused engine) stays in the draw
            limit = ctx.config.images_per_query
            ctx.brain.retire([q["concept_id"] for q in ctx.store.queries(iteration=iteration)
                              if search_spent(q["status"], q["n_hits"], limit, q["error"])])
            fault_point(f"estimate:{iteration}:after-observe")
        rewards = ctx.store.image_rewards(iteration=iteration)
        ranked = sorted(rewards, key=lambda s: (-rewards[s], s))
        keep = ranked[: math.ceil(len(ranked) * ctx.config.replay_fraction)]
        ctx.store.add_to_replay(iteration, keep)
        return {"observed": len(observed), "replay_added": len(keep)}
