"""`ie doctor --online` asks each engine whose key is set one question, as a run would, and says whether the key is
accepted; a refused key fails the doctor; a missing key makes no request; a key's value is never printed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ie.cli.app import app
from ie.cli.commands import doctor
from tests.engines.conftest import json_server  # noqa: F401 - the loopback JSON server fixture

runner = CliRunner()
GOOD_KEY = "accepted-key-0042"
BAD_KEY = "do-not-print-me-4711"


def flickr_answer(request):
    if request.params.get("api_key") != GOOD_KEY:
        return {"stat": "fail", "code": 100, "message": "Invalid API Key (Key has invalid format)"}
    return {"stat": "ok", "photos": {"page": 1, "pages": 0, "perpage": 1, "total": 0, "photo": []}}


@pytest.fixture
def server(json_server):  # noqa: F811
    return json_server(flickr_answer)


@pytest.fixture
def project(tmp_path, monkeypatch, server):
    """No key but the test's own, no user config, no proxy, no real host probed; the project config points flickr
    at the loopback server."""
    from ie.host.manager import get_plugin_manager

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in [*get_plugin_manager().declared_secrets(), "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy",
                 "https_proxy", "all_proxy"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(doctor, "engine_probe_urls", lambda: {})
    config = tmp_path / "ie.toml"
    config.write_text(f'[explore.options.engine.flickr]\nbase_url = "{server.url}/services/rest/"\n')
    return config


def doctor_online(project, *extra):
    return runner.invoke(app, ["doctor", "--online", "--config", str(project), "--run", str(project.parent / "runs"),
                               *extra])


def rows(result):
    return {c["name"]: c for c in json.loads(result.stdout)}


def test_an_accepted_key_is_said_so(project, server, monkeypatch):
    monkeypatch.setenv("FLICKR_API_KEY", GOOD_KEY)
    result = doctor_online(project, "--json")
    checks = rows(result)
    assert checks["engine flickr key"]["status"] == "ok" and checks["engine flickr key"]["detail"] == "accepted"
    assert len(server.requests) == 1  # one cheap call: one result of a common word
    assert server.requests[0].params["per_page"] == "1"
    assert result.exit_code == (1 if any(c["status"] == "fail" for c in checks.values()) else 0)
    assert GOOD_KEY not in result.stdout


def test_a_refused_key_fails_the_doctor_without_printing_it(project, server, monkeypatch):
    monkeypatch.setenv("FLICKR_API_KEY", BAD_KEY)
    result = doctor_online(project, "--json")
    assert result.exit_code == 1
    row = rows(result)["engine flickr key"]
    assert row["status"] == "fail" and row["detail"].startswith("refused: Flickr error 100")
    assert "FLICKR_API_KEY" in row["fix"]
    assert server.requests[0].params["api_key"] == BAD_KEY  # the server saw the key; the output never does
    assert BAD_KEY not in result.stdout
    table = doctor_online(project)
    assert table.exit_code == 1 and "engine flickr key" in table.stdout and "refused" in table.stdout
    assert BAD_KEY not in table.stdout


def test_a_key_in_the_user_config_is_checked_too(project, server, tmp_path):
    (tmp_path / "config" / "ie").mkdir(parents=True)
    (tmp_path / "config" / "ie" / "config.toml").write_text(f'[secrets]\nFLICKR_API_KEY = "{BAD_KEY}"\n')
    result = doctor_online(project, "--json")
    assert result.exit_code == 1 and rows(result)["engine flickr key"]["status"] == "fail"
    assert BAD_KEY not in result.stdout


def test_a_missing_key_makes_no_request(project, server):
    result = doctor_online(project, "--json")
    checks = rows(result)
    assert server.requests == []
    assert "engine flickr key" not in checks
    assert checks["engine flickr"]["status"] == "warn" and "FLICKR_API_KEY missing" in checks["engine flickr"]["detail"]
    assert "export FLICKR_API_KEY=" in checks["engine flickr"]["fix"]
    assert not any(name.endswith(" key") for name in checks)  # keyless engines (openverse, wikimedia) get no call


@pytest.mark.parametrize(("reply", "status", "detail"), [
    ({"stat": "fail", "code": 999, "message": "Rate limit exceeded for today"}, "warn", "quota spent: Flickr error"),
    (("busy", 502), "warn", "no answer: TransientEngineError: HTTP 502"),
])
def test_a_spent_quota_or_an_outage_is_a_warning(project, server, monkeypatch, reply, status, detail):
    monkeypatch.setenv("FLICKR_API_KEY", GOOD_KEY)
    server.queue(reply)
    row = {c.name: c for c in doctor.check_keys(doctor.project_engine_options(project))}["engine flickr key"]
    assert row.status == status and row.detail.startswith(detail)


def test_an_unreachable_endpoint_is_a_warning(project, monkeypatch):
    monkeypatch.setenv("FLICKR_API_KEY", GOOD_KEY)
    options = {"flickr": {"base_url": "http://127.0.0.1:9/", "timeout": 2.0}}
    row = {c.name: c for c in doctor.check_keys(options)}["engine flickr key"]
    assert row.status == "warn" and row.detail.startswith("no answer: TransientEngineError: cannot reach")


def test_a_plugin_error_that_quotes_the_key_is_redacted(project, monkeypatch, ie_register_plugin):
    """Core names no engine: a third-party engine is asked like the built-ins, and its message is scrubbed."""
    from ie.api import AuthError, SearchEngine, get_secret, hookimpl

    calls = []

    class Archive(SearchEngine):
        name = "my-archive"
        SECRETS = ("MY_ARCHIVE_TOKEN",)

        def search_page(self, query, page, per_page):
            calls.append(query)
            raise AuthError(self.name, f"token {get_secret('MY_ARCHIVE_TOKEN', self.options)} is revoked")

    class Plugin:
        @hookimpl
        def ie_register_engines(self, register):
            register("my-archive", Archive, help="test")

    ie_register_plugin(Plugin(), name="archive-plugin")
    assert "engine my-archive key" not in {c.name for c in doctor.check_keys()} and calls == []
    monkeypatch.setenv("MY_ARCHIVE_TOKEN", BAD_KEY)
    row = {c.name: c for c in doctor.check_keys()}["engine my-archive key"]
    assert calls == ["photo"] and row.status == "fail"
    assert row.detail == "refused: token *** is revoked" and BAD_KEY not in row.fix


def test_a_bad_option_table_is_a_failure(project, monkeypatch):
    monkeypatch.setenv("FLICKR_API_KEY", GOOD_KEY)
    row = {c.name: c for c in doctor.check_keys({"flickr": {"base_ur": "http://127.0.0.1:9/"}})}["engine flickr key"]
    assert row.status == "fail" and "base_url" in row.detail and "[options.engine.flickr]" in row.fix
