"""The concept brain: which concepts to query next (the paper's steps 1 and 6).

* :class:`ConceptBrain`: GP reward estimate over concept text embeddings + the paper's tiered softmax sampler.
* :func:`embed_vocabulary`: vocabulary embeddings, cached on disk per (vocabulary, embedder).
* :mod:`ie.concepts.sampler`: the sampling rules as pure functions; :mod:`ie.concepts.estimator`: the GP.
"""

from ie.concepts.brain import DEFAULTS, ConceptBrain, fingerprint, prune_by_labels
from ie.concepts.embeddings import cache_path, cache_progress, default_cache_dir, embed_vocabulary
from ie.concepts.estimator import GPRewardEstimator, Hyper

__all__ = [
    "DEFAULTS", "ConceptBrain", "GPRewardEstimator", "Hyper", "cache_path", "cache_progress", "default_cache_dir",
    "embed_vocabulary", "fingerprint", "prune_by_labels",
]
