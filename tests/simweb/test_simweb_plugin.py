"""The simweb plugin registers engine, target and vocabulary "simweb" sharing one world."""

from __future__ import annotations

from pathlib import Path

import pytest

from ie.host.manager import PluginManager
from ie_plugins.simweb import plugin


def test_hookimpls_register_simweb() -> None:
    seen: list[tuple[str, set[str]]] = []
    for hook in (plugin.ie_register_engines, plugin.ie_register_targets, plugin.ie_register_vocabularies):
        hook(register=lambda name, factory, help="", options=None: seen.append((name, {o.name for o in options})))
    assert [name for name, _ in seen] == ["simweb"] * 3
    engine, target, vocabulary = (keys for _, keys in seen)
    assert {"target", "image_size", "n_concepts"} <= vocabulary <= target & engine  # the world's options: shared
    assert {"noise", "broken_rate", "port", "rate_per_second"} <= engine and {"n_train", "n_test"} <= target


def test_a_misspelt_option_is_refused_with_the_nearest() -> None:
    from ie.api import IEError

    with pytest.raises(IEError, match=r"unknown option 'broken_rat' for engine 'simweb' \(did you mean 'broken_rate'\?\)"):
        PluginManager().create("engine", "simweb", {"broken_rat": 0.1})


@pytest.mark.filterwarnings("ignore:plugin .* is broken")
def test_plugin_manager_creates_all_three(tmp_path: Path) -> None:
    manager = PluginManager()
    assert manager.plugins["simweb"].status == "ok"
    options = {"seed": 2, "n_concepts": 500}
    vocabulary = manager.create("vocabulary", "simweb", options)
    engine = manager.create("engine", "simweb", options)
    target = manager.create("target", "simweb", {**options, "name": "simweb", "cache_dir": tmp_path, "n_train": 1,
                                                 "n_val": 1, "n_test": 1})
    assert len(vocabulary) == 500
    assert engine.world is vocabulary.world is target.world
    names = {c.name for c in vocabulary.concepts()}
    assert set(target.load().class_names) <= names
    assert engine.relevance("blue striped star") > 0.5
