"""Target plugins (folder, torchvision) and the training mix / step sampler."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ie.api import IEError
from ie.learning.data import StepBatchSampler, training_mix
from ie_plugins.targets.folder import FolderTarget
from ie_plugins.targets.torchvision_datasets import DATASETS, TorchvisionTarget, _target_class
from tests.learning.conftest import COLORS, write_image


def test_folder_target_labeled_split_is_deterministic_and_disjoint(color_folder: Path) -> None:
    assert FolderTarget.accepts(str(color_folder)) and not FolderTarget.accepts(str(color_folder / "nope"))
    data = FolderTarget({"name": str(color_folder)}).load()
    assert data.labeled and data.class_names == sorted(COLORS)
    splits = [{i.path for i in s} for s in (data.train, data.val, data.test)]
    assert sum(map(len, splits)) == 48 and not (splits[0] & splits[2]) and not (splits[1] & splits[2])
    assert data.test and data.train
    again = FolderTarget({"name": str(color_folder)}).load()
    assert again == data
    for item in data.train:
        assert data.class_names[item.label] == item.path.parent.name


def test_folder_target_flat_is_unlabeled_and_explicit_splits_are_kept(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(5):
        write_image(tmp_path / "flat" / f"{i}.png", (1, 2, 3), rng)
    flat = FolderTarget({"name": str(tmp_path / "flat")}).load()
    assert not flat.labeled and flat.class_names == []
    for split, n in (("train", 4), ("test", 2)):
        for name in ("a", "b"):
            for i in range(n):
                write_image(tmp_path / "split" / split / name / f"{i}.png", (9, 9, 9), rng)
    data = FolderTarget({"name": str(tmp_path / "split")}).load()
    assert (len(data.train), len(data.val), len(data.test)) == (8, 0, 4)
    assert all("test" in str(i.path) for i in data.test)
    with pytest.raises(IEError):
        FolderTarget({"name": str(tmp_path / "missing")}).load()


class FakeCIFAR10:
    """Stands in for torchvision.datasets.CIFAR10 (no download, no files)."""

    classes = ["airplane", "automobile"]

    def __init__(self, root: str, train: bool, download: bool):
        self.n = 20 if train else 6

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[Image.Image, int]:
        return Image.new("RGB", (8, 8), (i * 10, 0, 0)), i % 2


def test_torchvision_target_materialises_files_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    data = _target_class("cifar10")({"name": "cifar10", "cache_dir": str(tmp_path)}).load()
    assert data.class_names == ["airplane", "automobile"]
    assert (len(data.train), len(data.val), len(data.test)) == (18, 2, 6)
    assert all(i.path.is_file() for i in data.train + data.val + data.test)
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", None)  # second load reads the manifest only
    assert _target_class("cifar10")({"name": "cifar10", "cache_dir": str(tmp_path)}).load() == data


def test_torchvision_target_offline_error_is_clear(tmp_path: Path) -> None:
    assert "flowers102" in DATASETS and issubclass(_target_class("flowers102"), TorchvisionTarget)
    with pytest.raises(IEError, match="offline"):
        _target_class("flowers102")({"name": "flowers102", "cache_dir": str(tmp_path)}).load()


def test_training_mix_uses_pcr_and_is_reproducible() -> None:
    candidates = [Path(f"new/{i}") for i in range(10)]
    past = [Path(f"old/{i}") for i in range(100)]
    mix = training_mix(candidates, past, 2.0, random.Random(0))
    assert len(mix) == 30 and set(candidates) <= set(mix)
    assert sum(p.parent.name == "old" for p in mix) == 20 and len(set(mix)) == 30
    assert mix == training_mix(candidates, past, 2.0, random.Random(0))
    small = training_mix(candidates, past[:5], 2.0, random.Random(0))  # past smaller than wanted: reuse
    assert len(small) == 30
    assert sorted(training_mix([], past, 2.0, random.Random(0))) == sorted(past)


def test_step_sampler_is_a_pure_function_of_seed_and_step() -> None:
    full = list(StepBatchSampler(10, 4, seed=3, start_step=0, end_step=6))
    tail = list(StepBatchSampler(10, 4, seed=3, start_step=4, end_step=6))
    assert full[4:] == tail
    first_epoch = [i for batch in full for i, _ in batch][:10]
    assert sorted(first_epoch) == list(range(10))  # each epoch is a permutation
    seeds = [s for batch in full for _, s in batch]
    assert len(set(seeds)) == len(seeds)
    assert list(StepBatchSampler(10, 4, seed=4, start_step=0, end_step=6)) != full
