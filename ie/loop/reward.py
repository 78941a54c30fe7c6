"""Stage 4, reward: new images scored against the target with the current model's features (the reward
plugin: kNN similarity by default, CLIP optionally), then each query's concept reward."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

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
        if ctx.config.reward_background > 0:
            reward_fn.fit_background(background_images(ctx, iteration), featurizer)
        scored = store.image_rewards()
        new = [img for img in store.images(iteration=iteration) if img.sha256 not in scored]
        if new:
            values = reward_fn.score([img.path for img in new], featurizer)
            store.add_image_rewards(iteration, {img.sha256: float(v) for img, v in zip(new, values)}, ctx.config.reward)
            fault_point(f"reward:{iteration}:after-image-rewards")
        reference = reward_reference(ctx, featurizer)
        rewards = store.image_rewards()
        per_query = [(q["id"], q["concept_id"], [rewards[s] for s in store.query_image_shas(q["id"]) if s in rewards])
                     for q in store.queries(iteration=iteration, status="done")]
        # a query that kept no image because its downloads failed in passing (a throttling host, timeouts, 5xx)
        # says nothing about its concept: it is not scored, so the GP is not taught that the concept is bad
        unheard = {qid for qid, _, values in per_query
                   if not values and _mostly_transient(*store.query_download_failures(qid))}
        per_query = [q for q in per_query if q[0] not in unheard]
        if ctx.config.pad_short_queries and accepts_missing(reward_fn):
            # a query with few images is scored as if its missing ones were poor: on a web where most queries
            # find 0-2 images (captions, not pixels, decide the hits), the mean of one lucky image otherwise tops
            # the iteration and the GP chases its neighbours (measured on the clip-art web: "Henry VIII", one
            # portrait, outranked "bird", 16 birds)
            pooled = [v for _, _, values in per_query for v in values]
            missing = float(np.percentile(pooled, MISSING_PERCENTILE)) if pooled else 0.0
            triples = [(qid, cid, reward_fn.concept_reward(values, missing=missing) - reference)
                       for qid, cid, values in per_query]
        else:
            found = [(qid, cid, reward_fn.concept_reward(values) - reference)
                     for qid, cid, values in per_query if values]
            # a query that yielded no image counts as the worst concept of its iteration (not as 0, which would be
            # far outside the cosine scale and swamp the GP)
            floor = min((t[2] for t in found), default=0.0)
            triples = found + [(qid, cid, floor) for qid, cid, values in per_query if not values]
        store.add_concept_rewards(iteration, triples)
        return {"scored": len(new), "concepts": len(triples), "reward_reference": reference,
                "unscored_transient": len(unheard)}


def _mostly_transient(transient: int, recorded: int) -> bool:
    return recorded > 0 and transient * 2 >= recorded


def background_images(ctx: RunContext, iteration: int) -> list[Path]:
    """The web at large for the reward's contrast: a seeded sample of ``reward_background`` kept images of the
    first iteration that kept any (iteration 0 draws concepts uniformly, so its images are the web as the
    engines return it, not what the policy prefers); the same images in every later iteration."""
    for first in range(iteration + 1):
        images = sorted(img.path for img in ctx.store.images(iteration=first))
        if images:
            break
    else:
        return []
    n = min(ctx.config.reward_background, len(images))
    chosen = np.random.default_rng([ctx.config.seed, 23]).choice(len(images), n, replace=False)
    return [images[i] for i in sorted(chosen)]


MISSING_PERCENTILE = 10  # the reward an absent image counts: a low one of the iteration's images


def accepts_missing(reward_fn: Any) -> bool:
    """Whether the plugin's ``concept_reward`` takes ``missing`` (a plugin written before it existed may not)."""
    return "missing" in inspect.signature(reward_fn.concept_reward).parameters
