"""Image-file datasets and the training mix (new candidates + replay buffer + target at the paper's PCR = 2).

Training data is a pure function of (seed, step): :class:`StepBatchSampler` lays the images out as one
endless stream of seeded per-epoch permutations and hands out the slice of step ``s``, and each sample
carries its own augmentation seed. So a run resumed at step ``s`` sees exactly the batches it would have
seen, with any number of DataLoader workers.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})


def list_images(folder: Path, recursive: bool = True) -> list[Path]:
    """Image files under ``folder``, sorted (so lists are reproducible)."""
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in Path(folder).glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def training_mix(candidates: Sequence[Path], past: Sequence[Path], pcr: float, rng: random.Random) -> list[Path]:
    """One iteration's training set: all new ``candidates`` plus ``pcr`` x as many images sampled from ``past``
    (replay buffer + target images), without replacement while ``past`` lasts, then with. Shuffled by ``rng``.

    With no candidates (iteration 0) the whole of ``past`` is used.
    """
    if pcr < 0:
        raise ValueError(f"pcr must be >= 0, not {pcr}")
    mix = list(candidates)
    if not mix:
        mix = list(past)
    elif past:
        want = int(round(pcr * len(mix)))
        pool = list(past)
        while want > 0:
            take = min(want, len(pool))
            mix.extend(rng.sample(pool, take))
            want -= take
    rng.shuffle(mix)
    return mix


def load_rgb(path: Path) -> Any:
    """Open an image file as RGB PIL image (fully decoded, file closed)."""
    from PIL import Image

    with Image.open(path) as image:
        image.draft("RGB", (image.width, image.height))  # cheap for JPEG; no-op otherwise
        return image.convert("RGB")


class ImageFileDataset:
    """``paths[i]`` -> ``transform(image)`` (index ``i`` also returned, so callers can match results)."""

    def __init__(self, paths: Sequence[Path], transform: Callable[[Any], Any]):
        self.paths, self.transform = list(paths), transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        return self.transform(load_rgb(self.paths[index])), index


class SeededTwoViewDataset:
    """``(index, sample_seed)`` -> two augmented views, the augmentation seeded by ``sample_seed`` alone.

    The global RNGs (python, numpy, torch) are seeded for the transform and restored after, so the
    trainer's own RNG stream is untouched when loading runs in the main process.
    """

    def __init__(self, paths: Sequence[Path], two_view_transform: Callable[[Any], tuple[Any, Any]]):
        self.paths, self.transform = list(paths), two_view_transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: tuple[int, int]) -> tuple[Any, Any]:
        import numpy as np
        import torch

        index, seed = key
        image = load_rgb(self.paths[index])
        py_state, np_state, torch_state = random.getstate(), np.random.get_state(), torch.get_rng_state()
        try:
            random.seed(seed)
            np.random.seed(seed % 2**32)
            torch.manual_seed(seed)
            return self.transform(image)
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
            torch.set_rng_state(torch_state)


class StepBatchSampler:
    """Batches for steps ``start_step .. end_step - 1`` of an endless stream over ``num_items`` images.

    Stream position ``p`` is item ``perm_e[p % n]`` of epoch ``e = p // n``, where ``perm_e`` is a permutation
    seeded by (``seed``, ``e``); its augmentation seed is derived from (``seed``, ``p``).

    Data-parallel: with ``world_size`` > 1, rank ``r`` gets the ``r``-th contiguous slice of each step's global
    batch of ``batch_size``, so all ranks together see exactly the batch a single process would.
    """

    def __init__(self, num_items: int, batch_size: int, seed: int, start_step: int, end_step: int,
                 rank: int = 0, world_size: int = 1):
        if num_items <= 0:
            raise ValueError("no training images")
        if batch_size % world_size or not 0 <= rank < world_size:
            raise ValueError(f"batch_size {batch_size} must split evenly over {world_size} ranks (rank {rank})")
        self.n, self.batch_size, self.seed = num_items, batch_size, seed
        self.start_step, self.end_step = start_step, end_step
        self.rank, self.world_size = rank, world_size
        self._perms: dict[int, list[int]] = {}

    def __len__(self) -> int:
        return max(0, self.end_step - self.start_step)

    def _perm(self, epoch: int) -> list[int]:
        if epoch not in self._perms:
            self._perms = {epoch: random.Random(f"{self.seed}/epoch/{epoch}").sample(range(self.n), self.n)}
        return self._perms[epoch]

    def batch(self, step: int) -> list[tuple[int, int]]:
        first = step * self.batch_size
        out = []
        for pos in range(first, first + self.batch_size):
            out.append((self._perm(pos // self.n)[pos % self.n], (self.seed * 1_000_003 + pos) % 2**63))
        return out

    def shard(self, step: int) -> list[tuple[int, int]]:
        """This rank's part of :meth:`batch` (the whole batch in a single process)."""
        batch = self.batch(step)
        if self.world_size == 1:
            return batch
        per_rank = self.batch_size // self.world_size
        return batch[self.rank * per_rank:(self.rank + 1) * per_rank]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start_step, self.end_step):
            yield self.shard(step)
