"""Engines that read what a service says of its limits: ``X-RateLimit-*`` / ``RateLimit-*`` headers, throttling
with no ``Retry-After`` (Flickr's HTML 429), a spent quota that is not asked again before its reset."""

from __future__ import annotations

import datetime as dt

import pytest

from ie.api import QuotaExceededError, RateLimitedError, SearchEngine, SearchPage
from ie_plugins.engines import _http
from ie_plugins.engines.flickr import FlickrEngine
from ie_plugins.engines.google import seconds_to_pacific_midnight
from ie_plugins.engines.openverse import OpenverseEngine


NOW = 1_800_000_000.0


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, (None, None)),
    ({"RateLimit-Remaining": "7", "RateLimit-Reset": "30"}, (7, None)),  # IETF draft: not spent, no wait
    ({"RateLimit-Remaining": "0", "RateLimit-Reset": "30"}, (0, 30.0)),
    ({"RateLimit": "limit=100, remaining=0, reset=45"}, (0, 45.0)),  # draft-07's one header
    ({"RateLimit": '"default";r=0;t=12'}, (0, 12.0)),  # draft-08's structured field
    ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 600)}, (0, 600.0)),  # a Unix time (GitHub)
    ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "90"}, (0, 90.0)),  # a delta, any case
    # Openverse (api.openverse.org/v1/#section/Rate-limits): per scope, the window as "N/period"
    ({"X-RateLimit-Limit-anon_burst": "20/min", "X-RateLimit-Available-anon_burst": "19",
      "X-RateLimit-Limit-anon_sustained": "200/day", "X-RateLimit-Available-anon_sustained": "0"}, (0, 86400.0)),
    ({"X-RateLimit-Limit-anon_burst": "20/min", "X-RateLimit-Available-anon_burst": "3",
      "X-RateLimit-Limit-anon_sustained": "200/day", "X-RateLimit-Available-anon_sustained": "150"}, (3, None)),
    ({"X-RateLimit-Remaining": "0"}, (0, None)),  # spent, reset not stated: the engine's quota period
])
def test_rate_limit_headers_are_read_in_every_form_services_send(headers, expected):
    assert _http.rate_limit(headers, now=NOW) == expected


class Recorder:
    """A rate limiter that records what the engine asks of it (no waiting)."""

    def __init__(self) -> None:
        self.penalties: list[float] = []
        self.acquired = 0

    def acquire(self, tokens: float = 1.0) -> float:
        self.acquired += 1
        return 0.0

    def penalize(self, seconds: float) -> None:
        self.penalties.append(seconds)


def _flickr(server, **options) -> FlickrEngine:
    engine = FlickrEngine({"base_url": server.url + "/services/rest/", "secrets": {"FLICKR_API_KEY": "k"}, **options})
    engine.rate_limiter = Recorder()
    return engine


def _photos(req):
    per_page = int(req.params["per_page"])
    return {"photos": {"page": 1, "pages": 9, "perpage": per_page, "total": "900", "photo": [
        {"id": str(i), "owner": "1@N00", "title": "x", "license": "4", "ownername": "A",
         "url_z": f"https://live.staticflickr.com/1/{i}_z.jpg", "width_z": 640, "height_z": 480}
        for i in range(per_page)]}, "stat": "ok"}


def test_a_reply_that_says_the_quota_is_spent_pauses_the_engine_without_asking_again(json_server):
    server = json_server(lambda req: (_photos(req), 200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "5400"}))
    engine = _flickr(server)
    assert len(engine.search("red panda", 10)) == 10  # this reply's hits are kept
    with pytest.raises(QuotaExceededError) as spent:
        engine.search("snow leopard", 10)
    assert len(server.requests) == 1  # the service said no more: not asked
    assert 5300 < spent.value.retry_after <= 5400


def test_a_short_reset_is_waited_for_by_the_next_request(json_server):
    server = json_server(lambda req: (_photos(req), 200, {"RateLimit-Remaining": "0", "RateLimit-Reset": "20"}))
    engine = _flickr(server)
    engine.search("red panda", 10)
    assert engine.rate_limiter.penalties == [20.0]  # the shared limiter: every worker waits for the reset
    engine.search("snow leopard", 10)
    assert len(server.requests) == 2


def test_flickrs_html_429_backs_off_across_queries_and_fails_in_passing(json_server):
    """Flickr throttles with HTTP 429, an HTML page and no Retry-After: each further 429 waits twice as long, over
    queries too (a throttled host is not asked 4 times a query at the same pace), up to the longest wait; the
    query fails as throttled, never disabling the engine; the reply's HTML is not pasted into the message."""
    page = "<html><head><style>body{color:red}</style></head><body><h1>Too Many Requests</h1></body></html>"
    server = json_server(lambda req: (page, 429, {"Content-Type": "text/html; charset=utf-8"}))
    engine = _flickr(server, max_retry_after=60)
    with pytest.raises(RateLimitedError) as first:
        engine.search("red panda", 10)
    assert "Too Many Requests" in str(first.value) and "<h1>" not in str(first.value) and "color" not in str(first.value)
    assert first.value.outcome == "throttled" and first.value.passing
    with pytest.raises(RateLimitedError):
        engine.search("snow leopard", 10)
    assert engine.rate_limiter.penalties == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0]  # doubling, capped at 60
    assert len(server.requests) == 6


def test_a_success_resets_the_backoff(json_server):
    server = json_server(_photos)
    server.queue(("<html>slow down</html>", 429, {"Content-Type": "text/html"}))
    engine = _flickr(server)
    assert len(engine.search("red panda", 10)) == 10
    server.queue(("<html>slow down</html>", 429, {"Content-Type": "text/html"}))
    engine.search("snow leopard", 10)
    assert engine.rate_limiter.penalties == [2.0, 2.0]


def test_openverse_reads_its_scoped_headers(json_server):
    def handler(req):
        return ({"result_count": 1, "page_count": 1, "results": [{"url": "https://x.test/1.jpg"}]}, 200,
                {"X-RateLimit-Limit-anon_sustained": "100/day", "X-RateLimit-Available-anon_sustained": "0"})

    server = json_server(handler)
    engine = OpenverseEngine({"base_url": server.url})
    engine.rate_limiter = Recorder()
    engine.search("red panda", 10)
    with pytest.raises(QuotaExceededError):
        engine.search("snow leopard", 10)
    assert len(server.requests) == 1


class _Spent(SearchEngine):
    name = "spent"

    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        raise AssertionError("not asked")


def test_observe_limits_without_a_reset_uses_the_engines_quota_period():
    engine = _Spent()
    engine.rate_limiter = Recorder()
    engine.observe_limits(0, None)  # 3600 s > the longest wait (300 s): paused, not waited for
    with pytest.raises(QuotaExceededError) as spent:
        engine.search("x", 5)
    assert 3500 < spent.value.retry_after <= 3600
    engine = _Spent()
    engine.observe_limits(4, None)  # not spent: nothing changes
    with pytest.raises(AssertionError, match="not asked"):
        engine.search("x", 5)


def test_google_quota_resets_at_midnight_pacific():
    # 07:30 UTC in December is 23:30 PST; in July 06:30 UTC is 23:30 PDT
    assert seconds_to_pacific_midnight(dt.datetime(2026, 12, 7, 7, 30, tzinfo=dt.timezone.utc)) == 1800.0
    assert seconds_to_pacific_midnight(dt.datetime(2026, 7, 7, 6, 30, tzinfo=dt.timezone.utc)) == 1800.0
