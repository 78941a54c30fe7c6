"""Target ``folder``: an image folder, labeled or not.

Layouts (``--target /path/to/folder``):
- ``root/train|val|test/...``: explicit splits, each one of the layouts below;
- ``root/<class>/<image>``: labeled (ImageFolder), class names = sorted folder names;
- ``root/<image>``: unlabeled.
Without explicit splits, images are split train/val/test (70/10/20 by default, options ``val_fraction``,
``test_fraction``) by a hash of each file's relative path: deterministic, and stable when files are added.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ie.api import IEError, LabeledImage, Option, TargetData, TargetDataset, hookimpl

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
SPLITS = ("train", "val", "test")


def _images(folder: Path, recursive: bool) -> list[Path]:
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _read_layout(folder: Path, class_names: list[str] | None = None) -> tuple[list[LabeledImage], list[str]]:
    """Images of one folder: labeled when it has class sub-folders with images, else unlabeled."""
    class_dirs = sorted(d for d in folder.iterdir() if d.is_dir() and _images(d, recursive=True))
    if not class_dirs:
        return [LabeledImage(p) for p in _images(folder, recursive=False)], []
    names = class_names if class_names is not None else [d.name for d in class_dirs]
    index = {name: i for i, name in enumerate(names)}
    items = []
    for class_dir in class_dirs:
        if class_dir.name not in index:
            raise IEError(f"{class_dir}: class {class_dir.name!r} is not among the train split's classes")
        items += [LabeledImage(p, index[class_dir.name]) for p in _images(class_dir, recursive=True)]
    return items, names


def _bucket(root: Path, path: Path) -> float:
    digest = hashlib.sha256(str(path.relative_to(root)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class FolderTarget(TargetDataset):
    name = "folder"
    OPTIONS = (
        Option("path", str, None, "the image folder (default: the target spec itself)"),
        Option("val_fraction", float, 0.1, "share of each class held out for validation (when no val/ folder)"),
        Option("test_fraction", float, 0.2, "share of each class held out for test (when no test/ folder)"),
    )

    @classmethod
    def accepts(cls, spec: str) -> bool:
        return Path(spec).expanduser().is_dir()

    def load(self) -> TargetData:
        spec = self.options["path"] or self.options.get("name")
        if not spec or not Path(str(spec)).expanduser().is_dir():
            raise IEError(f"folder target: {spec!r} is not a directory")
        root = Path(str(spec)).expanduser().resolve()
        if (root / "train").is_dir():
            train, names = _read_layout(root / "train")
            val = _read_layout(root / "val", names or None)[0] if (root / "val").is_dir() else []
            test = _read_layout(root / "test", names or None)[0] if (root / "test").is_dir() else []
        else:
            items, names = _read_layout(root)
            val_frac = float(self.options["val_fraction"])
            test_frac = float(self.options["test_fraction"])
            train, val, test = [], [], []
            for item in items:
                b = _bucket(root, item.path)
                (test if b < test_frac else val if b < test_frac + val_frac else train).append(item)
        if not train:
            raise IEError(f"folder target {root}: no training images found ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return TargetData(name=root.name, train=train, val=val, test=test, class_names=names)


@hookimpl
def ie_register_targets(register: Any) -> None:
    register("folder", FolderTarget, help="an image folder: class sub-folders = labels, flat = unlabeled")
