"""One road from the command line to a plugin: every command that builds plugins gives them what a run gives
(the seed, the shared cache, their config table, the command's own overrides) through ``manager.create``, which
checks the table and fills the declared defaults. Each test records what reaches the plugin and stops there."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from ie.cli.app import app
from ie.host.manager import Registry

SEED = 7


class Reached(Exception):
    """Raised by the recorder once a plugin of the wanted kind is built: nothing after it runs."""


@pytest.fixture
def reached(monkeypatch, tmp_path):
    """``kind -> (name, options)`` of the first plugin of each kind built; building ``stop_at`` raises."""
    monkeypatch.setenv("IE_CACHE_DIR", str(tmp_path / "cache"))
    seen: dict[str, tuple[str, dict[str, Any]]] = {}
    original = Registry.create
    stop_at: set[str] = set()

    def record(self, name, options=None):  # type: ignore[no-untyped-def]
        instance = original(self, name, options)
        seen.setdefault(self.kind, (name, dict(instance.options)))
        if self.kind in stop_at:
            raise Reached(self.kind)
        return instance

    monkeypatch.setattr(Registry, "create", record)
    return seen, stop_at


def _invoke(args: list[str]) -> Any:
    return CliRunner().invoke(app, args, catch_exceptions=True)


def _host(options: dict[str, Any]) -> tuple[Any, Any]:
    """The host's part of a plugin's options: the seed and the shared cache."""
    return options.get("seed"), options.get("cache_dir")


def test_explore_gives_the_run_seed_and_table(reached, tmp_path):
    seen, stop_at = reached
    stop_at.add("engine")
    config = tmp_path / "ie.toml"
    config.write_text("[options.engine.simweb]\nnoise = 0.1\n")
    _invoke(["explore", "--run", str(tmp_path / "run"), "--seed", str(SEED), "--config", str(config),
             "--iterations", "1"])
    name, options = seen["engine"]
    assert name == "simweb" and _host(options) == (SEED, str(tmp_path / "cache"))
    assert options["noise"] == 0.1 and options["broken_rate"] == 0.05  # its table, then its declared defaults
    assert options["target_spec"].startswith("simweb:")


def test_resume_gives_the_stored_seed(reached, tmp_path):
    from ie.config import ExploreConfig
    from ie.loop.driver import Explorer

    seen, stop_at = reached
    config = ExploreConfig(seed=SEED, iterations=1)
    explorer = Explorer(config, tmp_path / "run")
    explorer.store.set_state("config", config.to_dict())  # as a run that set up stores it
    explorer.store.close()
    seen.clear()
    stop_at.add("engine")
    _invoke(["resume", str(tmp_path / "run")])
    assert _host(seen["engine"][1]) == (SEED, str(tmp_path / "cache"))


def test_search_gives_the_config_seed_and_the_cli_override(reached, tmp_path, monkeypatch):
    seen, stop_at = reached
    stop_at.add("engine")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ie.toml").write_text(f"seed = {SEED}\n[options.engine.simweb]\nnoise = 0.1\n")
    _invoke(["search", "teal checkered oval", "--engine", "simweb", "-o", "broken_rate=0.2"])
    name, options = seen["engine"]
    assert _host(options) == (SEED, str(tmp_path / "cache"))
    assert (options["noise"], options["broken_rate"], options["leaks_per_query"]) == (0.1, 0.2, 2)


def test_evaluate_gives_its_target_the_seed(reached, tmp_path):
    seen, stop_at = reached
    stop_at.add("target")
    _invoke(["evaluate", "--target", "simweb", "--seed", str(SEED), "--cache-dir", str(tmp_path / "cache"),
             "--model", "clip:RN50"])
    assert _host(seen["target"][1]) == (SEED, str(tmp_path / "cache"))


def test_train_gives_the_ssl_method_the_seed_and_the_cli_options(reached, tmp_path):
    seen, stop_at = reached
    stop_at.add("ssl")
    images = tmp_path / "images"
    images.mkdir()
    from PIL import Image

    Image.new("RGB", (8, 8)).save(images / "a.jpg")
    _invoke(["train", str(images), "--ssl", "simsiam", "--seed", str(SEED), "--out", str(tmp_path / "out"),
             "-o", "base_lr=0.1"])
    name, options = seen["ssl"]
    assert name == "simsiam" and _host(options) == (SEED, str(tmp_path / "cache"))
    assert options["base_lr"] == 0.1 and options["backbone_lr_scale"] is None  # unset: the trainer's mode decides


def test_doctor_online_builds_engines_with_the_project_seed(reached, tmp_path, monkeypatch):
    from ie.cli.commands import doctor

    seen, stop_at = reached
    stop_at.add("engine")
    monkeypatch.setenv("FLICKR_API_KEY", "k")
    monkeypatch.setenv("FLICKR_API_SECRET", "s")
    project = tmp_path / "ie.toml"
    project.write_text(f"seed = {SEED}\n[options.engine.flickr]\nbase_url = 'http://127.0.0.1:9/'\n")
    doctor.check_keys(doctor.project_engine_options(project), doctor.project_seed(project))
    name, options = seen["engine"]
    assert name == "flickr" and _host(options) == (SEED, str(tmp_path / "cache"))
    assert options["base_url"] == "http://127.0.0.1:9/" and options["safe_search"] == 1
