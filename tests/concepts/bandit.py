"""Synthetic bandit used by the tests: clustered embeddings, rewards high in one hidden cluster."""

from __future__ import annotations

import numpy as np

from ie.api import Concept
from ie.concepts import ConceptBrain


def clustered(n: int, clusters: int, dim: int = 384, spread: float = 1.0, seed: int = 0):
    """``n`` unit vectors around ``clusters`` random centres (cosine to the centre about 0.7)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    label = rng.integers(0, clusters, n)
    x = centres[label] + spread * rng.standard_normal((n, dim)).astype(np.float32) / np.sqrt(dim)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    concepts = [Concept(id=f"c{i}", name=f"concept {i}") for i in range(n)]
    return concepts, x, label


def run_bandit(n: int, clusters: int, iterations: int, m: int, seed: int = 0, noise: float = 0.1,
               options: dict | None = None, with_precision: bool = False):
    """Returns (found share by ours, found share by random, queries) for the hidden cluster 0, and with
    ``with_precision`` the share of ours' queries (after the first, uniform draw) that hit the cluster last."""
    concepts, x, label = clustered(n, clusters, seed=seed)
    relevant = label == 0
    rng = np.random.default_rng(seed + 1)
    brain = ConceptBrain(concepts, x, options=options, seed=seed)
    seen = set()
    hits_after_first = 0
    for _ in range(iterations):  # noqa: B007 - _ is the iteration
        picked = brain.sample(m)
        idx = np.array([int(c.id[1:]) for c in picked])
        seen.update(idx.tolist())
        hits_after_first += int(relevant[idx].sum()) if _ else 0
        brain.observe([c.id for c in picked], (relevant[idx] + noise * rng.standard_normal(len(idx))).tolist())
    queries = iterations * m
    found = relevant[list(seen)].sum() / relevant.sum()
    rand = rng.choice(n, queries, replace=False)
    if with_precision:
        return float(found), float(relevant[rand].sum() / relevant.sum()), queries, \
            hits_after_first / ((iterations - 1) * m)
    return float(found), float(relevant[rand].sum() / relevant.sum()), queries
