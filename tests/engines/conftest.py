"""Shared fixtures of the engine tests: a loopback JSON server (stdlib only) and a fake clock."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ie.testing.engine_contract import FakeClock


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]  # last value of each query-string key
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in urllib.parse.parse_qs(self.body.decode()).items()}


@dataclass
class Reply:
    """What the server answers: ``body`` is JSON-encoded unless it is bytes/str."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Any]  # returns a JSON-able body, or (body, status[, headers]), or a Reply


def as_reply(value: Any) -> Reply:
    if isinstance(value, Reply):
        return value
    if isinstance(value, tuple):
        return Reply(*value)
    return Reply(value)


class JsonServer:
    """A loopback HTTP server answering with ``handler(request)``; records every request.

    ``queue(reply, ...)`` makes the next requests get canned replies (429s, garbage) before the handler;
    a reply is a body, a ``(body, status[, headers])`` tuple or a :class:`Reply`.
    """

    def __init__(self, handler: Handler):
        self.handler = handler
        self.requests: list[Request] = []
        self._queued: list[Reply] = []
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                split = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command, split.path, {k: v[-1] for k, v in urllib.parse.parse_qs(split.query).items()},
                    {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length) if length else b"",
                )
                server.requests.append(request)
                reply = as_reply(server._queued.pop(0) if server._queued else server.handler(request))
                body = reply.body
                data = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def queue(self, *replies: Any) -> None:
        self._queued.extend(replies)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def json_server() -> Iterator[Callable[[Handler], JsonServer]]:
    """Factory: ``server = json_server(handler)``; every server is shut down after the test."""
    servers: list[JsonServer] = []

    def make(handler: Handler) -> JsonServer:
        servers.append(JsonServer(handler))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def paged() -> Callable[[int, int, int], range]:
    """``paged(total, page, per_page)``: indices of the results on ``page`` (from 1) of ``total`` results."""

    def indices(total: int, page: int, per_page: int) -> range:
        start = (page - 1) * per_page
        return range(min(start, total), min(start + per_page, total))

    return indices
