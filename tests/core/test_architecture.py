"""The layering rules hold: core never imports a plugin, plugins use only ie.api, arrows only go down, no import
cycles, and SQL lives only in the store package."""

from __future__ import annotations

import re
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
    assert "3 kept, 0 broken" in out.stdout


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


def import_cycles(package: str, type_checking: bool = True) -> list[list[str]]:
    """Strongly connected groups of modules of ``package`` that import each other (imports inside functions count;
    so do those under ``TYPE_CHECKING`` unless ``type_checking`` is False: a circle a type checker follows is a
    circle a reader follows too)."""
    import grimp

    graph = grimp.build_graph(package, exclude_type_checking_imports=not type_checking, cache_dir=None)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycles_in_core_or_plugins():
    assert import_cycles("ie") == []
    assert import_cycles("ie_plugins") == []


def test_the_cycle_check_finds_a_cycle(tmp_path, monkeypatch):
    (tmp_path / "cyclic").mkdir()
    (tmp_path / "cyclic" / "__init__.py").write_text("")
    (tmp_path / "cyclic" / "a.py").write_text("def f():\n    from cyclic import b\n")
    (tmp_path / "cyclic" / "b.py").write_text("from cyclic import a\n")
    (tmp_path / "cyclic" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cyclic import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("cyclic") == [["cyclic.a", "cyclic.b"]]


SQL = re.compile(r"\b(SELECT\s+\S|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX))")


def sql_outside_the_store(root: Path) -> list[str]:
    """``file:line`` of every SQL statement or raw ``.query(`` call in ``ie/`` (outside ``ie/store/``) and ``plugins/``."""
    found = []
    for folder in ("ie", "plugins"):
        for path in sorted((root / folder).rglob("*.py")):
            if path.is_relative_to(root / "ie" / "store"):
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if SQL.search(line) or re.search(r"\bstore\.query\(", line):
                    found.append(f"{path.relative_to(root)}:{number}")
    return found


def test_sql_lives_only_in_the_store_package():
    assert sql_outside_the_store(REPO) == []


def test_the_sql_check_finds_sql(tmp_path):
    (tmp_path / "ie" / "store").mkdir(parents=True)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "ie" / "store" / "ok.py").write_text('q = "SELECT * FROM images"\n')
    (tmp_path / "ie" / "report.py").write_text('rows = store.query("SELECT name FROM concepts")\n')
    (tmp_path / "plugins" / "p.py").write_text('c.execute("INSERT OR IGNORE INTO replay VALUES (1)")\n')
    assert sql_outside_the_store(tmp_path) == ["ie/report.py:1", "plugins/p.py:1"]
