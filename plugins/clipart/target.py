"""The clipart target: a preset's classes of openclipart-png as a labelled dataset of JPEG files.

``--target clipart`` (preset ``animals``) or ``--target clipart:<preset>`` (``animals``, ``food``). Options:
``root`` (the png folder), ``cache_dir``, ``target_fraction`` (0.5 of each class is target, the rest stays in the
engine's corpus), ``workers`` (processes converting PNGs, default 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ie.api import LabeledImage, TargetData, TargetDataset
from ie_plugins.clipart.options import TARGET_OPTIONS
from ie_plugins.clipart.data import PRESETS, prepare, preset_name


class ClipartTarget(TargetDataset):
    """Bird/bug/fish/mammal (``animals``) or fruit/dessert/beverage/bread/meat (``food``) clip art."""

    name: ClassVar[str] = "clipart"
    OPTIONS = TARGET_OPTIONS

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        spec = str(self.options.get("name") or "")
        self.preset = preset_name(spec if self.accepts(spec) and ":" in spec else self.options["preset"])

    @classmethod
    def accepts(cls, spec: str) -> bool:
        return spec == cls.name or (spec.startswith(cls.name + ":") and spec.split(":", 1)[1] in PRESETS)

    @property
    def spec(self) -> str:
        return f"clipart:{self.preset}"

    def load(self) -> TargetData:
        folder, manifest = prepare(
            self.preset, root=self.options["root"], cache_dir=self.options.get("cache_dir"),
            target_fraction=float(self.options["target_fraction"]), workers=self.options["workers"],
        )
        splits = {split: [LabeledImage(folder / path, label) for path, label in items]
                  for split, items in manifest.splits.items()}
        return TargetData(name=f"clipart:{self.preset}", train=splits["train"], val=splits["val"],
                          test=splits["test"], class_names=list(manifest.classes))
