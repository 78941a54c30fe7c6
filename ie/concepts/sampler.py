"""The paper's sampling rules, as small pure functions over a score vector.

1. temperature: ``tau = (max r - min r) / smr`` with ``smr = 3`` (the paper's "score max-min ratio"),
2. softmax ``p ~ exp(r / tau)``,
3. tiers: rank concepts by ``r``; the top 250 share 80% of the mass, ranks 250-1000 share 10%, the
   rest 10%, each tier in proportion to its softmax weights (empty tiers give their mass to the others),
4. draw ``M`` concepts without replacement.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_TIERS: tuple[tuple[int, float], ...] = ((250, 0.8), (1000, 0.1))
DEFAULT_REST_MASS = 0.1


def temperature(scores: np.ndarray, smr: float = 3.0) -> float:
    """``(max r - min r) / smr``; ``inf`` when all scores are equal (the softmax is then uniform)."""
    spread = float(np.max(scores) - np.min(scores)) if len(scores) else 0.0
    return spread / smr if spread > 0 else float("inf")


def softmax(scores: np.ndarray, tau: float) -> np.ndarray:
    """Softmax of ``scores / tau`` (uniform for ``tau = inf``), computed stably in float64."""
    scores = np.asarray(scores, dtype=np.float64)
    if not np.isfinite(tau):
        return np.full(len(scores), 1.0 / len(scores))
    z = (scores - scores.max()) / tau
    w = np.exp(z)
    return w / w.sum()


def rank_order(scores: np.ndarray, tie_break: np.ndarray | None = None) -> np.ndarray:
    """Indices sorted by score, highest first; ties ordered by ``tie_break`` (e.g. a seeded permutation)
    instead of index, so equal scores do not favour the start of the vocabulary."""
    keys = (np.arange(len(scores)) if tie_break is None else tie_break, -np.asarray(scores))
    return np.lexsort(keys)


def tier_masses(
    base: np.ndarray,
    order: np.ndarray,
    tiers: Sequence[Sequence[float]] = DEFAULT_TIERS,
    rest_mass: float = DEFAULT_REST_MASS,
) -> np.ndarray:
    """Redistribute the probability vector ``base`` so each rank tier holds its mass.

    ``order`` ranks the concepts (best first); ``tiers`` is ``[(end_rank, mass), ...]`` with increasing
    ``end_rank``, and ranks past the last end get ``rest_mass``. Within a tier, concepts keep their
    relative ``base`` weights. Masses of empty tiers are shared by the others pro rata.
    """
    n = len(base)
    out = np.zeros(n, dtype=np.float64)
    bounds, masses, start = [], [], 0
    for end, mass in tiers:
        bounds.append((start, min(int(end), n)))
        masses.append(float(mass))
        start = min(int(end), n)
    bounds.append((start, n))
    masses.append(float(rest_mass))
    used = [m if hi > lo else 0.0 for (lo, hi), m in zip(bounds, masses)]
    total = sum(used)
    for (lo, hi), mass in zip(bounds, used):
        if hi <= lo or mass <= 0:
            continue
        idx = order[lo:hi]
        w = base[idx]
        s = w.sum()
        out[idx] = mass / total * (w / s if s > 0 else np.full(len(idx), 1.0 / len(idx)))
    return out


def concept_probabilities(
    scores: np.ndarray,
    smr: float = 3.0,
    tiers: Sequence[Sequence[float]] = DEFAULT_TIERS,
    rest_mass: float = DEFAULT_REST_MASS,
    tie_break: np.ndarray | None = None,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """The paper's sampling distribution over concepts (rules 1-3 above).

    ``eligible`` (bool mask) restricts sampling, e.g. to concepts not yet queried: the temperature
    and the ranks are computed over the eligible concepts only; the others get probability 0.
    """
    scores = np.asarray(scores, dtype=np.float64)
    idx = np.arange(len(scores)) if eligible is None else np.flatnonzero(eligible)
    out = np.zeros(len(scores), dtype=np.float64)
    if len(idx) == 0:
        return out
    sub = scores[idx]
    tau = temperature(sub, smr)
    if not np.isfinite(tau):  # nothing learned yet: uniform, no tiers (ties carry no information)
        out[idx] = 1.0 / len(idx)
        return out
    base = softmax(sub, tau)
    order = rank_order(sub, None if tie_break is None else tie_break[idx])
    out[idx] = tier_masses(base, order, tiers, rest_mass)
    return out


def draw(p: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` indices without replacement (successive sampling, numpy's ``Generator.choice``)."""
    support = int(np.count_nonzero(p))
    m = min(int(m), support)
    if m <= 0:
        return np.zeros(0, dtype=np.int64)
    return rng.choice(len(p), size=m, replace=False, p=p / p.sum())


def inclusion_probabilities(p: np.ndarray, m: int) -> np.ndarray:
    """Per-concept inclusion probabilities of a size-``m`` sample proportional to ``p``: ``m * p`` with values over 1
    capped at 1 and their excess shared by the others pro rata (repeated until none exceeds 1)."""
    p = np.asarray(p, dtype=np.float64)
    free = p > 0
    m = min(int(m), int(free.sum()))
    capped = np.zeros(len(p), dtype=bool)
    while True:
        rest = m - int(capped.sum())
        share = p * free * ~capped
        total = share.sum()
        pi = np.where(capped, 1.0, rest * share / total if total > 0 else 0.0)
        over = pi > 1.0 + 1e-12
        if not over.any():
            return np.minimum(pi, 1.0)
        capped |= over


def draw_systematic(p: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` distinct indices, each included with probability :func:`inclusion_probabilities` (systematic sampling
    over the concepts in order of ``p``, highest first: how many come from each rank tier is within one of its
    share of ``m``, where independent draws would spread it binomially). Written here: numpy and scipy have no
    systematic PPS sampler."""
    pi = inclusion_probabilities(p, m)
    m = int(round(pi.sum()))
    if m <= 0:
        return np.zeros(0, dtype=np.int64)
    shuffled = rng.permutation(len(pi))  # equal p (a uniform draw) in random order, not vocabulary order
    order = shuffled[np.argsort(-np.asarray(p)[shuffled], kind="stable")]
    order = order[pi[order] > 0]  # zero-width intervals can never be hit, even by rounding at an edge
    edges = np.concatenate([[0.0], np.cumsum(pi[order])])
    points = rng.random() + np.arange(m)
    slots = np.clip(np.searchsorted(edges, points, side="right") - 1, 0, len(order) - 1)
    picked = order[slots]
    if len(set(picked.tolist())) < len(picked):  # only if rounding put a point past the last edge
        picked = np.array(list(dict.fromkeys(picked.tolist())), dtype=picked.dtype)
    return picked
