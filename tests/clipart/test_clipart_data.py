"""Presets, deterministic splits and data lookup of the clipart plugin (fast: no image is converted here)."""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from pathlib import Path

import pytest

from ie.api import IEError
from ie_plugins.clipart import data
from ie_plugins.clipart.engine import ClipartEngine
from ie_plugins.clipart.target import ClipartTarget
from ie_plugins.vocabularies.wordnet import load_concepts

def test_class_names_are_wordnet_nouns() -> None:
    lemmas = {concept.name for concept in load_concepts()}
    for preset, classes in data.PRESETS.items():
        assert set(classes) <= lemmas, (preset, set(classes) - lemmas)


def test_package_listing(clipart_files: dict[str, str]) -> None:
    assert len(clipart_files) == 8121 and len(set(clipart_files.values())) == 6900  # 1221 symlinks
    assert clipart_files["animals/seal.png"] == "animals/mammals/seal.png"


@pytest.mark.parametrize("preset", list(data.PRESETS))
def test_splits_counts_disjoint_and_no_target_in_corpus(preset: str, clipart_files: dict[str, str]) -> None:
    manifest = data.plan(clipart_files, preset)  # files as listed: symlinks resolved, no picture deduplicated
    counts = {split: Counter(manifest.classes[label] for _, label in items) for split, items in manifest.splits.items()}
    assert all(counts[split][name] > 0 for split in counts for name in data.PRESETS[preset])
    assert 0.55 < counts["train"].total() / sum(c.total() for c in counts.values()) < 0.65
    corpus_and_relevant = {"animals": (7968, 192), "food": (7951, 254)}[preset]
    assert (len(manifest.corpus), sum(manifest.corpus.values())) == corpus_and_relevant

    target = {path: manifest.sources[path] for items in manifest.splits.values() for path, _ in items}
    per_split = [{manifest.sources[p] for p, _ in items} for items in manifest.splits.values()]
    assert sum(map(len, per_split)) == len(set().union(*per_split)) == len(target)  # disjoint, no duplicate
    corpus_files = {clipart_files[manifest.sources[p]] for p in manifest.corpus}  # symlinks resolved
    assert not corpus_files & set(target.values())
    assert len(manifest.corpus) + sum(p in target.values() for p in clipart_files.values()) == 8121
    top = data.top_folder(preset) + "/"  # relevant: a file with a path under animals/ (food/), symlinks included
    relevant = {real for rel, real in clipart_files.items() if rel.startswith(top)}
    assert all(manifest.corpus[p] == (clipart_files[manifest.sources[p]] in relevant) for p in manifest.corpus)
    assert set(target.values()) <= relevant


def test_target_is_the_first_half_of_each_class_in_sha256_order(clipart_files: dict[str, str]) -> None:
    manifest = data.plan(clipart_files, "animals")
    target = {manifest.sources[p] for items in manifest.splits.values() for p, _ in items}
    digest = {r: hashlib.sha256(r.encode()).hexdigest() for r in set(clipart_files.values())}
    birds = {real for rel, real in clipart_files.items() if rel.startswith("animals/birds/")}
    kept = birds - target
    assert len(birds) == 51 and len(birds & target) == 26
    assert max(digest[r] for r in birds & target) < min(digest[r] for r in kept)


def test_splits_are_deterministic(clipart_files: dict[str, str]) -> None:
    first = data.plan(clipart_files, "food")
    shuffled = dict(sorted(clipart_files.items(), key=lambda kv: hashlib.md5(kv[0].encode()).digest()))
    assert data.plan(shuffled, "food") == first
    smaller = data.plan(clipart_files, "food", target_fraction=0.25)
    assert sum(map(len, smaller.splits.values())) == 67 < sum(map(len, first.splits.values())) == 134
    assert len(smaller.corpus) > len(first.corpus)


def test_captions() -> None:
    assert data.caption("animals/mammals/dogs/black_lab-ganson.png") == \
        "animals mammals dogs black lab ganson animal mammal dog"
    assert data.caption("food/breads_and_carbs/bagel.png") == "food breads and carbs bagel bread carb"


def test_specs_and_presets() -> None:
    assert ClipartTarget.accepts("clipart") and ClipartTarget.accepts("clipart:food")
    assert not ClipartTarget.accepts("clipart:nope") and not ClipartTarget.accepts("/data/clipart")
    assert ClipartTarget({"name": "clipart"}).preset == "animals"
    assert ClipartTarget({"name": "clipart:food"}).preset == "food"
    with pytest.raises(IEError, match="unknown preset 'cars'"):
        data.preset_name("clipart:cars")


def test_missing_data_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IE_OPENCLIPART_DIR", raising=False)
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    monkeypatch.setattr(data, "SYSTEM_ROOT", str(tmp_path / "usr/share/openclipart/png"))
    with pytest.raises(IEError) as info:
        data.find_root(tmp_path / "nope")
    message = str(info.value)
    assert "\n" not in message and "openclipart-png not found" in message
    for fix in ("make setup", "apt-get install openclipart-png", "IE_OPENCLIPART_DIR", str(tmp_path / "nope")):
        assert fix in message
    with pytest.raises(IEError, match="make setup"):
        ClipartTarget({"name": "clipart:food", "cache_dir": tmp_path / "cache"}).load()
    with pytest.raises(IEError, match="make setup"):
        ClipartEngine({"cache_dir": tmp_path / "cache"}).search("dog", 5)
    assert not (tmp_path / "cache" / "clipart" / "food").exists()
