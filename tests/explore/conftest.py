from __future__ import annotations

from pathlib import Path

import pytest

from ie.config import ExploreConfig


def small_config(**overrides) -> ExploreConfig:
    """A tiny but complete run on the simulated web: every stage runs, in seconds on 2 CPU cores."""
    base = dict(target="simweb", engines=["simweb"], vocab="simweb", embedder="hashing", ssl="mocov3",
                reward="knn", iterations=2, queries_per_iter=8, images_per_query=12, arch="resnet18",
                image_size=32, batch_size=16, max_steps_per_iter=3, resize=48, seed=0, device="cpu")
    base.update(overrides)
    return ExploreConfig(**base)


@pytest.fixture
def make_config():
    return small_config


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "run"
