"""Ready-made configs for tests and examples."""

from __future__ import annotations

from typing import Any

from ie.config import ExploreConfig


def tiny_simweb_config(**overrides: Any) -> ExploreConfig:
    """A tiny but complete run on the simulated web: every stage runs, in well under a minute on 2 CPU cores."""
    base: dict[str, Any] = dict(target="simweb", engines=["simweb"], vocab="simweb", embedder="hashing",
                                ssl="mocov3", reward="knn", iterations=2, queries_per_iter=8, images_per_query=12,
                                arch="resnet18", image_size=32, batch_size=16, max_steps_per_iter=3, resize=48,
                                feature_size=0, seed=0, device="cpu", linear_probe=False)
    base.update(overrides)
    return ExploreConfig(**base)


def policy_comparison_config(policy: str, iterations: int = 6, queries: int = 24, seed: int = 0,
                             **overrides: Any) -> ExploreConfig:
    """The simweb setting in which exploration policies are compared (benchmark and end-to-end test);
    ``overrides`` change training fields for bigger budgets (e.g. ``device="cuda", max_steps_per_iter=500``)."""
    base: dict[str, Any] = dict(target="simweb", engines=["simweb"], vocab="simweb", embedder="hashing",
                                policy=policy, iterations=iterations, queries_per_iter=queries, images_per_query=16,
                                image_size=64, batch_size=32, max_steps_per_iter=5, seed=seed,
                                device="cpu")
    base.update(overrides)
    return ExploreConfig(**base)


def clipart_comparison_config(policy: str, iterations: int = 6, queries: int = 24, seed: int = 0,
                              **overrides: Any) -> ExploreConfig:
    """The realistic offline setting: the `clipart` animals target, its clip-art corpus as the web (BM25 over
    captions), the paper's vocabulary (WordNet, 146,347 concepts) and text embedder (MiniLM)."""
    base: dict[str, Any] = dict(target="clipart:animals", engines=["clipart"], vocab="wordnet", embedder="minilm",
                                policy=policy, iterations=iterations, queries_per_iter=queries, images_per_query=16,
                                image_size=64, batch_size=32, max_steps_per_iter=20, seed=seed,
                                device="cpu")
    base.update(overrides)
    return ExploreConfig(**base)
