"""Stage 7, evaluate: target kNN (and linear probe) of the new model where the target has labels; where an
engine knows ground truth (simweb, clipart), relevant-query precision and the reward's ROC AUC."""

from __future__ import annotations

from typing import Any, ClassVar

from ie.loop.context import RunContext


def query_metrics(ctx: RunContext, iteration: int) -> dict[str, float]:
    store = ctx.store
    queries = store.queries(iteration=iteration)
    rewards = [r["value"] for r in store.concept_rewards(iteration=iteration)]
    image_rewards = list(store.image_rewards(iteration=iteration).values())
    out = {"queries": float(len(queries)), "images_kept": float(len(store.images(iteration=iteration))),
           "mean_image_reward": sum(image_rewards) / len(image_rewards) if image_rewards else 0.0,
           "mean_concept_reward": sum(rewards) / len(rewards) if rewards else 0.0}
    relevance = [r for r in (_relevance(ctx, q["engine"], q["text"]) for q in queries) if r is not None]
    if relevance:
        out["relevant_query_precision"] = sum(1.0 for r in relevance if r >= 0.5) / len(relevance)
    out.update(reward_quality(ctx, iteration))
    out.update(relevant_concept_rank(ctx))
    return out


GROUND_TRUTH_SAMPLE = 1000  # concepts whose own query's relevance is asked once a run (BM25: ~10 ms each)


def relevant_concept_rank(ctx: RunContext) -> dict[str, float]:
    """Where an engine knows ground truth: how high the policy now ranks the concepts whose own query is relevant,
    as the median of their rank / vocabulary size (0 = the top, 0.5 = a random order), over a seeded sample of
    the vocabulary whose relevance is asked once and kept in the run's state. Where the signal is lost between
    the rewards and the next queries shows here: a GP that learnt the target's concepts ranks them near 0."""
    brain = ctx.brain
    engine = next((name for name, e in ctx.session.engines.items() if callable(getattr(e, "relevance", None))), None)
    if engine is None or brain.options["policy"] == "random":
        return {}
    import numpy as np

    truth: dict[str, float] | None = ctx.store.get_state("ground_truth_sample")
    if truth is None:
        n = len(brain.concepts)
        picked = np.random.default_rng([ctx.config.seed, 11]).choice(n, min(n, GROUND_TRUTH_SAMPLE), replace=False)
        truth = {brain.concepts[i].id: float(_relevance(ctx, engine, brain.concepts[i].name) or 0.0)
                 for i in sorted(picked)}
        ctx.store.set_state("ground_truth_sample", truth)
    relevant = [brain.index[cid] for cid, value in truth.items() if value >= 0.5 and cid in brain.index]
    if not relevant:
        return {"relevant_concepts_sampled": 0.0}
    order = np.argsort(-brain.score(), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return {"relevant_concepts_sampled": float(len(relevant)),
            "relevant_concept_rank": float(np.median(rank[relevant]) / len(order))}


def reward_quality(ctx: RunContext, iteration: int) -> dict[str, float]:
    """Where an engine knows which served images are relevant to the target (simweb, clipart): the share of
    relevant new images, and the ROC AUC of the image reward at telling them from the others (0.5 = chance):
    whether the rewards the policy learns from carry signal at all."""
    judges = [j for j in (getattr(e, "image_relevance", None) for e in ctx.session.engines.values()) if callable(j)]
    if not judges:
        return {}
    rewards = ctx.store.image_rewards(iteration=iteration)
    labels, scores = [], []
    for image in ctx.store.images(iteration=iteration):
        truth = next((t for t in (j(image.source_url or "") for j in judges) if t is not None), None)
        if truth is not None and image.sha256 in rewards:
            labels.append(bool(truth))
            scores.append(rewards[image.sha256])
    if not labels:
        return {}
    out = {"relevant_image_share": sum(labels) / len(labels)}
    if 0 < sum(labels) < len(labels):
        from sklearn.metrics import roc_auc_score

        out["reward_auc"] = float(roc_auc_score(labels, scores))
    return out


def _relevance(ctx: RunContext, engine: str, text: str) -> float | None:
    judge = getattr(ctx.session.engines.get(engine), "relevance", None)
    return judge(text) if callable(judge) else None


class EvaluateStage:
    name: ClassVar[str] = "evaluate"
    changes_brain: ClassVar[bool] = False

    def run(self, ctx: RunContext, iteration: int) -> dict[str, Any]:
        metrics: dict[str, float] = {}
        if ctx.target.labeled and ctx.config.evaluate:
            metrics.update(ctx.model.evaluate(iteration))
        metrics.update(query_metrics(ctx, iteration))
        ctx.store.add_metrics(iteration, metrics)
        return metrics
