from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ie.api import IEError
from ie.cli.app import app
from ie.config import ExploreConfig, load_config

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("ie ")


def test_plugins_json_is_valid():
    result = runner.invoke(app, ["plugins", "--json"])
    rows = json.loads(result.stdout)
    assert result.exit_code == 0 and rows
    assert all({"name", "kind", "status"} <= set(row) for row in rows)


def test_config_precedence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ie.toml").write_text('iterations = 7\ntarget = "photos"\nengines = ["openverse"]\n[options.engine.openverse]\nrate_per_second = 0.3\n')
    cfg = load_config(None, {"iterations": 2, "seed": None})
    assert cfg.iterations == 2 and cfg.engines == ["openverse"] and cfg.seed == 0 and cfg.vocab == "wordnet"
    assert cfg.plugin_options("engine", "openverse") == {"rate_per_second": 0.3}


def test_secrets_in_project_config_are_refused(tmp_path):
    path = tmp_path / "ie.toml"
    path.write_text('[options.engine.flickr]\nFLICKR_API_KEY = "abc123"\n')
    with pytest.raises(IEError, match="holds secrets.*FLICKR_API_KEY"):
        load_config(path)


def test_unknown_keys_are_named():
    with pytest.raises(IEError, match="bogus"):
        ExploreConfig.from_dict({"bogus": 1})


def test_config_show_never_prints_secret_values(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLICKR_API_KEY", "supersecretvalue")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "ie").mkdir(parents=True)
    (tmp_path / "xdg" / "ie" / "config.toml").write_text('[secrets]\nGOOGLE_API_KEY = "alsosecret"\n')
    result = runner.invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0
    assert "supersecretvalue" not in result.stdout and "alsosecret" not in result.stdout
    secrets = json.loads(result.stdout)["secrets"]
    assert secrets["FLICKR_API_KEY"] == "set (env)" and secrets["GOOGLE_API_KEY"] == "set (user config)"
    assert secrets["OPENVERSE_CLIENT_ID"] == "missing"


def test_a_stored_run_without_a_later_field_keeps_its_old_behaviour():
    """Runs stored before ``feature_size`` existed scored rewards at ``image_size``: resuming them must not change
    that, while a new config gets today's default."""
    old = ExploreConfig().to_dict()
    del old["feature_size"]
    assert ExploreConfig.from_saved(old).model_feature_size == old["image_size"]
    assert ExploreConfig().model_feature_size == 128
    assert ExploreConfig(feature_size=0, image_size=96).model_feature_size == 96
