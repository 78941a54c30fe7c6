"""The clipart engine: BM25 over the captions of a preset's corpus (every openclipart PNG except that preset's
target images), served by the built-in local engine over loopback HTTP, with known ground truth.

Options: ``target`` (the preset; default the preset of a clipart target loaded in this process, else
``animals``), ``root``, ``cache_dir``, ``target_fraction``, ``workers`` (as the target), ``relevance_depth``
(16), and the local engine's ``host``/``port``. The corpus is materialised on first use, not at construction,
so that a target loaded after the engine was built still picks the preset.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from ie.api import SearchEngine, SearchPage
from ie_plugins.clipart.options import ENGINE_OPTIONS
from ie_plugins.clipart.data import Manifest, prepare, preset_name, preset_of
from ie_plugins.engines.local import LocalEngine

LICENSE = "public domain (openclipart.org, Creative Commons Public Domain Dedication)"


class ClipartEngine(SearchEngine):
    """Search over openclipart-png; :meth:`relevance` is the share of relevant images among a query's top hits."""

    name: ClassVar[str] = "clipart"
    max_per_page: ClassVar[int] = 1000
    default_rate_per_second: ClassVar[float] = 1000.0
    default_burst: ClassVar[float] = 1000.0
    serves_private_urls: ClassVar[bool] = True
    OPTIONS = ENGINE_OPTIONS

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        self._lock = threading.Lock()
        self._local: LocalEngine | None = None
        self._manifest: Manifest | None = None
        self._folder: Path | None = None
        self._preset: str | None = None
        self.depth = int(self.options["relevance_depth"])

    @property
    def preset(self) -> str:
        """Option ``target``, else the run's clipart target's (host option ``target_spec``), else ``animals``;
        fixed once used."""
        return self._preset or preset_name(self.options["target"] or preset_of(self.options.get("target_spec")))

    @property
    def local(self) -> LocalEngine:
        """The wrapped local engine over ``<cache_dir>/clipart/<preset>/corpus`` (materialised first if needed)."""
        with self._lock:
            if self._local is None:
                options, self._preset = self.options, self.preset
                self._folder, self._manifest = prepare(
                    self.preset, root=options["root"], cache_dir=options.get("cache_dir"),
                    target_fraction=float(options["target_fraction"]), workers=options["workers"],
                )
                local = {k: options[k] for k in ("host", "port") if options[k] is not None}
                self._local = LocalEngine({**local, "path": str(self._folder / "corpus"), "mode": "bm25"})
            return self._local

    @property
    def manifest(self) -> Manifest:
        self.local  # noqa: B018 - materialises
        assert self._manifest is not None
        return self._manifest

    @property
    def corpus_dir(self) -> Path:
        self.local  # noqa: B018
        assert self._folder is not None
        return self._folder / "corpus"

    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        result = self.local.search_page(query, page, per_page)
        hits = [dataclasses.replace(hit, engine=self.name, license=LICENSE) for hit in result.hits]
        return SearchPage(hits, has_more=result.has_more)

    def is_relevant(self, path: str | Path) -> bool:
        """Ground truth: whether a corpus image (its path, absolute or relative to the corpus) is relevant."""
        path = Path(path)
        if path.is_absolute():
            if not path.is_relative_to(self.corpus_dir):
                return False
            path = path.relative_to(self.corpus_dir)
        return self.manifest.corpus.get(f"corpus/{path.with_suffix('.jpg').as_posix()}", False)

    def image_relevance(self, url: str) -> bool | None:
        """Ground truth for a URL this engine served (``.../f/<index>/<name>``); None for any other URL."""
        import urllib.parse

        parts = urllib.parse.urlsplit(url).path.split("/")
        if len(parts) < 4 or parts[1] != "f" or not parts[2].isdigit():
            return None
        items = self.local.items
        index = int(parts[2])
        if index >= len(items) or items[index].file is None or items[index].file.name != urllib.parse.unquote(parts[3]):
            return None
        return self.is_relevant(items[index].file)

    def relevant_files(self) -> list[Path]:
        """Every relevant image of the corpus (those under the preset's top folder, symlinked copies included)."""
        base = self.corpus_dir.parent
        return [base / path for path, relevant in self.manifest.corpus.items() if relevant]

    def other_files(self) -> list[Path]:
        """Every corpus image that is not relevant (the complement of :meth:`relevant_files`)."""
        base = self.corpus_dir.parent
        return [base / path for path, relevant in self.manifest.corpus.items() if not relevant]

    def relevance(self, query: str) -> float:
        """Ground truth: the share of relevant images among the first ``relevance_depth`` hits; 0.0 without hits."""
        local = self.local
        top = local.rank(query)[: self.depth]
        if not top:
            return 0.0
        files = [local.items[i].file for i in top]
        return sum(self.is_relevant(f) for f in files if f is not None) / len(top)

    def serve(self) -> None:
        self.local.serve()

    def close(self) -> None:
        with self._lock:
            if self._local is not None:
                self._local.close()
