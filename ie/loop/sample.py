"""Stage 1, sample: concepts drawn from the concept brain, planned as queries (a concept drawn again searches deeper)."""

from __future__ import annotations

import random
from typing import Any, ClassVar

from ie.concepts.feedback import title_word_scores
from ie.loop.context import RunContext
from ie.loop.pauses import expire_pauses
from ie.store.reads import next_search_skip, titled_image_rewards

PAPER_VOCABULARY = 146_347
PAPER_TIERS = ((250, 0.8), (1000, 0.1))


def brain_options(vocabulary: Any, n_concepts: int, queries_per_iter: int, table: dict[str, Any],
                  policy: str) -> dict[str, Any]:
    """A new run's concept-brain options: the tiers scaled to the vocabulary, then the vocabulary's own defaults
    (:attr:`ie.api.Vocabulary.BRAIN_DEFAULTS`), then ``[options.concepts.brain]``, then the run's policy."""
    return {"tiers": scaled_tiers(n_concepts, queries_per_iter), **getattr(vocabulary, "BRAIN_DEFAULTS", {}),
            **table, "policy": policy}


def scaled_tiers(vocabulary_size: int, queries_per_iter: int) -> list[list[float]]:
    """The paper's tiers (top 250 -> 80% of the mass, 250-1000 -> 10%) were set for 146,347 WordNet concepts.
    A smaller vocabulary gets boundaries at the same share of it, but never below 2x and 8x the queries per
    iteration (so one iteration cannot exhaust the top tier); WordNet-sized ones get the paper's numbers."""
    if vocabulary_size >= PAPER_VOCABULARY:
        return [list(t) for t in PAPER_TIERS]
    out = []
    for (end, mass), floor in zip(PAPER_TIERS, (2, 8)):
        out.append([min(end, max(round(end * vocabulary_size / PAPER_VOCABULARY), floor * queries_per_iter)), mass])
    return out


class SampleStage:
    """Draws ``queries_per_iter`` concepts, adds a descriptor half the time, picks an engine per query."""

    name: ClassVar[str] = "sample"
    changes_brain: ClassVar[bool] = True  # the brain's RNG advanced: saved with the stage's mark

    def run(self, ctx: RunContext, iteration: int) -> dict[str, Any]:
        cfg = ctx.config
        # relevance feedback: the words of the rewarded images' titles (a share of the draw, the brain's
        # feedback_fraction); read from the store, so a resumed run draws what it would have
        wanted = iteration > 0 and getattr(ctx.brain, "uses_feedback", False)
        word_scores = title_word_scores(titled_image_rewards(ctx.store)) if wanted else {}
        concepts = ctx.brain.sample(cfg.queries_per_iter, word_scores)
        rng = random.Random(f"{cfg.seed}:{iteration}:queries")
        weights = list(cfg.engine_weights or [1.0] * len(cfg.engines))
        # an engine that sits out (a spent quota, a refused key) gets no queries while another can answer them;
        # one whose quota has reset since is back
        back = expire_pauses(ctx.store)
        if back:
            ctx.console.print(f"engines back in use (their quota reset): {', '.join(back)}")
        paused = ctx.store.get_state("disabled_engines", {})
        if any(w > 0 and e not in paused for e, w in zip(cfg.engines, weights)):
            weights = [0.0 if e in paused else w for e, w in zip(cfg.engines, weights)]
        planned = 0
        for concept in concepts:
            descriptor = None
            if ctx.descriptors is not None and rng.random() < 0.5:
                options = ctx.descriptors.descriptors(concept, 5)
                descriptor = rng.choice(options) if options else None
            text = f"{descriptor} {concept.name}" if descriptor else concept.name
            engine = rng.choices(cfg.engines, weights=weights)[0]
            # a concept drawn again is searched deeper (the results after those already fetched); one whose
            # earlier search came back short or failed is spent on that engine
            skip = next_search_skip(ctx.store, engine, text, cfg.images_per_query, iteration)
            if skip is None:
                continue
            ctx.store.add_query(iteration, concept.id, text, engine, descriptor, skip=skip)
            planned += 1
        if not word_scores:
            return {"planned": planned}
        best = sorted(word_scores, key=lambda w: (-word_scores[w], w))[:5]  # kept with the stage's mark
        return {"planned": planned, "feedback_words": {w: round(word_scores[w], 4) for w in best}}
