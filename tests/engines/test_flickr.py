"""Flickr engine against a loopback server speaking flickr.photos.search's JSON."""

from __future__ import annotations

import math
from typing import Any

import pytest

from ie.api import (
    AuthError,
    EngineUnavailableError,
    MalformedResponseError,
    RateLimitedError,
    TokenBucket,
)
from ie.testing.engine_contract import EngineContract
from ie_plugins.engines.flickr import FlickrEngine

KEY = "test-key"


def photo(i: int) -> dict[str, Any]:
    pid = str(5_000_000 + i)
    base = f"https://live.staticflickr.com/65535/{pid}_abc"
    return {
        "id": pid, "owner": "12345@N00", "secret": "abc", "server": "65535", "farm": 66, "title": f"red panda {i}",
        "ispublic": 1, "isfriend": 0, "isfamily": 0, "license": "4", "ownername": "Jane Doe",
        "url_q": f"{base}_q.jpg", "height_q": 150, "width_q": 150,
        "url_l": f"{base}_b.jpg", "height_l": "768", "width_l": "1024",
    }


@pytest.fixture
def flickr(json_server, paged):
    def handler(req):
        if req.params.get("api_key") != KEY:
            return {"stat": "fail", "code": 100, "message": "Invalid API Key (Key has invalid format)"}
        total = 12 if req.params["text"] == "red panda" else 0
        page, per_page = int(req.params["page"]), int(req.params["per_page"])
        photos = [photo(i) for i in paged(total, page, per_page)]
        pages = math.ceil(total / per_page)
        return {"photos": {"page": page, "pages": pages, "perpage": per_page, "total": total, "photo": photos},
                "stat": "ok"}

    return json_server(handler)


class TestFlickrContract(EngineContract):
    engine_name = "flickr"
    required_secrets = {"FLICKR_API_KEY": KEY}
    corpus_size = 12

    @pytest.fixture
    def backend(self, flickr):
        return flickr

    def engine_options(self, backend):
        return {"base_url": backend.url + "/services/rest/"}


@pytest.fixture
def engine(flickr, fake_clock, monkeypatch):
    monkeypatch.delenv("FLICKR_API_KEY", raising=False)
    monkeypatch.delenv("FLICKR_API_SECRET", raising=False)
    e = FlickrEngine({"base_url": flickr.url + "/services/rest/", "secrets": {"FLICKR_API_KEY": KEY}})
    e.rate_limiter = TokenBucket(0.8, 1, clock=fake_clock, sleep=fake_clock.sleep)
    yield e
    e.close()


def test_request_parameters(engine, flickr):
    engine.search("red panda", 3)
    params = flickr.requests[0].params
    assert params["method"] == "flickr.photos.search"
    assert (params["sort"], params["content_type"], params["media"]) == ("relevance", "1", "photos")
    assert (params["format"], params["nojsoncallback"]) == ("json", "1")
    assert {"license", "owner_name", "url_l", "url_q"} <= set(params["extras"].split(","))
    assert params["per_page"] == "3" and params["page"] == "1" and params["text"] == "red panda"
    assert "internet-explorer/" in flickr.requests[0].headers["user-agent"]


def test_per_page_is_capped_at_500(engine, flickr):
    engine.search("red panda", 1200)
    assert flickr.requests[0].params["per_page"] == "500"


def test_hits_are_normalised(engine):
    hit = engine.search("red panda", 1)[0]
    assert hit.url.endswith("_b.jpg") and hit.thumbnail_url.endswith("_q.jpg")
    assert (hit.width, hit.height) == (1024, 768)  # strings in the JSON
    assert hit.license == "CC BY 2.0" and hit.attribution == "Jane Doe"
    assert hit.source_page == "https://www.flickr.com/photos/12345@N00/5000000/"
    assert hit.title == "red panda 0" and hit.extra["license_id"] == "4"


def test_photos_without_a_public_size_are_skipped(engine, flickr):
    flickr.queue({"stat": "ok", "photos": {"page": 1, "pages": 1, "photo": [{"id": "1", "title": "x"}, photo(1)]}})
    assert [h.extra["id"] for h in engine.search("red panda", 5)] == ["5000001"]


