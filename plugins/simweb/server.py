"""The simulated web's loopback HTTP server: rendered images plus deliberately broken URLs.

Routes (all GET, 127.0.0.1 only); ``<world>`` is ``s<seed>-<size>`` (e.g. ``s0-64``), so a URL alone fixes its bytes
and any simweb server, in any process, answers it the same way:
- ``/<world>/img/<slug>/<index>.jpg``               the image, JPEG-encoded on the fly (small LRU cache)
- ``/<world>/page/<slug>/<index>.html``             a tiny source page that embeds the image
- ``/<world>/broken/404/<token>.jpg``               404 Not Found
- ``/<world>/broken/500/<token>.jpg``               500 Internal Server Error
- ``/<world>/broken/html/<token>.jpg``              200 with ``text/html`` (not an image)
- ``/<world>/broken/truncated/<slug>/<index>.jpg``  200 ``image/jpeg`` with only the first 40% of the JPEG bytes

One server per process, started on first use and shut down at exit. It binds the preferred port
(``IE_SIMWEB_PORT``, default 47011) when free, so URLs stored by a run stay valid after ``ie resume`` in a new process,
and an OS-chosen port otherwise (``port=0`` asks for that directly). ``IE_SIMWEB_LATENCY_MS`` makes every image
answer wait that long, like a distant host (benchmarks: the downloads then wait on the network, not the CPU).
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading
import time
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ie_plugins.simweb.render import appearance_from_slug, render_jpeg

BROKEN_KINDS = ("404", "500", "html", "truncated")
HEALTH_PATH, HEALTH_BODY = "/simweb-health", b"simweb"
TRUNCATE_TO = 0.4
DEFAULT_PORT = 47011
_WORLD = r"^/s(\d{1,9})-(\d{1,4})"
_IMAGE = re.compile(_WORLD + r"/(img|broken/truncated)/([a-z-]+)/(\d{1,9})\.jpg$")
_PAGE = re.compile(_WORLD + r"/page/([a-z-]+)/(\d{1,9})\.html$")
_BROKEN = re.compile(_WORLD + r"/broken/(404|500|html)/([\w-]+)\.jpg$")
MAX_IMAGE_SIZE = 1024


@lru_cache(maxsize=2048)
def image_bytes(slug: str, index: int, seed: int, size: int) -> bytes | None:
    """The JPEG of one image, or None when ``slug`` names no concept."""
    appearance = appearance_from_slug(slug)
    return None if appearance is None else render_jpeg(appearance, index, seed, size)


def world_prefix(seed: int, image_size: int) -> str:
    return f"/s{int(seed)}-{int(image_size)}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "simweb/1"

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        path = self.path.split("?", 1)[0]
        if m := _IMAGE.match(path):
            if latency := float(os.environ.get("IE_SIMWEB_LATENCY_MS", 0) or 0):  # a distant host (benchmarks)
                time.sleep(latency / 1000)
            seed, size, route, slug, index = m.groups()
            if not 8 <= int(size) <= MAX_IMAGE_SIZE:
                return self._send(404, b"no such image size", "text/plain")
            data = image_bytes(slug, int(index), int(seed), int(size))
            if data is None:
                return self._send(404, b"no such concept", "text/plain")
            if route != "img":
                data = data[: int(len(data) * TRUNCATE_TO)]
            return self._send(200, data, "image/jpeg")
        if m := _PAGE.match(path):
            seed, size, slug, index = m.groups()
            img = f"{world_prefix(int(seed), int(size))}/img/{slug}/{index}.jpg"
            return self._send(200, f'<html><body><img src="{img}"></body></html>'.encode(), "text/html; charset=utf-8")
        if path == HEALTH_PATH:
            return self._send(200, HEALTH_BODY, "text/plain")
        if m := _BROKEN.match(path):
            kind = m.group(3)
            if kind == "html":
                return self._send(200, b"<!doctype html><html><body>Image removed</body></html>", "text/html")
            return self._send(int(kind), f"simweb: broken url ({kind})".encode(), "text/plain")
        self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "public, max-age=3600")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Silent: the downloader records every outcome itself."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that hang up early (timeouts, cancelled downloads) are normal here: stay quiet about them."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class SimWebServer:
    """A running loopback server; build URLs with :meth:`url_for` and :meth:`broken_url`."""

    def __init__(self, port: int = 0):
        self._httpd: _Server | None = None
        self._closed = threading.Event()
        try:
            self._httpd = _Server(("127.0.0.1", port), _Handler)
        except OSError:
            if port == 0:
                raise
            if not _is_simweb(port):  # taken by something else: our own server on a free port
                self._httpd = _Server(("127.0.0.1", 0), _Handler)
            # else another process's simweb server holds the port: every simweb server answers every URL
            # alike, so use it; URLs then stay the same across processes (a killed run's resume included)
        self.port = int(self._httpd.server_address[1]) if self._httpd else port
        self.base_url = f"http://127.0.0.1:{self.port}"
        if self._httpd is not None:
            self._serve()
        else:  # borrowed: when the holder exits, take the port over so our URLs keep answering
            threading.Thread(target=self._watch_holder, name=f"simweb-watch-{self.port}", daemon=True).start()

    @property
    def borrowed(self) -> bool:
        """True while another process's server answers this server's URLs."""
        return self._httpd is None

    def _serve(self) -> None:
        assert self._httpd is not None
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"simweb-{self.port}", daemon=True)
        self._thread.start()

    def _watch_holder(self, interval: float = 0.2) -> None:
        while not self._closed.wait(interval):
            if _is_simweb(self.port):
                continue
            try:
                self._httpd = _Server(("127.0.0.1", self.port), _Handler)
            except OSError:  # someone else bound it first; if it is a simweb server we keep borrowing
                continue
            if self._closed.is_set():
                self._httpd.server_close()
                self._httpd = None
                return
            self._serve()
            return

    def url_for(self, slug: str, index: int, seed: int = 0, image_size: int = 64) -> str:
        return f"{self.base_url}{world_prefix(seed, image_size)}/img/{slug}/{int(index)}.jpg"

    def page_for(self, slug: str, index: int, seed: int = 0, image_size: int = 64) -> str:
        return f"{self.base_url}{world_prefix(seed, image_size)}/page/{slug}/{int(index)}.html"

    def broken_url(self, kind: str, slug: str, index: int, seed: int = 0, image_size: int = 64) -> str:
        """A URL that fails in the way ``kind`` (one of :data:`BROKEN_KINDS`) says."""
        prefix = f"{self.base_url}{world_prefix(seed, image_size)}/broken"
        if kind == "truncated":
            return f"{prefix}/truncated/{slug}/{int(index)}.jpg"
        if kind not in BROKEN_KINDS:
            raise ValueError(f"unknown broken kind {kind!r}")
        return f"{prefix}/{kind}/{slug}-{int(index)}.jpg"

    def close(self) -> None:
        self._closed.set()
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


_server: SimWebServer | None = None
_lock = threading.Lock()


def _is_simweb(port: int) -> bool:
    from urllib.request import ProxyHandler, build_opener

    try:  # no proxy: loopback only
        opener = build_opener(ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{port}{HEALTH_PATH}", timeout=2) as response:
            return response.read() == HEALTH_BODY
    except OSError:
        return False


def preferred_port() -> int:
    return int(os.environ.get("IE_SIMWEB_PORT", DEFAULT_PORT))


def get_server(port: int | None = None) -> SimWebServer:
    """The process's server, started on first use (on ``port``, default :func:`preferred_port`, if free)."""
    global _server
    with _lock:
        if _server is None:
            _server = SimWebServer(preferred_port() if port is None else int(port))
        return _server


def url_for(slug: str, index: int, seed: int = 0, image_size: int = 64) -> str:
    """The URL of image ``index`` of concept ``slug`` (starts the server if needed)."""
    return get_server().url_for(slug, index, seed, image_size)


@atexit.register
def shutdown() -> None:
    """Stop this process's server (also registered with atexit)."""
    global _server
    with _lock:
        server, _server = _server, None
    if server is not None:
        server.close()
