"""Simweb targets: a few concepts of the world as a labelled dataset, materialised as JPEG files.

``--target simweb`` (the definition in option ``target``, default ``blue-striped``) or ``--target simweb:<definition>``.
Splits use image indices the engine never serves (except its deliberate test-image leaks), so the files are
deterministic and disjoint from the web.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from ie.api import LabeledImage, TargetData, TargetDataset, cache_dir, write_atomic
from ie_plugins.simweb.options import TARGET_OPTIONS
from ie_plugins.simweb.render import appearance_from_slug, render_jpeg
from ie_plugins.simweb.world import TARGETS, TEST_BASE, TRAIN_BASE, VAL_BASE, World, get_world

SPLITS = {"train": TRAIN_BASE, "val": VAL_BASE, "test": TEST_BASE}  # image counts: options n_train, n_val, n_test


def default_cache_dir() -> Path:
    """The shared cache (:func:`ie.api.cache_dir`)."""
    return cache_dir()


class SimWebTarget(TargetDataset):
    """Options: ``seed``, ``image_size``, ``n_concepts``, ``target`` (see :mod:`world`), ``cache_dir``,
    ``n_train`` (40), ``n_val`` (10), ``n_test`` (20) images per class."""

    name: ClassVar[str] = "simweb"
    OPTIONS = TARGET_OPTIONS

    def __init__(self, options: Mapping[str, Any] | None = None):
        options = dict(options or {})
        spec = str(options.get("name") or "")
        if spec.startswith("simweb:"):
            options["target"] = spec.split(":", 1)[1]
        super().__init__(options)
        self.world: World = get_world(self.options)
        self.counts = {split: int(self.options[f"n_{split}"]) for split in SPLITS}

    @classmethod
    def accepts(cls, spec: str) -> bool:
        return spec == cls.name or (spec.startswith(cls.name + ":") and spec.split(":", 1)[1] in TARGETS)

    @property
    def spec(self) -> str:
        return f"simweb:{self.world.config.target}"

    @property
    def root(self) -> Path:
        """Where this target's files live: ``<cache_dir>/simweb/s<seed>-<size>/<definition>``."""
        config = self.world.config
        base = Path(self.options.get("cache_dir") or default_cache_dir())
        return base / "simweb" / f"s{config.seed}-{config.image_size}" / config.target

    def load(self) -> TargetData:
        classes = self.world.class_concepts()
        splits: dict[str, list[LabeledImage]] = {}
        for split, base in SPLITS.items():
            splits[split] = [
                LabeledImage(self.root / split / f"{label:02d}-{concept.id[4:]}" / f"{i:04d}.jpg", label)
                for label, concept in enumerate(classes)
                for i in range(self.counts[split])
            ]
        self._materialise(splits)
        return TargetData(
            name=f"simweb:{self.world.config.target}",
            train=splits["train"],
            val=splits["val"],
            test=splits["test"],
            class_names=[c.name for c in classes],
        )

    def _materialise(self, splits: dict[str, list[LabeledImage]]) -> None:
        """Write the missing files, each atomically (temp file + rename): safe to interrupt or run concurrently."""
        config = self.world.config
        for split, items in splits.items():
            base = SPLITS[split]
            for item in items:
                if item.path.exists():
                    continue
                appearance = appearance_from_slug(item.path.parent.name.split("-", 1)[1])
                assert appearance is not None
                index = base + int(item.path.stem)
                write_atomic(item.path, render_jpeg(appearance, index, config.seed, config.image_size))
