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


def test_the_runs_target_reaches_engine_and_vocabulary_through_their_options(tmp_path: Path) -> None:
    """``--target simweb`` with ``[options.target.simweb] target = "warm-dotted"``: the host resolves the target to
    ``simweb:warm-dotted`` and gives every plugin that spec (``target_spec``), so a Ray worker rebuilding an engine
    from its options sees the same ground truth as the driver; nothing is left in a module global."""
    from ie.config import ExploreConfig
    from ie.loop.session import Session

    config = ExploreConfig(target="simweb", engines=["simweb"], vocab="simweb", embedder="hashing", seed=3,
                           options={"target": {"simweb": {"target": "warm-dotted"}}})
    session = Session.build(config, tmp_path)
    assert session.target_spec == "simweb:warm-dotted"
    options = session.engine_options("simweb")
    assert options["target_spec"] == "simweb:warm-dotted" and "secrets" not in options
    rebuilt = SimWebEngine(options)  # what a worker does with the task's options
    assert rebuilt.is_relevant_query("orange dotted oval") and not rebuilt.is_relevant_query("blue striped star")
    assert session.engines["simweb"].is_relevant_query("orange dotted oval")
    vocabulary = session.create("vocabulary", "simweb")
    assert vocabulary.world.config.target == "warm-dotted"
    # loading a target changes nothing for plugins built without its spec
    SimWebTarget({"name": "simweb:night-checkered", "seed": 3, "cache_dir": tmp_path, "n_train": 1, "n_val": 1,
                  "n_test": 1}).load()
    assert SimWebEngine({"seed": 3}).is_relevant_query("blue striped star")
    assert SimWebEngine({"seed": 3, "target": "blue-striped", "target_spec": "simweb:warm-dotted"}) \
        .is_relevant_query("blue striped star")  # the engine's own option wins
    assert SimWebEngine({"seed": 3, "target_spec": "/data/my-folder"}).is_relevant_query("blue striped star")
    session.close()
