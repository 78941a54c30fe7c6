"""The clipart target and engine over the materialised JPEGs: real files, real searches, known ground truth."""

from __future__ import annotations

import hashlib
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from ie.host.manager import PluginManager
from ie_plugins.clipart import plugin
from ie_plugins.clipart.engine import ClipartEngine
from ie_plugins.clipart.target import ClipartTarget

pytestmark = pytest.mark.slow
# openclipart-png 0.18 (Debian): per class and split, target images (half of each class folder's pictures)
EXPECTED = {
    "animals": {"train": {"bird": 15, "bug": 15, "fish": 7, "mammal": 33},
                "val": {"bird": 2, "bug": 2, "fish": 1, "mammal": 5},
                "test": {"bird": 7, "bug": 7, "fish": 3, "mammal": 16}},
    "food": {"train": {"fruit": 27, "dessert": 19, "beverage": 15, "bread": 9, "meat": 9},
             "val": {"fruit": 4, "dessert": 3, "beverage": 3, "bread": 1, "meat": 2},
             "test": {"fruit": 14, "dessert": 10, "beverage": 8, "bread": 4, "meat": 5}},
}
CORPUS = {"animals": (7967, 194), "food": (7949, 255)}  # (corpus images, relevant ones)
SKIPPED = {"signs_and_symbols/stop_sign_miguel_s_nchez_.png", "transportation/roadsigns/stop_sign_right_font_mig_.png"}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("preset", list(EXPECTED))
def test_split_counts(preset: str, clipart_cache: Path) -> None:
    data = ClipartTarget({"name": f"clipart:{preset}", "cache_dir": clipart_cache}).load()
    counts = {split: dict(Counter(data.class_names[i.label] for i in getattr(data, split)))  # type: ignore[index]
              for split in ("train", "val", "test")}
    assert counts == EXPECTED[preset]
    corpus = ClipartEngine({"target": preset, "cache_dir": clipart_cache}).manifest.corpus
    assert (len(corpus), sum(corpus.values())) == CORPUS[preset]


def test_target_loads_labelled_rgb_jpegs(clipart_cache: Path) -> None:
    data = ClipartTarget({"name": "clipart:animals", "cache_dir": clipart_cache}).load()
    assert data.name == "clipart:animals" and data.labeled
    assert data.class_names == ["bird", "bug", "fish", "mammal"]
    assert (len(data.train), len(data.val), len(data.test)) == (70, 10, 33)
    for item in data.train + data.val + data.test:
        assert item.path.is_relative_to(clipart_cache / "clipart" / "animals" / "target")
        assert item.path.parent.name == data.class_names[item.label]
        with Image.open(item.path) as image:
            assert image.format == "JPEG" and image.mode == "RGB" and max(image.size) <= 256
    digests = [{_sha(i.path) for i in split} for split in (data.train, data.val, data.test)]
    assert sum(map(len, digests)) == len(set().union(*digests)) == 113  # disjoint, no picture twice

    before = data.test[0].path.stat().st_mtime_ns
    again = ClipartTarget({"name": "clipart:animals", "cache_dir": clipart_cache}).load()
    assert again == data and data.test[0].path.stat().st_mtime_ns == before  # cached, nothing rewritten


def test_corpus_files_captions_and_no_target_leak(clipart_cache: Path) -> None:
    engine = ClipartEngine({"target": "food", "cache_dir": clipart_cache})
    manifest, corpus = engine.manifest, engine.corpus_dir
    assert set(manifest.skipped) == SKIPPED and "too large" in manifest.skipped[min(SKIPPED)]
    jpegs = sorted(corpus.rglob("*.jpg"))
    assert len(jpegs) == len(manifest.corpus) == 7949
    assert (corpus / "food/fruit").is_dir() and len(engine.relevant_files()) == 255
    caption = (corpus / "animals/mammals/dogs/black_lab_ganson.txt").read_text()
    assert caption == "animals mammals dogs black lab ganson animal mammal dog"
    for path in jpegs[::50]:
        with Image.open(path) as image:
            assert image.format == "JPEG" and image.mode == "RGB" and max(image.size) <= 256
            assert image.getpixel((0, 0)) != (0, 0, 0)  # transparency composited onto white, not black
    target = ClipartTarget({"name": "clipart:food", "cache_dir": clipart_cache}).load()
    target_digests = {_sha(i.path) for i in target.train + target.val + target.test}
    assert len(target_digests) == 133
    assert not target_digests & {_sha(p) for p in jpegs}


def test_search_and_relevance(clipart_cache: Path) -> None:
    engine = ClipartEngine({"target": "animals", "cache_dir": clipart_cache})
    try:
        page = engine.search_page("dog", 1, 16)
        assert len(page.hits) == 14 and not page.has_more
        assert all("dog" in (hit.title or "").split() for hit in page.hits)
        dogs = [hit for hit in page.hits if engine.is_relevant(hit.extra["file"])]
        assert len(dogs) == 8 and all("/animals/" in hit.extra["file"] for hit in dogs)
        with urllib.request.urlopen(page.hits[0].url, timeout=10) as response:
            assert response.read() == Path(page.hits[0].extra["file"]).read_bytes()
        assert all(hit.engine == "clipart" and "public domain" in (hit.license or "") for hit in page.hits)

        truth = [engine.image_relevance(hit.url) for hit in page.hits]  # what the explorer's reward AUC reads
        assert truth == [engine.is_relevant(hit.extra["file"]) for hit in page.hits] and sum(truth) == 8
        assert engine.image_relevance("http://127.0.0.1:9/f/0/other.jpg") is None
        assert engine.image_relevance("https://example.org/cat.jpg") is None
        assert engine.relevance("dog") == pytest.approx(8 / 14)
        assert engine.relevance("flag") <= 0.2
        assert engine.relevance("bird") == engine.relevance("mammal") == 1.0
        assert engine.relevance("apple") == 0.0 and engine.relevance("zzzz qqqq") == 0.0
        assert len(engine.relevant_files()) == 194
        assert engine.is_relevant("animals/fish/dolphin_01.jpg") and not engine.is_relevant("food/honey.jpg")
    finally:
        engine.close()
    food = ClipartEngine({"target": "food", "cache_dir": clipart_cache})
    assert food.relevance("cake") == 1.0 and food.relevance("dog") == 0.0


@pytest.mark.filterwarnings("ignore:plugin .* is broken")
def test_registered_and_engine_follows_the_runs_target(clipart_cache: Path) -> None:
    seen: list[str] = []
    for hook in (plugin.ie_register_engines, plugin.ie_register_targets):
        hook(register=lambda name, factory, help="", options=None: seen.append(name) if options else None)
    assert seen == ["clipart", "clipart"]  # both with a typed schema
    manager = PluginManager()
    assert manager.plugins["clipart"].status == "ok"
    target = manager.create("target", "clipart", {"name": "clipart:food", "cache_dir": clipart_cache})
    assert type(target).accepts("clipart:food") and target.spec == "clipart:food"
    assert target.load().class_names == ["fruit", "dessert", "beverage", "bread", "meat"]
    # the host gives every plugin the run's target as `target_spec` (what a Ray worker rebuilds the engine from)
    engine = manager.create("engine", "clipart", {"cache_dir": clipart_cache, "target_spec": target.spec})
    assert engine.preset == "food" and engine.relevance("fruit") == 1.0
    engine.close()
    # nothing is left behind in the process: an engine without the spec keeps its default
    other = manager.create("engine", "clipart", {"cache_dir": clipart_cache})
    assert other.preset == "animals"
    other.close()
