"""The policy half of the loop on a web with ground truth, image by image: for tests and benchmarks that measure
what the concept brain makes of a real vocabulary and corpus without training a model.

Each drawn concept is searched on the engine (``images_per_query`` hits a page; a concept drawn again gets its next
page, as the run searches it deeper); each image found gets a
reward once, its ground-truth relevance (1 or 0) plus Gaussian noise (``image_noise``: 0.7 puts a relevant image
above an irrelevant one 84% of the time, about the kNN reward's ROC AUC on the clip-art web); a concept's reward
is the mean of its top 10 image rewards (the paper's), an empty search the iteration's lowest; a search that came
back short is retired, as in the run. The relevance feedback reads the images' titles as the run reads its hits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ie.concepts.feedback import title_word_scores


def run_image_proxy(brain: Any, engine: Any, iterations: int, queries: int, seed: int, *,
                    images_per_query: int = 16, image_noise: float = 0.7, feedback: bool = True,
                    relevant_at: float = 0.5) -> list[float]:
    """Relevant-query precision per iteration (a query is relevant when ``engine.relevance(name) >=
    relevant_at``). ``engine`` needs ``search_page``, ``image_relevance`` and ``relevance`` (the clip-art engine)."""
    rng = np.random.default_rng([seed, 5])
    reward: dict[str, float] = {}
    titles: dict[str, set[str]] = {}
    pages: dict[str, int] = {}
    precision = []
    for iteration in range(iterations):
        scores = title_word_scores([(" ".join(sorted(titles[u])), reward[u]) for u in sorted(titles)]) \
            if feedback and iteration > 0 else {}
        picked = brain.sample(queries, scores)
        relevant, values, spent = [], [], []
        for concept in picked:
            pages[concept.id] = pages.get(concept.id, 0) + 1
            hits = engine.search_page(concept.name, pages[concept.id], images_per_query).hits
            relevant.append(engine.relevance(concept.name) >= relevant_at)
            found = []
            for hit in hits:
                if hit.url not in reward:
                    reward[hit.url] = float(bool(engine.image_relevance(hit.url))) + float(rng.normal(0.0, image_noise))
                titles.setdefault(hit.url, set()).add(hit.title or "")
                found.append(reward[hit.url])
            values.append(top_mean(found))
            if len(hits) < images_per_query:
                spent.append(concept.id)
        precision.append(float(np.mean(relevant)) if relevant else 0.0)
        floor = min((v for v in values if v is not None), default=0.0)
        brain.observe([c.id for c in picked], [floor if v is None else v for v in values], iteration=iteration)
        brain.retire(spent)
    return precision


def top_mean(values: Sequence[float], top_n: int = 10) -> float | None:
    """Mean of the ``top_n`` largest values (None when there are none)."""
    best = sorted(values, reverse=True)[:top_n]
    return float(np.mean(best)) if best else None
