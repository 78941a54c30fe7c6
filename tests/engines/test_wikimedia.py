"""Wikimedia Commons engine against a loopback MediaWiki Action API."""

from __future__ import annotations

import pytest

from ie.api import MissingCredentialsError

from ie.api import EngineError, MalformedResponseError, RateLimitedError, TokenBucket
from ie.testing.engine_contract import EngineContract
from ie_plugins.engines.wikimedia import WikimediaEngine


def page(i: int) -> dict:
    name = f"Red_panda_{i}.jpg"
    return {
        "pageid": 100 + i, "ns": 6, "title": f"File:{name.replace('_', ' ')}", "index": i + 1,
        "imageinfo": [{
            "url": f"https://upload.wikimedia.org/wikipedia/commons/a/ab/{name}",
            "descriptionurl": f"https://commons.wikimedia.org/wiki/File:{name}",
            "thumburl": f"https://upload.wikimedia.org/wikipedia/commons/thumb/a/ab/{name}/512px-{name}",
            "size": 123456, "width": 2048, "height": 1536, "mime": "image/jpeg",
            "extmetadata": {
                "LicenseShortName": {"value": "CC BY-SA 4.0", "source": "commons-desc-page"},
                "Artist": {"value": '<a href="//commons.wikimedia.org/wiki/User:Jane">Jane &amp; Co</a>', "source": "x"},
                "ImageDescription": {"value": "<p>A <b>red panda</b> in a tree</p>", "source": "x"},
            },
        }],
    }


@pytest.fixture
def commons(json_server):
    def handler(req):
        p = req.params
        assert (p["action"], p["generator"], p["gsrnamespace"], p["prop"], p["format"], p["formatversion"]) == (
            "query", "search", "6", "imageinfo", "json", "2")
        assert p["gsrsearch"].endswith(" filetype:bitmap") and "extmetadata" in p["iiprop"].split("|")
        total = 12 if p["gsrsearch"] == "red panda filetype:bitmap" else 0
        limit, offset = int(p["gsrlimit"]), int(p.get("gsroffset", 0))
        pages = [page(i) for i in range(offset, min(offset + limit, total))]
        body: dict = {"batchcomplete": True}
        if pages:
            body["query"] = {"pages": list(reversed(pages))}  # the API does not sort pages: "index" does
        if offset + limit < total:
            body["continue"] = {"gsroffset": offset + limit, "continue": "gsroffset||"}
        return body

    return json_server(handler)


class TestWikimediaContract(EngineContract):
    engine_name = "wikimedia"
    corpus_size = 12

    @pytest.fixture
    def backend(self, commons):
        return commons

    def engine_options(self, backend):
        return {"base_url": backend.url + "/w/api.php", "contact": "ops@example.org"}


@pytest.fixture
def engine(commons, fake_clock):
    e = WikimediaEngine({"base_url": commons.url + "/w/api.php", "contact": "ops@example.org"})
    e.rate_limiter = TokenBucket(1.0, 1.0, clock=fake_clock, sleep=fake_clock.sleep)
    yield e
    e.close()


def test_paging_follows_continue(engine, commons, monkeypatch):
    monkeypatch.setattr(engine, "max_per_page", 5)
    hits = engine.search("red panda", 12)
    assert [h.title for h in hits] == [f"Red panda {i}" for i in range(12)]  # ordered by "index"
    assert [r.params.get("gsroffset") for r in commons.requests] == [None, "5", "10"]
    assert commons.requests[1].params["continue"] == "gsroffset||"


def test_user_agent_is_descriptive(engine, commons, monkeypatch):
    engine.search("red panda", 1)
    ua = commons.requests[0].headers["user-agent"]
    assert ua.startswith("internet-explorer/") and "ops@example.org" in ua and "https://" in ua
    monkeypatch.setenv("IE_CONTACT", "me@example.net")
    assert "me@example.net" in WikimediaEngine({})._client.headers["user-agent"]
    monkeypatch.delenv("IE_CONTACT")
    with pytest.raises(MissingCredentialsError, match="IE_CONTACT.*User-Agent policy"):
        WikimediaEngine({})  # refused without a contact, before any request


def test_thumbnails_are_asked_at_a_standard_step(engine, commons):
    from ie_plugins.engines.wikimedia import standard_step

    assert (standard_step(128), standard_step(256), standard_step(500), standard_step(9999)) == (250, 330, 500, 3840)
    engine.search("red panda", 1)
    assert commons.requests[0].params["iiurlwidth"] == "500"


def test_hit_fields(engine):
    hit = engine.search("red panda", 1)[0]
    # the download is the standard-step thumbnail the CDN caches, never the full-size original (kept in extra)
    assert hit.url == hit.thumbnail_url and "512px-" in hit.thumbnail_url
    assert hit.extra["original_url"].endswith("/Red_panda_0.jpg")
    assert hit.license == "CC BY-SA 4.0" and hit.attribution == "Jane & Co"
    assert hit.source_page == "https://commons.wikimedia.org/wiki/File:Red_panda_0.jpg"
    assert (hit.width, hit.height) == (2048, 1536) and hit.extra["description"] == "A red panda in a tree"


def test_files_without_imageinfo_are_skipped(engine, commons):
    commons.queue({"query": {"pages": [{"pageid": 1, "ns": 6, "title": "File:Gone.jpg", "missing": True}, page(3)]}})
    assert [h.title for h in engine.search("red panda", 5)] == ["Red panda 3"]


def test_maxlag_backs_off(engine, commons, fake_clock):
    commons.queue(({"error": {"code": "maxlag", "info": "Waiting for a database server: 7 seconds lagged."}}, 200,
                   {"Retry-After": "9"}))
    assert len(engine.search("red panda", 3)) == 3 and sum(fake_clock.sleeps) >= 9


def test_429_persisting(engine, commons):
    commons.queue(*[("Too many requests", 429, {"Retry-After": "2"})] * 4)
    with pytest.raises(RateLimitedError):
        engine.search("red panda", 3)


def test_api_error(engine, commons):
    commons.queue({"error": {"code": "badvalue", "info": "Unrecognized value for parameter"}})
    with pytest.raises(EngineError, match="badvalue"):
        engine.search("red panda", 3)


@pytest.mark.parametrize("body", ["<!DOCTYPE html>", {"query": {"pages": {"1": {}}}},
                                  {"query": {"pages": [{"title": "File:x", "imageinfo": [{"size": 1}]}]}}])
def test_malformed(engine, commons, body):
    commons.queue(body)
    with pytest.raises(MalformedResponseError):
        engine.search("red panda", 3)
