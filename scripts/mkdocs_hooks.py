"""mkdocs hooks (``hooks:`` in mkdocs.yml): fill the ``<!-- ie:NAME -->`` markers of docs/*.md with
sections generated from the code by :mod:`docs_gen` (CLI reference, configuration, plugins, store
schema, error catalogue, paper numbers, benchmark figures)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import docs_gen  # noqa: E402


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return docs_gen.render_markers(markdown)
