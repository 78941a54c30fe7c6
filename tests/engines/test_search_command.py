"""``ie search`` against loopback servers, through the real Typer app (typer.testing.CliRunner)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from ie.cli.commands.search import parse_options, register


@pytest.fixture
def app():
    try:
        from ie.cli.app import app as ie_app
    except ImportError:  # the CLI module is being written: test the command on its own app
        ie_app = typer.Typer()
        register(ie_app)

        @ie_app.callback()
        def _root() -> None: ...

    return ie_app


@pytest.fixture
def openverse(json_server):
    def handler(req):
        size = int(req.params["page_size"])
        start = (int(req.params["page"]) - 1) * size
        total = 45 if req.params["q"] == "red panda" else 0
        results = [{"url": f"https://img.example.org/{i}.jpg", "title": f"Red panda {i}", "license": "by",
                    "license_version": "4.0", "creator": "Jane", "foreign_landing_url": f"https://example.org/{i}"}
                   for i in range(start, min(total, start + size))]
        return {"result_count": total, "page_count": -(-total // size), "results": results}

    return json_server(handler)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no ./ie.toml
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no user secrets
    for name in ("FLICKR_API_KEY", "OPENVERSE_CLIENT_ID", "OPENVERSE_CLIENT_SECRET", "IE_LAION_URL", "IE_LAION_INDEX"):
        monkeypatch.delenv(name, raising=False)


def run(app, *args):
    return CliRunner().invoke(app, ["search", *args])


def test_search_prints_a_table(app, openverse):
    result = run(app, "--engine", "openverse", "red panda", "--limit", "40", "--option", f"base_url={openverse.url}",
                 "-o", "rate_per_second=1000", "-o", "burst=1000")
    assert result.exit_code == 0, result.output
    assert "40 hits" in result.output and "https://img.example.org/39.jpg" in result.output
    assert "CC BY 4.0" in result.output and "rank" in result.output


def test_search_json(app, openverse):
    result = run(app, "-e", "openverse", "red panda", "-n", "25", "--json", "-o", f"base_url={openverse.url}",
                 "-o", "rate_per_second=1000", "-o", "burst=1000")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 25 and [h["rank"] for h in hits] == list(range(25))
    assert hits[0]["engine"] == "openverse" and hits[0]["query"] == "red panda" and hits[0]["license"] == "CC BY 4.0"


def test_missing_key_is_a_clean_error(app):
    result = run(app, "--engine", "flickr", "red panda")
    assert result.exit_code == 2
    assert "FLICKR_API_KEY" in result.output and "Traceback" not in result.output
    assert "[secrets]" in result.output  # not eaten as rich markup


def test_engine_errors_exit_2(app, openverse):
    openverse.queue(*[({"detail": "throttled"}, 429, {"Retry-After": "0"})] * 4)
    result = run(app, "-e", "openverse", "red panda", "-o", f"base_url={openverse.url}", "-o", "rate_per_second=1000")
    assert result.exit_code == 2 and "429" in result.output and "backoff" in result.output


def test_unknown_engine_and_unconfigured_laion(app):
    result = run(app, "-e", "no-such-engine", "x")
    assert result.exit_code == 2 and "no engine named 'no-such-engine'" in result.output
    result = run(app, "-e", "laion", "x")
    assert result.exit_code == 2 and "url and index" in result.output


def test_bad_option_syntax(app):
    result = run(app, "-e", "openverse", "x", "-o", "novalue")
    assert result.exit_code == 2


def test_parse_options():
    assert parse_options(["a=1", "b=2.5", "c=true", "d=text", "e=a=b"]) == {
        "a": 1, "b": 2.5, "c": True, "d": "text", "e": "a=b"}
