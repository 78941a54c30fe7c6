"""Retries that heal: transient failures (timeouts, connection errors, 429, 5xx) are retried by later runs up to a
cap of attempts kept in the run store, permanent ones never; and a URL's whole time is bounded by one deadline."""

from __future__ import annotations

import time

import pytest
from hostile_web import LoopbackServer, image_bytes, send

from ie.api import DownloadOutcome, Outcome, RetryPolicy
from ie.download import DownloadOptions, download_to_store
from ie.store import RunStore


def fails_then_succeeds(failures: int, status: int = 503):
    seen = {"n": 0}

    def handler(h) -> None:  # noqa: ANN001
        seen["n"] += 1
        if seen["n"] <= failures:
            send(h, status, b"busy", "text/plain")
        else:
            send(h, 200, image_bytes((300, 200), seed=77))
    return handler


@pytest.mark.parametrize("status", [503, 429, 500])
def test_a_url_that_fails_twice_then_succeeds_heals_on_the_third_run(tmp_path, server: LoopbackServer,
                                                                     options: DownloadOptions, status: int) -> None:
    url = server.add(f"/retry/flaky-{status}.jpg", fails_then_succeeds(2, status))
    gone = server.static(f"/retry/gone-{status}.jpg", b"gone", status=410, ctype="text/plain")
    once = options.replace(retries=0, retry_backoff=0.0, max_attempts=3)  # one request per run
    with RunStore.open(tmp_path / "run") as store:
        for run in (1, 2):
            summary = download_to_store([url, gone], store, iteration=0, options=once, progress=False)
            assert summary.ok == 0 and summary.transient == 1, run
            assert store.download_attempts(url) == run
        assert store.pending_retries() == 1
        summary = download_to_store([url, gone], store, iteration=0, options=once, progress=False)
        assert summary.ok == 1 and summary.skipped == 1  # the 410 is permanent: never asked again
        assert store.download_attempts(url) == 3 and store.pending_retries() == 0
        assert store.outcome_counts() == {"ok": 1, "http_error": 1}
        summary = download_to_store([url, gone], store, iteration=0, options=once, progress=False)
        assert summary.total == 0 and summary.skipped == 2  # kept: settled
    assert server.hits(f"/retry/flaky-{status}.jpg") == 3 and server.hits(f"/retry/gone-{status}.jpg") == 1


def test_attempts_are_capped_and_backoff_is_kept_in_the_store(tmp_path, server: LoopbackServer,
                                                              options: DownloadOptions) -> None:
    url = server.add("/retry/always-503.jpg", fails_then_succeeds(10**6))
    capped = options.replace(retries=0, retry_backoff=0.0, max_attempts=2)
    with RunStore.open(tmp_path / "run") as store:
        for _ in range(4):
            download_to_store([url], store, iteration=0, options=capped, progress=False)
        assert store.download_attempts(url) == 2 and store.pending_retries() == 0
        waiting = options.replace(retries=0, retry_backoff=3600.0, max_attempts=5)
        other = server.add("/retry/always-503-b.jpg", fails_then_succeeds(10**6))
        download_to_store([other], store, iteration=0, options=waiting, progress=False)
        summary = download_to_store([other], store, iteration=0, options=waiting, progress=False)
        assert summary.skipped == 1 and store.download_attempts(other) == 1  # backing off for an hour
        assert other not in store.downloaded_urls(now=time.time() + 3601)  # due again after the backoff
    assert server.hits("/retry/always-503.jpg") == 2 and server.hits("/retry/always-503-b.jpg") == 1


@pytest.mark.parametrize("outcome, status, transient", [
    (Outcome.TIMEOUT, None, True), (Outcome.CONNECTION_ERROR, None, True), (Outcome.DNS_ERROR, None, True),
    (Outcome.HTTP_ERROR, 503, True), (Outcome.HTTP_ERROR, 429, True), (Outcome.HTTP_ERROR, 408, True),
    (Outcome.HTTP_ERROR, 404, False), (Outcome.HTTP_ERROR, 410, False), (Outcome.HTTP_ERROR, 403, False),
    (Outcome.NOT_IMAGE, 200, False), (Outcome.TOO_LARGE, 200, False), (Outcome.BLOCKED_PRIVATE_ADDRESS, None, False),
    (Outcome.NEAR_DUPLICATE, 200, False), (Outcome.OK, 200, False),
])
def test_failures_are_classed_transient_or_permanent(outcome: Outcome, status: int | None, transient: bool) -> None:
    assert DownloadOutcome("http://x/y.jpg", outcome, status_code=status).transient is transient


def test_retry_policy_doubles_its_backoff_and_stops_at_the_cap() -> None:
    policy = RetryPolicy(max_attempts=3, backoff=10.0)
    assert policy.retry_after(1, 100.0) == 110.0 and policy.retry_after(2, 100.0) == 120.0
    assert policy.retry_after(3, 100.0) is None


def test_one_deadline_bounds_a_url_across_its_retries(tmp_path, server: LoopbackServer,
                                                      options: DownloadOptions) -> None:
    """A server that trickles for 1 s, then drops the connection (a transient failure), asked with 5 retries and
    a 1.5 s budget: the budget, not the retry count, ends the URL (at most 2 requests instead of 6)."""
    def trickle_then_reset(h) -> None:  # noqa: ANN001
        h.send_response(200)
        h.send_header("Content-Type", "image/jpeg")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        for _ in range(10):
            h.wfile.write(b"\xff" * 8)
            h.wfile.flush()
            time.sleep(0.1)
        h.close_connection = True
        h.connection.close()

    url = server.add("/retry/trickle-reset.jpg", trickle_then_reset)
    patient = options.replace(retries=5, total_timeout=1.5, read_timeout=5.0, backoff_base=0.2, backoff_max=0.5)
    with RunStore.open(tmp_path / "run") as store:
        summary = download_to_store([url], store, iteration=0, options=patient, progress=False)
    assert summary.ok == 0 and summary.total == 1
    assert 1 <= server.hits("/retry/trickle-reset.jpg") <= 2
