"""Fixtures of the learning tests: generated images only, random-init models, no network."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before huggingface_hub is imported: hub lookups fail at once
os.environ.setdefault("IE_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

COLORS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


def write_image(path: Path, rgb: tuple[int, int, int], rng: np.random.Generator, size: int = 40) -> Path:
    noise = rng.integers(-20, 21, (size, size, 3))
    pixels = np.clip(np.array(rgb)[None, None, :] + noise, 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def color_folder(tmp_path: Path) -> Path:
    """ImageFolder layout, 3 trivially separable classes x 16 images."""
    rng = np.random.default_rng(0)
    root = tmp_path / "colors"
    for name, rgb in COLORS.items():
        for i in range(16):
            write_image(root / name / f"{name}-{i}.png", rgb, rng)
    return root


@pytest.fixture
def noise_images(tmp_path: Path) -> list[Path]:
    """16 random-noise images (a fixed unlabeled training set)."""
    rng = np.random.default_rng(1)
    paths = []
    for i in range(16):
        path = tmp_path / "noise" / f"{i:02d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


SMALL_MOCO = {"proj_hidden_dim": 64, "out_dim": 32, "pred_hidden_dim": 64, "warmup_fraction": 0.0}
SMALL_SIMSIAM = {"proj_hidden_dim": 64, "out_dim": 32, "pred_hidden_dim": 16}
