"""A loopback Flickr for the offline real-web rehearsal: ``flickr.photos.search`` in the shape its documents give
(https://www.flickr.com/services/api/flickr.photos.search.html, response.json.html, misc.urls.html), answered from a
folder of images (named ``wNNN.jpg``) that the same server hosts, with Flickr's failures scripted in: throttling (HTTP
429, an HTML page, no Retry-After), a spent quota (429 with a Retry-After longer than a run waits), a dead spell of the
image host and pictures whose host stays down (HTTP 503)."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

THROTTLE_PAGE = (b"<html><head><title>429 Too Many Requests</title><style>h1{color:#333}</style></head>"
                 b"<body><h1>Too Many Requests</h1></body></html>")
LICENCE_IDS = ("4", "9", "5", "0", "11")  # CC BY 2.0, CC0, CC BY-SA 2.0, All Rights Reserved, CC BY 4.0


@dataclass
class Script:
    """Which search calls (counted from 1, the key check excluded) fail how, and the image host's dead spell."""

    throttled: tuple[int, ...] = (3, 4)
    quota_at: int = 6
    quota_seconds: float = 2.0
    dead_images: range = range(10, 18)  # image requests answered 503 (a passing outage: retries get through)
    down_every: int = 9  # every 9th picture's host stays down (503 on every attempt): recorded with its reason


@dataclass
class FlickrDouble:
    images: list[Path]
    api_key: str
    script: Script = field(default_factory=Script)
    search_calls: int = 0
    image_calls: int = 0
    requests: list[dict[str, str]] = field(default_factory=list)
    _quota_until: float = 0.0

    def __post_init__(self) -> None:
        double = self
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                split = urllib.parse.urlsplit(self.path)
                status, headers, body = double.answer(split.path, dict(urllib.parse.parse_qsl(split.query)))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ------------------------------------------------------------------------------------------
    def answer(self, path: str, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/img/"):
            return self._image(path.removeprefix("/img/"))
        with self._lock:
            self.requests.append(params)
            if params.get("api_key") != self.api_key:
                return _json({"stat": "fail", "code": 100, "message": "Invalid API Key (Key has invalid format)"})
            if int(params.get("per_page", 0)) <= 1:  # the run's key check: one result of a common word
                return _json(self._photos(params, 1, 1))
            self.search_calls += 1
            n, left = self.search_calls, self._quota_until - time.time()
            if n == self.script.quota_at or left > 0:
                if n == self.script.quota_at:
                    self._quota_until, left = time.time() + self.script.quota_seconds, self.script.quota_seconds
                return 429, {"Content-Type": "text/html", "Retry-After": str(math.ceil(left))}, THROTTLE_PAGE
            if n in self.script.throttled:
                return 429, {"Content-Type": "text/html; charset=utf-8"}, THROTTLE_PAGE
        return _json(self._photos(params, int(params.get("page", 1)), int(params["per_page"])))

    def _photos(self, params: dict[str, str], page: int, per_page: int) -> dict[str, Any]:
        """A seeded selection of the folder's images for the text, filtered by ``license`` as Flickr does."""
        wanted = set(params["license"].split(",")) if params.get("license") else None
        order = sorted(range(len(self.images)),
                       key=lambda i: hashlib.sha256(f"{params.get('text')}:{i}".encode()).hexdigest())
        matches = [i for i in order[: len(order) // 2] if wanted is None or _licence(i) in wanted]
        chunk = matches[(page - 1) * per_page: page * per_page]
        photos = []
        for i in chunk:
            owner = f"{1000 + i % 7}@N0{i % 3}"
            photo: dict[str, Any] = {
                "id": str(50_000 + i), "owner": owner, "secret": "abc", "server": "65535", "farm": 66,
                "title": f"photo {i}", "ispublic": 1, "isfriend": 0, "isfamily": 0, "license": _licence(i),
                "ownername": f"Creator {i % 7}", "o_width": "800", "o_height": "600"}
            if i % 11 != 5:  # now and then a photo without the medium-640 size: the next size is used
                photo.update({"url_z": f"{self.url}/img/{self.images[i].name}", "height_z": 48, "width_z": 48})
            else:
                photo.update({"url_m": f"{self.url}/img/{self.images[i].name}", "height_m": "48", "width_m": "48"})
            photo.update({"url_q": f"{self.url}/img/{self.images[i].name}", "height_q": 48, "width_q": 48})
            photos.append(photo)
        pages = max(1, math.ceil(len(matches) / per_page))
        return {"photos": {"page": page, "pages": pages, "perpage": per_page, "total": str(len(matches)),
                           "photo": photos}, "stat": "ok"}

    def _image(self, name: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.image_calls += 1
            dead = self.image_calls in self.script.dead_images
        if dead or int(name[1:4]) % self.script.down_every == 4:
            return 503, {"Content-Type": "text/plain"}, b"upstream down"
        path = next((p for p in self.images if p.name == name), None)
        if path is None:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        return 200, {"Content-Type": "image/jpeg"}, path.read_bytes()


def _licence(i: int) -> str:
    return LICENCE_IDS[i % len(LICENCE_IDS)]


def _json(body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(body).encode()
