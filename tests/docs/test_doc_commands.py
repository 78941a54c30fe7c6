"""Every `ie` command in a bash block of the README and the docs is one the CLI accepts (its options exist and
its values have the right types); the ones that run offline in seconds are run, and must succeed."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from ie.cli.app import app

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").rglob("*.md"))]
# commands that need no network, no weights download and finish in seconds: run for real
RUNNABLE = (("--help",), ("doctor",), ("plugins",), ("config", "show"), ("reproduce", "flowers102"))


def doc_commands() -> list[tuple[str, list[str]]]:
    found = []
    for page in PAGES:
        if not page.exists():
            continue
        for block in re.findall(r"```bash\n(.*?)```", page.read_text(), re.S):
            for line in block.replace("\\\n", " ").splitlines():
                words = shlex.split(line, comments=True)
                if "-m" in words and "ie" in words:  # torchrun ... -m ie train ...
                    words = words[words.index("ie"):]
                if words[:1] == ["ie"]:
                    found.append((f"{page.relative_to(REPO)}: {' '.join(words)}", [w for w in words[1:] if w != "..."]))
    return found


COMMANDS = doc_commands()


def test_the_docs_show_commands() -> None:
    assert len(COMMANDS) >= 25


@pytest.mark.parametrize("where,args", COMMANDS, ids=[where for where, _ in COMMANDS])
def test_doc_command_parses(where: str, args: list[str]) -> None:
    """Parse as the CLI would, without running: an option that does not exist or a value of the wrong type fails.
    Paths that must exist are the only values allowed to fail (the docs show the user's own files)."""
    command, name, rest = get_command(app), "ie", list(args)
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        assert rest[0] in command.commands, f"{where}: no command {rest[0]!r}"
        name, command, rest = rest[0], command.commands[rest[0]], rest[1:]
    try:
        command.make_context(name, rest, resilient_parsing=False)
    except Exception as err:  # typer may bundle its own click: its exceptions are matched by name
        kind = type(err).__name__
        if kind == "Exit":
            return  # --help
        assert kind == "BadParameter" and "does not exist" in str(err), f"{where}: {kind}: {err}"


@pytest.mark.parametrize("args", RUNNABLE, ids=" ".join)
def test_offline_doc_commands_run(args: tuple[str, ...], tmp_path: Path) -> None:
    shown = [a for _, a in COMMANDS]
    assert list(args) in shown, f"`ie {' '.join(args)}` is no longer in the docs: update RUNNABLE"
    result = subprocess.run([sys.executable, "-m", "ie", *args], capture_output=True, text=True, timeout=300,
                            cwd=REPO)
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    # doctor exits 1 when one of its checks fails on this machine (e.g. little disk): a finding, not a crash
    assert result.returncode in ((0, 1) if args == ("doctor",) else (0,)), result.stderr[-2000:]
    assert result.stdout.strip()


def test_the_defaults_the_docs_state_are_the_codes() -> None:
    """docs/index.md states the default budget in words; it must be ExploreConfig's."""
    from ie.config import ExploreConfig

    cfg = ExploreConfig()
    text = (REPO / "docs" / "index.md").read_text()
    assert (f"({cfg.arch} at {cfg.image_size} px, {cfg.queries_per_iter} queries of {cfg.images_per_query} images "
            "per iteration)") in " ".join(text.split())
    assert f"evaluation see the images at {cfg.feature_size} px (`feature_size`)" in " ".join(text.split())
    assert f"by default `{cfg.arch}`" in text and f'`init = "{cfg.init}"`' in text
