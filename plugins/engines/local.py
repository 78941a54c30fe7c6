"""Search over the user's own collection: the engine for offline and air-gapped users.

Option ``path`` is either a folder of images (searched recursively; the caption of ``a/b/cat_01.jpg``
is the text of a sidecar ``cat_01.txt`` or the ``caption``/``text``/``title`` of ``cat_01.json``, else
the file name and folder names) or a table (``.csv``, ``.tsv``, ``.parquet``) with a ``url`` or ``path``
column and a ``caption``/``text``/``title`` column (relative paths are relative to the table).

Ranking: BM25 (rank_bm25) over captions; with option ``clip_weights`` (a local open_clip checkpoint,
``clip_model`` names the architecture, default ViT-B-32) text-to-image CLIP similarity over the local
image files instead, with image embeddings cached in ``cache_dir`` (default ~/.cache/ie/local-clip).
``mode`` = ``bm25`` | ``clip`` forces one.

How hits point at files: the downloader refuses ``file://`` URLs, so the engine serves the indexed files
(and only those) over HTTP on a loopback port it opens itself (a thread on ``host``=127.0.0.1,
``port``=0 meaning random; fix the port to keep URLs stable across resumes) and declares
``serves_private_urls = True`` so the downloader's SSRF guard lets these URLs through. Rows of a table
that already hold http(s) URLs are returned as given. The server lives as long as the engine
(``close()`` stops it), so hits are only fetchable from this machine while the engine is open.
"""

from __future__ import annotations

import csv
import json
import mimetypes
import os
import re
import shutil
import threading
import urllib.parse
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from ie.api import EngineUnavailableError, Hit, SearchEngine, SearchPage, hookimpl
from ie.api import Option

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
URL_COLUMNS = ("url", "path", "file", "filepath", "image", "filename")
CAPTION_COLUMNS = ("caption", "text", "title", "description", "label")
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True)
class Item:
    caption: str
    file: Path | None = None  # a local file, served over loopback
    url: str | None = None  # an http(s) URL from a table, returned as given


def _sidecar_caption(image: Path) -> str | None:
    txt, js = image.with_suffix(".txt"), image.with_suffix(".json")
    if txt.is_file():
        return txt.read_text(encoding="utf-8", errors="replace").strip() or None
    if js.is_file():
        try:
            data = json.loads(js.read_text(encoding="utf-8"))
        except ValueError:
            return None
        if isinstance(data, dict):
            return next((str(data[k]) for k in CAPTION_COLUMNS if data.get(k)), None)
    return None


def scan_folder(root: Path) -> list[Item]:
    items = []
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()):
        rel = path.relative_to(root)
        name = " ".join([*rel.parent.parts, rel.stem]).replace("_", " ").replace("-", " ")
        items.append(Item(caption=_sidecar_caption(path) or name, file=path))
    return items


def read_table(table: Path) -> list[Item]:
    if table.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        rows: list[dict[str, Any]] = pq.read_table(table).to_pylist()
    else:
        with table.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t" if table.suffix.lower() == ".tsv" else ","))
    if not rows:
        return []
    columns = {c.lower(): c for c in rows[0]}
    url_col = next((columns[c] for c in URL_COLUMNS if c in columns), None)
    cap_col = next((columns[c] for c in CAPTION_COLUMNS if c in columns), None)
    if url_col is None:
        raise EngineUnavailableError("local", f"{table} needs a column named one of {', '.join(URL_COLUMNS)}")
    items = []
    for row in rows:
        ref = str(row.get(url_col) or "").strip()
        if not ref:
            continue
        caption = str(row.get(cap_col) or "") if cap_col else ""
        if urllib.parse.urlsplit(ref).scheme in ("http", "https"):
            items.append(Item(caption=caption or ref.rsplit("/", 1)[-1], url=ref))
        else:
            file = Path(ref) if Path(ref).is_absolute() else table.parent / ref
            items.append(Item(caption=caption or file.stem.replace("_", " "), file=file))
    return items


class _FileServer:
    """Serves a fixed list of files at ``/f/<index>/<name>`` on a loopback port (GET and HEAD only)."""

    def __init__(self, files: dict[int, Path], host: str, port: int):
        server_files = files

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:  # noqa: N802
                self._serve(body=False)

            def do_GET(self) -> None:  # noqa: N802
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                parts = urllib.parse.urlsplit(self.path).path.split("/")
                file = server_files.get(int(parts[2])) if len(parts) >= 3 and parts[2].isdigit() else None
                if parts[1:2] != ["f"] or file is None or not file.is_file():
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", mimetypes.guess_type(file.name)[0] or "application/octet-stream")
                self.send_header("Content-Length", str(file.stat().st_size))
                self.end_headers()
                if body:
                    with file.open("rb") as f:
                        shutil.copyfileobj(f, self.wfile)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="ie-local-engine", daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def preferred_port(path: Path) -> int:
    """A loopback port derived from ``path`` (40000-59999): the same in every process that serves that path."""
    return 40000 + zlib.crc32(str(path.resolve()).encode("utf-8")) % 20000


