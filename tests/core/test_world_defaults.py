"""Defaults that follow the run: the simulated web is the default only as a whole; a real engine or target brings
WordNet + MiniLM; a real engine with the simulated vocabulary or target, or with no target, is refused at once."""

from __future__ import annotations

import pytest

from ie.api import IEError
from ie.config import ExploreConfig, TargetNeededError


def _world(config: ExploreConfig) -> tuple[str, list[str], str, str]:
    return config.target, config.engines, config.vocab, config.embedder


@pytest.mark.parametrize("settings, expected", [
    ({}, ("simweb", ["simweb"], "simweb", "hashing")),
    ({"target": "simweb:warm-dotted"}, ("simweb:warm-dotted", ["simweb"], "simweb", "hashing")),
    ({"engines": ["simweb"]}, ("simweb", ["simweb"], "simweb", "hashing")),
    ({"target": "clipart:food"}, ("clipart:food", ["clipart"], "wordnet", "minilm")),
    ({"target": "/data/pets", "engines": ["flickr"]}, ("/data/pets", ["flickr"], "wordnet", "minilm")),
    ({"target": "/data/pets", "engines": ["openverse", "wikimedia"], "embedder": "hashing"},
     ("/data/pets", ["openverse", "wikimedia"], "wordnet", "hashing")),
    ({"target": "simweb", "engines": ["simweb"], "vocab": "wordnet"}, ("simweb", ["simweb"], "wordnet", "minilm")),
    ({"target": "/data/pets", "engines": ["local"], "vocab": "labels"}, ("/data/pets", ["local"], "labels", "minilm")),
])
def test_each_world_gets_its_own_defaults(settings, expected):
    assert _world(ExploreConfig(**settings)) == expected


def test_a_real_engine_without_a_target_is_refused_naming_target():
    with pytest.raises(TargetNeededError, match="--target is needed with engine flickr") as caught:
        ExploreConfig(engines=["flickr"])
    assert caught.value.engines == ["flickr"]


@pytest.mark.parametrize("settings, fragment", [
    ({"target": "/data/pets"}, "needs --engine"),
    ({"target": "/data/pets", "engines": ["flickr"], "vocab": "simweb"}, "pass --vocab wordnet"),
    ({"target": "simweb", "engines": ["flickr"]}, "pass --target with a folder of your images"),
    ({"target": "simweb:warm-dotted", "engines": ["simweb", "openverse"]}, "engine openverse searches the real web"),
])
def test_mixing_the_simulated_world_with_the_real_web_is_refused(settings, fragment):
    with pytest.raises(IEError, match=fragment):
        ExploreConfig(**settings)


def test_resolution_is_stable_and_a_resolved_config_round_trips():
    import dataclasses

    config = ExploreConfig(target="/data/pets", engines=["flickr"])
    assert ExploreConfig.from_dict(config.to_dict()) == config
    assert dataclasses.replace(config, iterations=3).vocab == "wordnet"


def test_explore_option_reaches_the_plugin_table(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ie.cli.app import app
    from ie.loop.driver import Explorer

    captured = {}

    class Stop(Exception):
        pass

    def fake_init(self, config, run, **kwargs):  # noqa: ANN001
        captured["config"] = config
        raise Stop

    monkeypatch.setattr(Explorer, "__init__", fake_init)
    result = CliRunner().invoke(app, ["explore", "--run", str(tmp_path / "r"), "--option", "reward.knn.k=7",
                                      "-o", "engine.simweb.noise=0.1", "-o", "engine.simweb.target=warm-dotted"])
    assert isinstance(result.exception, Stop), result.output
    options = captured["config"].options
    assert options["reward"]["knn"] == {"k": 7}
    assert options["engine"]["simweb"] == {"noise": 0.1, "target": "warm-dotted"}
