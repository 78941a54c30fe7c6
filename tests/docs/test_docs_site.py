"""The docs site builds with --strict, and its generated pages cover every command, config key, table and error."""

from __future__ import annotations

from pathlib import Path
import dataclasses
import os
import re
import shutil
import subprocess
import sys

import pytest

from ie.config import ExploreConfig
from ie.store.schema import MIGRATIONS

REPO = Path(__file__).resolve().parents[2]


def test_mkdocs_build_strict(tmp_path, docs_gen):
    mkdocs = shutil.which("mkdocs", path=str(os.path.dirname(sys.executable)))
    if mkdocs is None:
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([mkdocs, "build", "--strict", "-d", str(tmp_path / "site")], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "WARNING" not in out.stderr, out.stderr
    cli_page = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    for path in docs_gen.command_paths():
        assert path in cli_page, f"{path} missing from the built CLI reference"
    assert "<!-- ie:" not in (tmp_path / "site" / "troubleshooting" / "index.html").read_text()


def test_every_command_has_a_generated_section(docs_gen):
    paths = docs_gen.command_paths()
    assert {"ie explore", "ie doctor", "ie reproduce", "ie vocab list", "ie config show"} <= set(paths)
    reference = docs_gen.cli_reference()
    for path in paths:
        assert re.search(rf"^#+ {re.escape(path)}$", reference, re.M), path
    assert "--queries-per-iter" in reference and "--online" in reference


def test_config_reference_lists_every_field(docs_gen):
    reference = docs_gen.config_reference()
    for field in dataclasses.fields(ExploreConfig):
        assert f"| `{field.name}` |" in reference
        assert field.metadata["help"].split()[0] in reference


def test_store_schema_lists_every_table(docs_gen):
    schema = docs_gen.store_schema()
    tables: set[str] = set()
    for statements in MIGRATIONS.values():  # in order: a rebuilt table is created under a new name, then renamed
        for s in statements:
            tables.update(re.findall(r"CREATE TABLE (\w+)", s))
            for old, new in re.findall(r"ALTER TABLE (\w+) RENAME TO (\w+)", s):
                tables.discard(old)
                tables.add(new)
    for table in tables:
        assert f"### {table}" in schema


def test_plugin_pages_list_the_builtins(docs_gen):
    engines = docs_gen.plugin_reference("engine")
    for name in ("flickr", "openverse", "google", "laion", "wikimedia", "local", "simweb"):
        assert f"| `{name}` |" in engines
    assert "| `mocov3` |" in docs_gen.plugin_reference("ssl")


def test_error_catalogue_covers_typed_errors(docs_gen):
    catalogue = docs_gen.error_catalogue()
    for family in ("MissingCredentialsError", "EngineUnavailableError", "WeightsUnavailableError", "IEError"):
        assert f"### {family}" in catalogue
    assert "already holds a run with another config" in catalogue


def test_every_marker_in_the_docs_is_known(docs_gen):
    for page in (REPO / "docs").rglob("*.md"):
        for name, _ in docs_gen.MARKER.findall(page.read_text()):
            assert name in docs_gen.GENERATORS, f"{page}: unknown marker ie:{name}"
    with pytest.raises(KeyError):
        docs_gen.render_markers("<!-- ie:no-such-thing -->")
