"""``--option key=value`` parsing shared by the commands (not a command module: its name starts with _)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import typer


def parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    """``["key=value", ...]`` -> options; values parsed as JSON when they parse (numbers, booleans, lists)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected key=value, got {pair!r}", param_hint="--option")
        try:
            options[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            options[key.strip()] = raw
    return options