def test_default_rate_is_below_3600_per_hour():
    assert FlickrEngine.default_rate_per_second * 3600 < 3600
    e = FlickrEngine({"secrets": {"FLICKR_API_KEY": KEY}})
    assert e.rate_limiter.rate * 3600 < 3600
    e.close()


def test_secret_is_optional_and_reported(monkeypatch):
    monkeypatch.delenv("FLICKR_API_SECRET", raising=False)
    e = FlickrEngine({"secrets": {"FLICKR_API_KEY": KEY}})
    assert e.credentials() == {"FLICKR_API_KEY": True, "FLICKR_API_SECRET": False}
    monkeypatch.setenv("FLICKR_API_SECRET", "s3cret")
    assert FlickrEngine({"secrets": {"FLICKR_API_KEY": KEY}}).credentials()["FLICKR_API_SECRET"] is True


def test_invalid_key_is_auth_error(flickr, monkeypatch):
    monkeypatch.delenv("FLICKR_API_KEY", raising=False)
    e = FlickrEngine({"base_url": flickr.url, "secrets": {"FLICKR_API_KEY": "wrong"}})
    with pytest.raises(AuthError, match="Invalid API Key"):
        e.search("red panda", 5)


@pytest.mark.parametrize(("code", "error"), [(105, EngineUnavailableError), (10, EngineUnavailableError)])
def test_service_unavailable_codes(engine, flickr, code, error):
    flickr.queue({"stat": "fail", "code": code, "message": "Service currently unavailable"})
    with pytest.raises(error, match=f"Flickr error {code}"):
        engine.search("red panda", 5)


def test_429_backs_off_with_retry_after_then_succeeds(engine, flickr, fake_clock):
    flickr.queue(("slow down", 429, {"Retry-After": "7"}))
    hits = engine.search("red panda", 5)
    assert len(hits) == 5
    assert sum(fake_clock.sleeps) >= 7  # waited out Retry-After on the injected clock


def test_429_that_persists_raises_rate_limited(engine, flickr):
    flickr.queue(*[("slow down", 429, {"Retry-After": "3"})] * 4)
    with pytest.raises(RateLimitedError) as info:
        engine.search("red panda", 5)
    assert info.value.retry_after == 3.0 and info.value.action == "backoff"


@pytest.mark.parametrize("body", ["<html>oops</html>", {"stat": "ok"}, {"stat": "ok", "photos": {"photo": "x"}}, [1]])
def test_malformed_responses(engine, flickr, body):
    flickr.queue(body)
    with pytest.raises(MalformedResponseError):
        engine.search("red panda", 5)


def test_server_error_is_unavailable(engine, flickr):
    flickr.queue(("boom", 500))
    with pytest.raises(EngineUnavailableError, match="HTTP 500"):
        engine.search("red panda", 5)


def test_the_runs_licence_families_are_asked_of_the_api(flickr, fake_clock, monkeypatch):
    """`ie explore --license cc0,by` reaches Flickr as its own licence ids (flickr.photos.licenses.getInfo);
    an explicit `license` option wins."""
    monkeypatch.delenv("FLICKR_API_KEY", raising=False)
    engine = FlickrEngine({"base_url": flickr.url + "/services/rest/", "secrets": {"FLICKR_API_KEY": KEY},
                           "licenses": ["cc0", "by"]})
    engine.rate_limiter = TokenBucket(0.8, 1, clock=fake_clock, sleep=fake_clock.sleep)
    engine.search("red panda", 3)
    assert flickr.requests[-1].params["license"] == "9,4,11"
    engine.close()
    explicit = FlickrEngine({"secrets": {"FLICKR_API_KEY": KEY}, "licenses": ["cc0"], "license": "10"})
    assert explicit.params("x", 1, 1)["license"] == "10"
    assert "license" not in FlickrEngine({"secrets": {"FLICKR_API_KEY": KEY}}).params("x", 1, 1)
