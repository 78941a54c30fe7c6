"""Fixtures of the downloader tests: one loopback server per session and guarded, fast options."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hostile_web import LoopbackServer

from ie.download import DownloadOptions


@pytest.fixture(scope="session")
def server() -> Iterator[LoopbackServer]:
    srv = LoopbackServer()
    yield srv
    srv.close()


@pytest.fixture()
def options(server: LoopbackServer) -> DownloadOptions:
    """Guard on, only this server's exact host:port allowed; short timeouts so the suite stays fast."""
    return DownloadOptions(
        allowed_hosts=frozenset({server.host}), connect_timeout=2, read_timeout=1.0, total_timeout=1.5,
        retries=2, backoff_base=0.01, backoff_max=0.05, max_retry_after=2, max_bytes=2_000_000,
        concurrency=8, per_host=8, workers=2, dns_timeout=2, executor="thread",
    )
