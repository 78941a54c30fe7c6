"""The simweb plugin registers engine, target and vocabulary "simweb" sharing one world."""

from __future__ import annotations

from pathlib import Path

import pytest

from ie.host.manager import PluginManager
from ie_plugins.simweb import plugin


def test_hookimpls_register_simweb() -> None:
    seen: list[str] = []
    for hook in (plugin.ie_register_engines, plugin.ie_register_targets, plugin.ie_register_vocabularies):
        hook(register=lambda name, factory, help="": seen.append(name))
    assert seen == ["simweb"] * 3


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
