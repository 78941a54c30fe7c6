"""A loopback HTTP server for tests: generated images, plus any canned responses a test adds."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Handler = Callable[[BaseHTTPRequestHandler], None]


def generated_jpeg(seed: int, size: tuple[int, int] = (96, 72)) -> bytes:
    """A deterministic, non-trivial JPEG (gradient + noise), different for every seed."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    w, h = size
    base = np.linspace(0, 255, w, dtype=np.float32)[None, :, None] * rng.random(3, dtype=np.float32)
    pixels = np.clip(base + rng.normal(0, 40, (h, w, 3)), 0, 255).astype("uint8")
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@dataclass
class ImageServer:
    """``/img/<n>.jpg`` serves generated image n; ``routes[path]`` overrides with a custom handler."""

    host: str = "127.0.0.1"
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                server.requests.append(self.path)
                route = server.routes.get(self.path)
                if route is not None:
                    route(self)
                    return
                if self.path.startswith("/img/") and self.path.endswith(".jpg"):
                    try:
                        n = int(self.path[5:-4])
                    except ValueError:
                        self.send_error(404)
                        return
                    body = generated_jpeg(n)
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_error(404)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer((self.host, 0), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def image_urls(self, n: int, start: int = 0) -> list[str]:
        return [self.url(f"/img/{i}.jpg") for i in range(start, start + n)]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
