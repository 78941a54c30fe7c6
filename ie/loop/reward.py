"""Stage 4, reward: new images scored against the target with the current model's features (the reward
plugin: kNN similarity by default, CLIP optionally), then each query's concept reward."""

from __future__ import annotations

from typing import Any, ClassVar

from ie.faults import fault_point
from ie.loop.context import RunContext


def reward_reference(ctx: RunContext, featurizer: Any) -> float:
    """Concept rewards are measured against the target's own held-out (val) images under the same model:
    the model changes every iteration, and a fast-moving one (random init, BN statistics settling) shifts
    every cosine; subtracting this per-iteration reference keeps rewards of different iterations
    comparable for the GP. 0 when the target has no val split or ``calibrate_rewards`` is off."""
    if not (ctx.config.calibrate_rewards and ctx.target.val):
        return 0.0
    values = ctx.reward_fn.score([x.path for x in ctx.target.val], featurizer)
    return float(ctx.reward_fn.concept_reward(values))


class RewardStage:
    name: ClassVar[str] = "reward"
    changes_brain: ClassVar[bool] = False

    def run(self, ctx: RunContext, iteration: int) -> dict[str, Any]:
        store, reward_fn = ctx.store, ctx.reward_fn
        featurizer = ctx.model.featurizer()
        reward_fn.fit_target([x.path for x in ctx.target.train], featurizer, ctx.target.class_names)
        scored = store.image_rewards()
        new = [img for img in store.images(iteration=iteration) if img.sha256 not in scored]
        if new:
            values = reward_fn.score([img.path for img in new], featurizer)
            store.add_image_rewards(iteration, {img.sha256: float(v) for img, v in zip(new, values)}, ctx.config.reward)
            fault_point(f"reward:{iteration}:after-image-rewards")
        reference = reward_reference(ctx, featurizer)
        rewards = store.image_rewards()
        triples, empty = [], []
        for q in store.queries(iteration=iteration, status="done"):
            values = [rewards[s] for s in store.query_image_shas(q["id"]) if s in rewards]
            if values:
                triples.append((q["id"], q["concept_id"], reward_fn.concept_reward(values) - reference))
            else:
                empty.append((q["id"], q["concept_id"]))
        # a query that yielded no image counts as the worst concept of its iteration (not as 0, which would be
        # far outside the cosine scale and swamp the GP)
        floor = min((t[2] for t in triples), default=0.0)
        store.add_concept_rewards(iteration, triples + [(qid, cid, floor) for qid, cid in empty])
        return {"scored": len(new), "concepts": len(triples) + len(empty), "reward_reference": reference}
