"""Targets from torchvision datasets by name (``--target flowers102``), materialised as image files.

Each split is written once to ``<cache_dir>/<name>/<split>/<label>/<index>.png`` with a ``manifest.json``;
later loads read the manifest only. The download is torchvision's own (online); offline, the dataset
files must already be under ``<cache_dir>/torchvision`` in torchvision's layout, else a clear
:class:`ie.api.IEError` says so. Datasets without a val split get a deterministic 10% of train.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any, ClassVar

from ie.api import IEError, LabeledImage, Option, TargetData, TargetDataset, cache_dir, hookimpl, write_atomic

# name -> (torchvision class, {our split: constructor kwargs}, extra kwargs)
DATASETS: dict[str, tuple[str, dict[str, dict[str, Any]], dict[str, Any]]] = {
    "cifar10": ("CIFAR10", {"train": {"train": True}, "test": {"train": False}}, {}),
    "cifar100": ("CIFAR100", {"train": {"train": True}, "test": {"train": False}}, {}),
    "fashion_mnist": ("FashionMNIST", {"train": {"train": True}, "test": {"train": False}}, {}),
    "stl10": ("STL10", {"train": {"split": "train"}, "test": {"split": "test"}}, {}),
    "flowers102": ("Flowers102", {s: {"split": s} for s in ("train", "val", "test")}, {}),
    "oxford_pets": ("OxfordIIITPet", {"train": {"split": "trainval"}, "test": {"split": "test"}},
                    {"target_types": "category"}),
    "food101": ("Food101", {"train": {"split": "train"}, "test": {"split": "test"}}, {}),
    "dtd": ("DTD", {s: {"split": s} for s in ("train", "val", "test")}, {}),
    "fgvc_aircraft": ("FGVCAircraft", {s: {"split": s} for s in ("train", "val", "test")}, {}),
    "stanford_cars": ("StanfordCars", {"train": {"split": "train"}, "test": {"split": "test"}}, {}),
}
VAL_FRACTION = 0.1


def _offline() -> bool:
    return any(os.environ.get(v, "") not in ("", "0") for v in ("IE_OFFLINE", "HF_HUB_OFFLINE"))


class TorchvisionTarget(TargetDataset):
    """One torchvision dataset; subclasses per name are registered below."""

    OPTIONS = (Option("download", bool, True, "let torchvision download the files when missing (never when "
                                              "IE_OFFLINE or HF_HUB_OFFLINE is set)"),)

    name: ClassVar[str] = ""

    def _open(self, root: Path, split_kwargs: dict[str, Any]) -> Any:
        import torchvision.datasets as tvd

        cls_name, _, extra = DATASETS[self.name]
        cls = getattr(tvd, cls_name)
        try:
            return cls(str(root), **split_kwargs, **extra, download=False)
        except (RuntimeError, FileNotFoundError) as missing:
            if _offline() or not self.options["download"]:
                raise IEError(
                    f"target {self.name}: dataset files not found under {root} and downloads are off "
                    f"(offline). Run once online, or place torchvision's {cls_name} files there ({missing})"
                ) from missing
        try:
            return cls(str(root), **split_kwargs, **extra, download=True)
        except Exception as err:  # noqa: BLE001 - URLError, HTTPError, checksum errors: all "no data here"
            raise IEError(
                f"target {self.name}: torchvision could not download {cls_name} into {root} ({type(err).__name__}: "
                f"{err}). Offline? Copy the dataset files there in torchvision's layout and retry."
            ) from err

    def load(self) -> TargetData:
        if self.name not in DATASETS:
            raise IEError(f"unknown torchvision target {self.name!r}; known: {', '.join(sorted(DATASETS))}")
        cache = Path(self.options.get("cache_dir") or cache_dir("targets"))
        out_dir = cache / self.name
        manifest = out_dir / "manifest.json"
        if not manifest.is_file():
            self._materialise(cache / "torchvision", out_dir)
        data = json.loads(manifest.read_text())
        splits = {s: [LabeledImage(out_dir / p, int(y)) for p, y in data["splits"].get(s, [])] for s in
                  ("train", "val", "test")}
        return TargetData(name=self.name, class_names=data["class_names"], **splits)

    def _materialise(self, root: Path, out_dir: Path) -> None:
        _, split_kwargs, _ = DATASETS[self.name]
        records: dict[str, list[tuple[str, int]]] = {}
        class_names: list[str] = []
        for split, kwargs in split_kwargs.items():
            dataset = self._open(root, kwargs)
            class_names = class_names or [str(c) for c in getattr(dataset, "classes", [])]
            records[split] = []
            for index in range(len(dataset)):
                image, label = dataset[index]
                rel = f"{split}/{int(label):04d}/{index:07d}.png"
                (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                image.convert("RGB").save(out_dir / rel)
                records[split].append((rel, int(label)))
        if "val" not in records:
            train = records["train"]
            val_idx = set(random.Random(0).sample(range(len(train)), int(len(train) * VAL_FRACTION)))
            records["val"] = [r for i, r in enumerate(train) if i in val_idx]
            records["train"] = [r for i, r in enumerate(train) if i not in val_idx]
        if not class_names:
            class_names = [str(i) for i in range(1 + max(y for recs in records.values() for _, y in recs))]
        write_atomic(out_dir / "manifest.json", json.dumps({"class_names": class_names, "splits": records}).encode())


def _target_class(name: str) -> type[TorchvisionTarget]:
    return type(f"Torchvision_{name}", (TorchvisionTarget,), {"name": name})


@hookimpl
def ie_register_targets(register: Any) -> None:
    for name, (cls_name, _, _) in DATASETS.items():
        register(name, _target_class(name), help=f"torchvision {cls_name}, materialised as image files",
                 options=TorchvisionTarget.OPTIONS)
