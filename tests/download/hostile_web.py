"""A loopback HTTP server for the downloader tests, and image makers (a uniquely named module, imported
by the tests directly: tests/ has no packages)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

Handler = Callable[[BaseHTTPRequestHandler], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Handler]
    hits: dict[str, int]

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hang up on purpose (too_large, timeouts): not worth a traceback


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = self.path
        self.server.hits[path] = self.server.hits.get(path, 0) + 1
        handler = self.server.routes.get(path)
        if handler is None:
            send(self, 404, b"not found", "text/plain")
            return
        try:
            handler(self)
        except (BrokenPipeError, ConnectionResetError):
            pass


def send(h: BaseHTTPRequestHandler, status: int, body: bytes = b"", ctype: str = "image/jpeg",
         headers: dict[str, str] | None = None) -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(body)


class LoopbackServer:
    """Routes: ``server.add(path, handler)`` or ``server.static(path, body, ...)``; ``server.url(path)``."""

    def __init__(self) -> None:
        self.httpd = _Server(("127.0.0.1", 0), _RequestHandler)
        self.httpd.routes = {}
        self.httpd.hits = {}
        self.port = self.httpd.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def add(self, path: str, handler: Handler) -> str:
        self.httpd.routes[path] = handler
        return self.url(path)

    def static(self, path: str, body: bytes, status: int = 200, ctype: str = "image/jpeg",
               headers: dict[str, str] | None = None) -> str:
        return self.add(path, lambda h: send(h, status, body, ctype, headers))

    def hits(self, path: str) -> int:
        return self.httpd.hits.get(path, 0)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def image_bytes(size: tuple[int, int] = (320, 240), fmt: str = "JPEG", mode: str = "RGB", seed: int = 0,
                **save: object) -> bytes:
    """A deterministic, textured test image (gradients + seed-dependent blocks, so hashes differ by seed)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * 255 // max(1, w - 1)), (y * 255 // max(1, h - 1)), ((x + y) * 127 // max(1, w + h))], -1)
    blocks = rng.integers(0, 255, (8, 8, 3))
    base = (base + blocks[(y * 8 // h), (x * 8 // w)]) // 2
    im = Image.fromarray(base.astype("uint8"), "RGB")
    if mode != "RGB":
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, fmt, **save)
    return buf.getvalue()


def slow_drip(total_seconds: float, step: float = 0.1) -> Handler:
    def handler(h: BaseHTTPRequestHandler) -> None:
        body = image_bytes()
        h.send_response(200)
        h.send_header("Content-Type", "image/jpeg")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        end = time.monotonic() + total_seconds
        i = 0
        while time.monotonic() < end and i < len(body):
            h.wfile.write(body[i:i + 16])
            h.wfile.flush()
            i += 16
            time.sleep(step)
    return handler