class LocalEngine(SearchEngine):
    """BM25 (or CLIP) search over a folder or caption table; local files served over loopback HTTP."""

    OPTIONS = SearchEngine.OPTIONS + (
        Option("path", str, None, "image folder, or a .csv/.tsv/.jsonl caption table (default: $IE_LOCAL_PATH)"),
        Option("mode", str, None, "bm25 (captions, file names) | clip (needs clip_weights)"),
        Option("clip_weights", str, None, "an open_clip checkpoint file for CLIP text-to-image search"),
        Option("clip_model", str, "ViT-B-32", "the checkpoint's open_clip architecture"),
        Option("batch_size", int, 64, "images per CLIP forward pass when indexing"),
        Option("device", str, "cpu", "where CLIP runs"),
        Option("min_similarity", float, -1.0, "CLIP hits below this cosine are dropped"),
        Option("host", str, "127.0.0.1", "address the loopback file server binds"),
        Option("port", int, None, "its port (default: one derived from path, the same in every process, so hits "
                                  "found before an ie resume still answer; 0: any free one)"),
    )


    name: ClassVar[str] = "local"
    max_per_page: ClassVar[int] = 1000
    default_rate_per_second: ClassVar[float] = 1000.0
    default_burst: ClassVar[float] = 1000.0
    serves_private_urls: ClassVar[bool] = True

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        path = self.options["path"] or os.environ.get("IE_LOCAL_PATH")
        if not path:
            raise EngineUnavailableError(self.name, "set option path (a folder of images or a .csv/.parquet table)")
        self.path = Path(str(path)).expanduser()
        if not self.path.exists():
            raise EngineUnavailableError(self.name, f"path {self.path} does not exist")
        self.mode = str(self.options["mode"] or ("clip" if self.options["clip_weights"] else "bm25"))
        if self.mode not in ("bm25", "clip"):
            raise EngineUnavailableError(self.name, f"mode must be bm25 or clip, not {self.mode!r}")
        self.items = scan_folder(self.path) if self.path.is_dir() else read_table(self.path)
        self._lock = threading.Lock()
        self._bm25: Any = None
        self._docs: list[set[str]] = []
        self._clip: Any = None
        self._server: _FileServer | None = None
        self._ranked: dict[str, list[int]] = {}

    # ranking -------------------------------------------------------------------------------------
    def rank(self, query: str) -> list[int]:
        """Indices of matching items, best first (cached per query)."""
        with self._lock:
            if query not in self._ranked:
                self._ranked[query] = self._rank_clip(query) if self.mode == "clip" else self._rank_bm25(query)
                if len(self._ranked) > 256:
                    self._ranked.pop(next(iter(self._ranked)))
            return self._ranked[query]

    def _rank_bm25(self, query: str) -> list[int]:
        terms = tokenize(query)
        if not terms or not self.items:
            return []
        if self._bm25 is None:
            from rank_bm25 import BM25Okapi

            self._docs = [set(tokenize(item.caption)) or {""} for item in self.items]
            self._bm25 = BM25Okapi([sorted(doc) for doc in self._docs])
        scores = self._bm25.get_scores(terms)
        matching = [i for i, doc in enumerate(self._docs) if doc.intersection(terms)]
        return sorted(matching, key=lambda i: (-float(scores[i]), i))

    def _rank_clip(self, query: str) -> list[int]:
        if self._clip is None:
            from ie_plugins.engines._local_clip import ClipIndex

            self._clip = ClipIndex(self.options, [item.file for item in self.items])
        return self._clip.rank(query, min_similarity=float(self.options["min_similarity"]))

    # serving -------------------------------------------------------------------------------------
    def _url(self, i: int) -> str:
        item = self.items[i]
        if item.url:
            return item.url
        assert item.file is not None
        return f"{self._serving().base_url}/f/{i}/{urllib.parse.quote(item.file.name)}"

    def _serving(self) -> _FileServer:
        with self._lock:
            if self._server is None:
                files = {j: it.file for j, it in enumerate(self.items) if it.file is not None}
                host, port = str(self.options["host"]), self.options["port"]
                if port is None:  # the port this path gets in every process; a free one when it is taken
                    try:
                        self._server = _FileServer(files, host, preferred_port(self.path))
                    except OSError:
                        self._server = _FileServer(files, host, 0)
                else:
                    self._server = _FileServer(files, host, int(port))
            return self._server

    def serve(self) -> None:
        if any(item.file is not None for item in self.items):
            self._serving()

    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        ranked = self.rank(query)
        start = (page - 1) * per_page
        hits = []
        for rank, i in enumerate(ranked[start : start + per_page], start=start):
            item = self.items[i]
            url = self._url(i)
            hits.append(Hit(
                url=url, engine=self.name, query=query, rank=rank, thumbnail_url=url, title=item.caption,
                source_page=None if item.file else item.url,
                extra={"file": str(item.file)} if item.file else {},
            ))
        return SearchPage(hits, has_more=start + per_page < len(ranked))

    def close(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.close()
                self._server = None


@hookimpl
def ie_register_engines(register: Any) -> None:
    register("local", LocalEngine, help="your own image folder or caption table (option path; BM25, or CLIP with clip_weights)")
