"""Typed plugin options: declared schemas, unknown keys refused with the nearest name, `ie plugins --json`
shows them, and the docs name only tables and keys that exist."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ie.api import IEError, Option, check_options
from ie.config import ExploreConfig
from ie.host.manager import PluginManager
from ie.loop.session import check_option_tables

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def manager() -> PluginManager:
    return PluginManager()


def test_misspelt_engine_option_names_the_nearest(manager):
    with pytest.raises(IEError, match=r"unknown option 'thumb_widht' for engine 'wikimedia' \(did you mean 'thumb_width'\?\)"):
        manager.create("engine", "wikimedia", {"thumb_widht": 256})


def test_wrong_type_is_refused(manager):
    with pytest.raises(IEError, match="option 'k' of reward 'knn' must be int, not str"):
        manager.create("reward", "knn", {"k": "fifteen"})


def test_declared_options_and_host_keys_pass(manager):
    reward = manager.create("reward", "knn", {"k": 5, "center": True, "seed": 3, "cache_dir": "/tmp/x"})
    assert reward.k == 5 and reward.center is True
    ssl = manager.create("ssl", "mocov3", {"base_lr": 1, "freeze_bn_stats": True})
    assert ssl.options["base_lr"] == 1


def test_untyped_plugins_take_any_key():
    check_options("engine", "legacy", None, {"anything": 1})
    with pytest.raises(IEError, match="its options: a, b"):
        check_options("engine", "typed", (Option("a"), Option("b")), {"c": 1})


def test_config_tables_are_checked_before_a_run(manager):
    with pytest.raises(IEError, match=r"\[options.engines\] \(did you mean 'engine'\?\)"):
        check_option_tables(ExploreConfig(options={"engines": {"flickr": {}}}), manager)
    with pytest.raises(IEError, match=r"no engine is called 'flikr' \(did you mean 'flickr'\?\)"):
        check_option_tables(ExploreConfig(options={"engine": {"flikr": {}}}), manager)
    with pytest.raises(IEError, match="unknown option 'licence' for engine 'flickr'"):
        check_option_tables(ExploreConfig(options={"engine": {"flickr": {"licence": "4"}}}), manager)
    check_option_tables(ExploreConfig(options={"engine": {"flickr": {"license": "4,5"}},
                                               "download": {"options": {"total_timeout": 20}}}), manager)


def test_plugins_json_shows_each_schema():
    out = subprocess.run([sys.executable, "-m", "ie", "plugins", "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    schemas = {key: value for row in json.loads(out.stdout) for key, value in row["options"].items()}
    flickr = {o["name"]: o for o in schemas["engine:flickr"]}
    assert flickr["license"]["type"] == "str" and flickr["rate_per_second"]["type"] == "float"
    assert {o["name"] for o in schemas["ssl:mocov3"]} >= {"base_lr", "momentum", "backbone_lr_scale"}
    typed = [k for k, v in schemas.items() if v is not None]
    assert len(typed) >= 16, typed


def test_docs_name_only_tables_plugins_and_keys_that_exist(manager):
    """Every ``[options.KIND.NAME]`` table in the docs (and the keys written under it) exists."""
    checked = 0
    for page in [*sorted((REPO / "docs").rglob("*.md")), REPO / "README.md"]:
        text = page.read_text()
        for match in re.finditer(r"\[(?:explore\.)?options\.([a-z_]+)\.([a-z0-9_-]+)\]((?:\n[a-z_]+ *=[^\n]*)*)", text):
            kind, name, body = match.groups()
            table = {line.split("=")[0].strip(): None for line in body.strip().splitlines() if "=" in line}
            config = ExploreConfig(options={kind: {name: table}})
            try:
                check_option_tables(config, manager)
            except IEError as err:
                if "must be" not in str(err):  # a None placeholder value is not a type error worth failing on
                    raise AssertionError(f"{page.relative_to(REPO)}: {err}") from err
            checked += 1
    assert checked >= 3


def test_every_built_in_plugin_declares_its_options(manager):
    """No built-in registration is untyped: a misspelt key is refused for every one of them."""
    untyped = [f"{kind}:{r.name}" for kind, registry in manager.registries.items() for r in registry
               if r.options is None and manager.plugins[r.plugin].distribution == "internet-explorer"]
    assert untyped == []
    typed = sum(len(r.options) for registry in manager.registries.values() for r in registry if r.options)
    assert typed >= 180


def test_ie_evaluate_resolves_its_target_with_the_same_host_options_as_a_run(monkeypatch, tmp_path):
    """One road for what the host gives plugins: `ie evaluate --target simweb` gets the run's seed (given, or the
    checkpoint's) and cache, as `ie explore`'s session gives them."""
    import ie.loop.session as session_module
    from ie.cli.commands.learning import resolve_target
    from ie.config import ExploreConfig
    from ie.loop.session import Session

    seen = {}

    def fake_load_target(spec, manager, options_of):
        seen[spec] = options_of(spec)
        return spec

    monkeypatch.setattr(session_module, "load_target", fake_load_target)
    resolve_target("simweb", tmp_path, seed=7)
    session = Session(ExploreConfig(seed=7), tmp_path, None)  # type: ignore[arg-type]
    monkeypatch.setenv("IE_CACHE_DIR", str(tmp_path))
    assert seen["simweb"] == session.plugin_options("target", "simweb") == {"seed": 7, "cache_dir": str(tmp_path)}


@pytest.mark.parametrize(("table", "key", "nearest_key"), [("download", "concurency", "concurrency"),
                                                          ("search", "concurrenc", "concurrency"),
                                                          ("concepts", "tried_penalti", "tried_penalty")])
def test_a_typo_in_a_core_options_table_is_an_error_naming_the_nearest_key(table, key, nearest_key):
    from ie.api import IEError
    from ie.config import ExploreConfig
    from ie.host.manager import get_plugin_manager
    from ie.loop.session import CORE_OPTION_TABLES, check_option_tables

    name = CORE_OPTION_TABLES[table][0]
    with pytest.raises(IEError, match=rf"unknown option {key!r} for {table} {name!r} \(did you mean {nearest_key!r}\?\)"):
        check_option_tables(ExploreConfig(options={table: {name: {key: 1}}}), get_plugin_manager())
    check_option_tables(ExploreConfig(options={table: {name: {nearest_key: 2}}}), get_plugin_manager())  # the right one
    with pytest.raises(IEError, match="must be"):  # and a value of the wrong type
        check_option_tables(ExploreConfig(options={table: {name: {nearest_key: "many"}}}), get_plugin_manager())


# --- one road: declared defaults are filled in one place (ie.api.with_defaults), and nowhere else ----------------

def test_every_declared_default_reaches_the_plugin_the_same_way_by_the_registry_and_by_its_class(manager):
    """``manager.create`` (every command's road) and a direct ``Class(options)`` (library use) give a plugin the
    same options: its declared defaults with what was given over them."""
    from ie_plugins.rewards.knn import KNNReward

    by_road = manager.create("reward", "knn", {"k": 5, "seed": 7})
    direct = KNNReward({"k": 5, "seed": 7})
    declared = {o.name: o.default for o in KNNReward.OPTIONS}
    assert by_road.options == direct.options == {**declared, "k": 5, "seed": 7}
    assert by_road.options["top_n"] == 10  # RewardFunction's own option, declared once for every reward


def test_a_typed_plugin_reads_each_declared_default_without_a_fallback_of_its_own():
    """No ``options.get("key", default)`` in ie/ or plugins/: a default lives in the plugin's ``Option`` only, so
    the one ``ie plugins`` shows is the one that runs. (Host keys such as ``name`` or ``seed`` may be read with
    ``.get(key)``: library users may leave them out.)"""
    import ast

    offenders = []
    for path in [*sorted((REPO / "ie").rglob("*.py")), *sorted((REPO / "plugins").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                    and len(node.args) == 2 and isinstance(node.args[0], ast.Constant)):
                owner = node.func.value
                name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
                if name in ("options", "opts", "o"):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == []


@pytest.mark.parametrize("kind, name, key", [
    ("engine", "wikimedia", "thumb_width"),      # unset: the step serving --resize
    ("engine", "openverse", "rate_per_second"),  # unset: the published limit for the credentials
    ("engine", "simweb", "target"),              # unset: the run's target
    ("ssl", "mocov3", "backbone_lr_scale"),      # unset: the fine-tuning mode's
])
def test_options_whose_default_follows_the_run_are_declared_unset(manager, kind, name, key):
    """An option whose default depends on the run is declared with ``None`` (unset), so filling defaults never
    hides whether the user set it."""
    schema = {o.name: o for o in manager.registry(kind).get(name).options}
    assert schema[key].default is None


def test_the_run_target_reaches_simweb_when_its_own_target_option_is_unset(manager):
    engine = manager.create("engine", "simweb", {"target_spec": "simweb:warm-dotted"})
    assert engine.world.config.target == "warm-dotted"
    engine = manager.create("engine", "simweb", {"target_spec": "simweb:warm-dotted", "target": "night-checkered"})
    assert engine.world.config.target == "night-checkered"
