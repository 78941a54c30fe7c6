"""The simweb target: labelled, deterministic, disjoint splits on disk."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image

from ie_plugins.simweb.engine import SimWebEngine
from ie_plugins.simweb.server import image_bytes
from ie_plugins.simweb.target import SimWebTarget


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_splits_are_labelled_disjoint_and_deterministic(tmp_path: Path) -> None:
    options = {"name": "simweb", "cache_dir": tmp_path / "a", "n_train": 6, "n_val": 2, "n_test": 3}
    data = SimWebTarget(options).load()
    assert data.name == "simweb:blue-striped" and data.labeled
    assert data.class_names[0] == "blue striped circle" and len(data.class_names) == 6
    assert (len(data.train), len(data.val), len(data.test)) == (36, 12, 18)
    assert sorted({item.label for item in data.test}) == list(range(6))
    digests = {split: {_digest(i.path) for i in getattr(data, split)} for split in ("train", "val", "test")}
    assert len(digests["train"]) == 36 and len(digests["test"]) == 18
    assert not (digests["train"] & digests["val"]) and not (digests["train"] & digests["test"])
    assert not (digests["val"] & digests["test"])
    assert Image.open(data.train[0].path).size == (64, 64)

    again = SimWebTarget({**options, "cache_dir": tmp_path / "b"}).load()
    assert [_digest(i.path) for i in again.test] == [_digest(i.path) for i in data.test]
    before = data.train[0].path.stat().st_mtime_ns
    SimWebTarget(options).load()
    assert data.train[0].path.stat().st_mtime_ns == before  # nothing rewritten


def test_engine_leaks_exact_test_images_but_serves_other_images(tmp_path: Path) -> None:
    data = SimWebTarget({"name": "simweb", "cache_dir": tmp_path, "n_train": 2, "n_val": 1, "n_test": 3}).load()
    test_digests = {_digest(i.path) for i in data.test}
    hits = SimWebEngine({}).search("blue striped circle", 100)
    served = {}
    for hit in hits:
        if hit.extra["kind"] in ("leak", "match"):
            slug, index = hit.url.split("/img/")[1].removesuffix(".jpg").split("/")
            served[hit.extra["kind"]] = hashlib.sha256(image_bytes(slug, int(index), 0, 64)).hexdigest()
    assert served["leak"] in test_digests and served["match"] not in test_digests


def test_named_definitions(tmp_path: Path) -> None:
    assert SimWebTarget.accepts("simweb") and SimWebTarget.accepts("simweb:warm-dotted")
    assert not SimWebTarget.accepts("simweb:nope") and not SimWebTarget.accepts("/data/flowers")
    data = SimWebTarget({"name": "simweb:warm-dotted", "cache_dir": tmp_path, "n_train": 1, "n_val": 1,
                         "n_test": 1}).load()
    assert data.name == "simweb:warm-dotted" and data.class_names[0] == "red dotted circle"
    assert all(str(i.path).startswith(str(tmp_path)) for i in data.train)


def test_loaded_target_sets_the_ground_truth_of_engine_and_vocabulary(tmp_path: Path) -> None:
    engine = SimWebEngine({"seed": 3})
    assert engine.is_relevant_query("blue striped star")
    SimWebTarget({"name": "simweb:warm-dotted", "seed": 3, "cache_dir": tmp_path, "n_train": 1, "n_val": 1,
                  "n_test": 1}).load()
    assert not engine.is_relevant_query("blue striped star")
    assert engine.is_relevant_query("orange dotted oval")
    assert SimWebEngine({"seed": 3, "target": "blue-striped"}).is_relevant_query("blue striped star")
    assert SimWebEngine({"seed": 4}).is_relevant_query("blue striped star")  # other seeds keep the default
