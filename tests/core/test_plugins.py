from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from ie.api import Hit, SearchEngine, SearchPage, UnknownPluginError, hookimpl
from ie.host.manager import PluginManager

REPO = Path(__file__).resolve().parents[2]


class _Engine(SearchEngine):
    name = "dummy"
    default_rate_per_second = 1000.0

    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        hits = [Hit(f"http://e/{query}/{page}/{i}", "dummy", query, 0) for i in range(per_page)]
        return SearchPage(hits, has_more=page < 3)


def _plugin(engine_name: str) -> types.SimpleNamespace:
    @hookimpl
    def ie_register_engines(register):  # type: ignore[no-untyped-def]
        register(engine_name, _Engine, help="test engine")

    return types.SimpleNamespace(ie_register_engines=ie_register_engines)


def test_register_and_create(ie_register_plugin, ie_plugin_manager):
    info = ie_register_plugin(_plugin("dummy"), name="dummy-plugin")
    assert info.provides == [("engine", "dummy")]
    engine = ie_plugin_manager.create("engine", "dummy", {})
    hits = engine.search("cat", 25)
    assert len(hits) == 25 and [h.rank for h in hits] == list(range(25))
    assert len({h.url for h in hits}) == 25


def test_fixture_unregisters_after_test(pytester):
    """A plugin registered with ``ie_register_plugin`` is gone from that test's manager once the test ends
    (checked from a second test that holds the first one's manager; without the unregistering it fails)."""
    pytester.makepyfile('''
        import types
        from ie.api import Hit, SearchEngine, SearchPage, hookimpl

        class Engine(SearchEngine):
            name = "temp-engine"
            def search_page(self, query, page, per_page):
                return SearchPage([], has_more=False)

        @hookimpl
        def ie_register_engines(register):
            register("temp-engine", Engine)

        MANAGERS = []

        def test_registers(ie_register_plugin, ie_plugin_manager):
            ie_register_plugin(types.SimpleNamespace(ie_register_engines=ie_register_engines), name="temp")
            assert "temp-engine" in ie_plugin_manager.registry("engine")
            MANAGERS.append(ie_plugin_manager)

        def test_gone_after_the_first_test():
            (manager,) = MANAGERS
            assert "temp" not in manager.plugins
            assert "temp-engine" not in manager.registry("engine")
    ''')
    result = pytester.runpytest_inprocess("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_unknown_name_lists_available(ie_plugin_manager):
    with pytest.raises(UnknownPluginError, match="available"):
        ie_plugin_manager.create("engine", "nope")


def test_duplicate_name_names_both_plugins():
    manager = PluginManager(load_entry_points=False)
    manager.register(_plugin("same"), name="first")
    with pytest.warns(UserWarning, match="first.*second"):
        info = manager.register(_plugin("same"), name="second")
    assert info.status == "broken"
    assert "first" in info.error and "second" in info.error
    assert manager.registry("engine").get("same").plugin == "first"


def test_plugin_raising_in_registration_is_isolated():
    @hookimpl
    def ie_register_rewards(register):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    manager = PluginManager(load_entry_points=False)
    with pytest.warns(UserWarning, match="boom"):
        info = manager.register(types.SimpleNamespace(ie_register_rewards=ie_register_rewards), name="bad")
    assert info.status == "broken" and "boom" in info.error
    ok = manager.register(_plugin("fine"), name="good")
    assert ok.status == "ok" and "fine" in manager.registry("engine")


def test_misspelt_hookimpl_is_a_broken_plugin_naming_the_hook():
    """pluggy accepts a @hookimpl with no matching spec and never calls it; the manager checks pending hooks per
    plugin (pluggy's check_pending), so the plugin shows as broken with the nearest hook name, and others load."""

    @hookimpl
    def ie_register_engine(register):  # type: ignore[no-untyped-def]  # one letter short
        register("never", object)

    manager = PluginManager(load_entry_points=False)
    with pytest.warns(UserWarning, match="did you mean 'ie_register_engines'"):
        info = manager.register(types.SimpleNamespace(ie_register_engine=ie_register_engine), name="typo")
    assert info.status == "broken" and "ie_register_engine is not an ie hook" in info.error
    assert manager.register(_plugin("fine"), name="good").status == "ok"
    manager.pm.check_pending()  # nothing left pending: the broken plugin was unregistered


def test_misspelt_hookimpl_package_shows_in_ie_plugins_as_an_error_row(tmp_path):
    source = "from ie.api import hookimpl\n\n@hookimpl\ndef ie_register_reward(register):\n    pass\n"
    _fake_dist(tmp_path, "typoed", "typoed_plugin", source)
    _, rows = _ie_plugins_json(tmp_path)
    assert rows["typoed"]["status"] == "broken" and "ie_register_rewards" in rows["typoed"]["error"]


def test_disable_by_env(monkeypatch):
    monkeypatch.setenv("IE_DISABLE_PLUGINS", "blocked, other")
    manager = PluginManager(load_entry_points=False)
    info = manager.register(_plugin("x"), name="blocked")
    assert info.status == "disabled" and "x" not in manager.registry("engine")


def test_builtins_come_from_entry_points():
    manager = PluginManager()
    names = set(manager.plugins)
    assert {"simweb", "mocov3", "knn", "wordnet", "hashing"} <= names
    assert all(info.distribution == "internet-explorer" for n, info in manager.plugins.items() if n in {"simweb", "knn"})


def _fake_dist(root: Path, name: str, module: str, source: str) -> None:
    dist = root / f"{name}-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[ie]\n{name} = {module}\n")
    (root / f"{module}.py").write_text(source)


def _ie_plugins_json(path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, dict]]:
    """`ie plugins --json` with ``path`` on PYTHONPATH (fake distributions there): its process and rows by name."""
    env = {"PYTHONPATH": str(path), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "ie", "plugins", "--json"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out, {row["name"]: row for row in json.loads(out.stdout)}


def test_broken_plugin_package_does_not_take_cli_down(tmp_path):
    _fake_dist(tmp_path, "kaput", "kaput_plugin", "raise ImportError('kaput on import')\n")
    out, rows = _ie_plugins_json(tmp_path)
    assert rows["kaput"]["status"] == "broken" and "kaput on import" in rows["kaput"]["error"]
    assert rows["simweb"]["status"] == "ok"
    assert "kaput" in out.stderr  # warned


def test_trace_prints_hook_calls(tmp_path):
    env = {"IE_TRACE_PLUGINS": "1", "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "ie", "plugins", "--json"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0
    assert "register engine 'simweb'" in out.stderr


def test_third_party_example_installs_and_works(tmp_path):
    target = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target",
         str(target), str(REPO / "examples" / "ie-hello-engine")],
        capture_output=True, text=True, timeout=300,
    )
    assert pip.returncode == 0, pip.stderr
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    listed = subprocess.run([sys.executable, "-m", "ie", "plugins", "--json"], capture_output=True, text=True,
                            env=env, timeout=120)
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["hello"]["status"] == "ok" and rows["hello"]["distribution"] == "ie-hello-engine"
    code = ("from ie.host.manager import get_plugin_manager as g; e = g().create('engine', 'hello', {}); "
            "print(len(e.search('red panda', 23)))")
    called = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert called.stdout.strip() == "23", called.stderr
