"""The layering rules (core never imports a plugin; plugins use only ie.api) hold."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_import_linter_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is not installed"
    out = subprocess.run([lint, "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 kept, 0 broken" in out.stdout


def test_cli_help_does_not_import_heavy_libraries():
    code = "import sys, ie.cli.app; print(sorted(m for m in ('torch', 'timm', 'lightly', 'open_clip') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_modules_stay_short():
    long = [str(p.relative_to(REPO)) for folder in ("ie", "plugins") for p in (REPO / folder).rglob("*.py")
            if sum(1 for _ in p.open()) > 450]
    assert not long, f"modules over 450 lines: {long}"


def test_plugin_contract_forbids_every_core_module():
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    forbidden = set(next(c for c in config if c["source_modules"] == ["ie_plugins"])["forbidden_modules"])
    core = {f"ie.{p.stem}" for p in (REPO / "ie").iterdir()
            if (p.suffix == ".py" or (p / "__init__.py").exists()) and p.stem not in ("__init__", "__main__")}
    assert core - {"ie.api", "ie.testing"} == forbidden
