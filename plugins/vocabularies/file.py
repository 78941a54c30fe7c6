"""``file``: concepts from a text or CSV/TSV file (option ``path``).

* ``.txt`` (or anything else): one concept per line; blank lines and lines starting with ``#`` are
  skipped; an optional description may follow a tab.
* ``.csv`` / ``.tsv``: first column the concept, optional second column a description; a header row
  whose first cell is ``name``, ``concept`` or ``label`` is skipped.

The embedder sees ``"{name}: {description}"`` (or just the name). Duplicate names keep the first row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ie.api import Concept, PluginError, Vocabulary, hookimpl
from ie.api import Option

HEADER_WORDS = {"name", "concept", "label", "class", "query"}


def read_rows(path: Path) -> Iterator[tuple[str, str]]:
    """(name, description) pairs from ``path``, by its extension."""
    text = path.read_text(encoding="utf-8-sig")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        reader = csv.reader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ",")
        for i, row in enumerate(reader):
            if not row or not row[0].strip() or (i == 0 and row[0].strip().lower() in HEADER_WORDS):
                continue
            yield row[0].strip(), (row[1].strip() if len(row) > 1 else "")
        return
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, desc = line.partition("\t")
        yield name.strip(), desc.strip()


class FileVocabulary(Vocabulary):
    """Options: ``path`` (required)."""

    OPTIONS = (Option("path", str, None, "a .txt (one concept per line), .csv or .tsv file"),)


    name = "file"

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        if not self.options["path"]:
            raise PluginError("vocabulary 'file' needs option path (a .txt, .csv or .tsv file of concepts)")
        self.path = Path(self.options["path"]).expanduser()
        self._concepts: list[Concept] | None = None

    def concepts(self) -> Sequence[Concept]:
        if self._concepts is None:
            if not self.path.is_file():
                raise PluginError(f"vocabulary 'file': no such file {self.path}")
            seen: set[str] = set()
            out = []
            for name, desc in read_rows(self.path):
                if name in seen:
                    continue
                seen.add(name)
                out.append(Concept(id=f"file:{name}", name=name, text=f"{name}: {desc}" if desc else name,
                                   vocabulary="file", definition=desc or None))
            self._concepts = out
        return self._concepts


@hookimpl
def ie_register_vocabularies(register):  # type: ignore[no-untyped-def]
    register("file", FileVocabulary, help="concepts from a .txt/.csv/.tsv file (option path)")
