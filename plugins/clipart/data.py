"""The openclipart-png data: where it is, the presets, deterministic splits, and JPEGs materialised once.

Every distinct PNG (symlinks in the package point at one file) is converted once into a shared store,
``<cache_dir>/clipart/_images/<path>.jpg`` (RGB on white, at most 256 px, JPEG quality 90; each written to a temp
file + renamed, so an interrupted conversion resumes where it stopped). PNGs whose JPEGs come out byte-identical
count as one picture. A preset then hard-links its view: ``<cache_dir>/clipart/<preset>/target/<split>/<class>/
<stem>.jpg`` and ``.../corpus/<path>.jpg`` with a ``.txt`` caption, plus ``manifest.json``, built in a temp folder
and renamed into place.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from ie.api import IEError, cache_dir
from ie_plugins.clipart.convert import convert_all

PRESETS: dict[str, dict[str, tuple[str, ...]]] = {  # class (a WordNet noun) -> folder globs under the png root
    "animals": {"bird": ("animals/birds/**",), "bug": ("animals/bugs/**",), "fish": ("animals/fish/**",),
                "mammal": ("animals/mammals/**",)},
    "food": {"fruit": ("food/fruit/**",), "dessert": ("food/desserts/**",), "beverage": ("food/beverages/**",),
             "bread": ("food/breads_and_carbs/**",), "meat": ("food/meats_and_eggs/**",)},
}
DEFAULT_PRESET = "animals"
SPLITS = (("train", 0.6), ("val", 0.1), ("test", 0.3))
FIX_HINT = ("`make setup` fetches it, or `apt-get install openclipart-png`, or set IE_OPENCLIPART_DIR "
            "to its png folder")
VERSION = 2
SYSTEM_ROOT = "/usr/share/openclipart/png"  # where `apt-get install openclipart-png` puts it


def preset_of(target_spec: str | None) -> str | None:
    """The preset a run's ``--target`` names (``clipart:food`` -> ``food``; host option ``target_spec``), else
    ``None`` (another plugin's target): how the engine follows the target in any process of a cluster."""
    if target_spec == "clipart" or (target_spec or "").startswith("clipart:"):
        name = str(target_spec).removeprefix("clipart").removeprefix(":") or DEFAULT_PRESET
        return name if name in PRESETS else None
    return None


def preset_name(spec: str | None) -> str:
    """``None``/``clipart`` -> the default preset; ``clipart:<preset>`` or ``<preset>`` -> that preset."""
    name = (spec or DEFAULT_PRESET).removeprefix("clipart").removeprefix(":") or DEFAULT_PRESET
    if name not in PRESETS:
        raise IEError(f"clipart: unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return name


def top_folder(preset: str) -> str:
    """The folder whose images are relevant to ``preset`` (``animals`` or ``food``)."""
    return next(iter(PRESETS[preset].values()))[0].split("/", 1)[0]


def find_root(option: str | os.PathLike[str] | None = None) -> Path:
    """The png folder: option ``root``, $IE_OPENCLIPART_DIR, ``<sys.prefix>/share/openclipart/png``, /usr/share/..."""
    candidates = [option, os.environ.get("IE_OPENCLIPART_DIR"), Path(sys.prefix) / "share/openclipart/png",
                  SYSTEM_ROOT]
    for candidate in candidates:
        if candidate and Path(candidate).expanduser().is_dir():
            return Path(candidate).expanduser().resolve()
    raise IEError(f"clipart: openclipart-png not found (looked in {', '.join(str(c) for c in candidates if c)}); "
                  f"{FIX_HINT}")


def cache_base(option: str | os.PathLike[str] | None = None) -> Path:
    """Option ``cache_dir``, else the shared cache (:func:`ie.api.cache_dir`)."""
    return Path(option).expanduser() if option else cache_dir()


def list_pngs(root: Path) -> dict[str, str]:
    """Every PNG of the package: relative path -> relative path of the file it is (itself unless a symlink)."""
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if path.suffix.lower() == ".png" and path.is_file():
                real = path.resolve()
                files[path.relative_to(root).as_posix()] = (real.relative_to(root) if real.is_relative_to(root)
                                                            else path.relative_to(root)).as_posix()
    return dict(sorted(files.items()))


def caption(rel: str) -> str:
    """Folder names + file stem, ``_``/``-`` as spaces, then the singular of plural folder words (so the query
    ``dog`` finds the ``dogs`` folder): ``animals mammals dogs bored dog 01 animal mammal dog``."""
    path = Path(rel)
    text = " ".join([*path.parent.parts, path.stem]).replace("_", " ").replace("-", " ")
    words = text.split()
    folder_words = " ".join(path.parent.parts).replace("_", " ").replace("-", " ").split()
    extra = dict.fromkeys(w for w in map(_singular, folder_words) if w not in words)
    return " ".join([text, *extra])


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _digest(rel: str) -> str:
    return hashlib.sha256(rel.encode()).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """A materialised preset; paths are relative to ``<cache_dir>/clipart/<preset>``."""

    preset: str
    classes: list[str]
    splits: dict[str, list[tuple[str, int]]]  # split -> [(jpg path, label)]
    corpus: dict[str, bool]  # jpg path -> relevant to the preset
    sources: dict[str, str]  # jpg path -> the package's relative PNG path it shows
    skipped: dict[str, str]  # PNG path -> why it could not be converted
    fingerprint: str
    target_fraction: float
    version: int = VERSION


def plan(files: Mapping[str, str], preset: str, target_fraction: float = 0.5,
         skipped: Iterable[str] = ()) -> Manifest:
    """Per class, the first ``target_fraction`` of its files in sha256 order are the target (split 60/10/30 in
    the same order, at least one per split); the corpus is every other PNG path of the package."""
    bad, classes = set(skipped), list(PRESETS[preset])
    members: dict[str, int] = {}  # file (symlinks resolved) -> label; a file in two classes keeps the first
    for label, globs in enumerate(PRESETS[preset].values()):
        for rel, real in files.items():
            if real not in bad and any(fnmatch.fnmatchcase(rel, g) for g in globs):
                members.setdefault(real, label)
    splits: dict[str, list[tuple[str, int]]] = {split: [] for split, _ in SPLITS}
    target: set[str] = set()
    sources: dict[str, str] = {}
    for label, name in enumerate(classes):
        ranked = sorted((r for r, lab in members.items() if lab == label), key=_digest)
        chosen = ranked[: max(1, round(len(ranked) * target_fraction))]
        n = len(chosen)
        n_test = min(n, max(1, round(dict(SPLITS)["test"] * n)))
        n_val = min(n - n_test, max(1, round(dict(SPLITS)["val"] * n)))
        bounds = {"train": (0, n - n_val - n_test), "val": (n - n_val - n_test, n - n_test), "test": (n - n_test, n)}
        for split, (lo, hi) in bounds.items():
            for real in chosen[lo:hi]:
                path = f"target/{split}/{name}/{Path(real).stem}.jpg"
                if path in sources:  # two files of one class share a stem
                    path = f"target/{split}/{name}/{Path(real).stem}-{_digest(real)[:8]}.jpg"
                sources[path] = real
                splits[split].append((path, label))
        target.update(chosen)
    top = top_folder(preset) + "/"
    relevant = {real for rel, real in files.items() if rel.startswith(top)}
    corpus = {}
    for rel, real in files.items():
        if real not in target and real not in bad:
            path = "corpus/" + Path(rel).with_suffix(".jpg").as_posix()
            corpus[path], sources[path] = real in relevant, rel
    return Manifest(preset, classes, splits, corpus, sources, {r: "" for r in sorted(bad)}, fingerprint(files),
                    target_fraction)


def fingerprint(files: Mapping[str, str]) -> str:
    """A short digest of the package listing (the shared store is rebuilt when it changes)."""
    return hashlib.sha256("\n".join(f"{k}\t{v}" for k, v in sorted(files.items())).encode()).hexdigest()[:16]


def prepare(preset: str = DEFAULT_PRESET, root: str | os.PathLike[str] | None = None,
            cache_dir: str | os.PathLike[str] | None = None, target_fraction: float = 0.5,
            workers: int | None = None) -> tuple[Path, Manifest]:
    """The folder and manifest of ``preset``, materialised first if needed (fast when already done)."""
    preset = preset_name(preset)
    base = cache_base(cache_dir) / "clipart"
    folder = base / (preset if target_fraction == 0.5 else f"{preset}@{target_fraction:g}")
    manifest_file = folder / "manifest.json"
    if manifest_file.is_file():
        data = json.loads(manifest_file.read_text())
        if data.get("version") == VERSION and data.get("target_fraction") == target_fraction:
            data["splits"] = {s: [tuple(x) for x in items] for s, items in data["splits"].items()}
            return folder, Manifest(**data)
    png_root = find_root(root)
    files = list_pngs(png_root)
    skipped, same = convert_all(png_root, sorted(set(files.values())), base / "_images", fingerprint(files), VERSION,
                                workers)
    files = {rel: same.get(real, real) for rel, real in files.items()}  # identical pictures count as one
    manifest = plan(files, preset, target_fraction, skipped)
    manifest = Manifest(**{**asdict(manifest), "skipped": skipped})
    build = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=base))  # links are cheap: build whole, then swap
    try:
        for path, source in manifest.sources.items():
            _link(base / "_images" / Path(files[source]).with_suffix(".jpg"), build / path)
            if path.startswith("corpus/"):
                (build / path).with_suffix(".txt").write_text(caption(source), encoding="utf-8")
        (build / "manifest.json").write_text(json.dumps(asdict(manifest)), encoding="utf-8")
        trash = base / f".{folder.name}.old-{os.getpid()}"
        if folder.exists():
            folder.rename(trash)
        build.rename(folder)
        shutil.rmtree(trash, ignore_errors=True)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return folder, manifest


def _link(src: Path, dst: Path) -> None:
    """A hard link to ``src`` at ``dst`` (a copy where links are not possible)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
