"""Google Custom Search engine against googleapiclient's own HTTP doubles (HttpMock, HttpMockSequence)."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from typing import Any

import httplib2
import pytest
from googleapiclient.http import HttpMock, HttpMockSequence

from ie.api import (
    AuthError,
    EngineError,
    EngineUnavailableError,
    MalformedResponseError,
    QuotaExceededError,
    RateLimitedError,
    TokenBucket,
)
from ie.testing.engine_contract import EngineContract
from ie_plugins.engines.google import GoogleEngine

SECRETS = {"GOOGLE_API_KEY": "test-key", "GOOGLE_CSE_ID": "test-cx"}
TODAY = "2026-06-01"


def item(i: int) -> dict[str, Any]:
    return {
        "kind": "customsearch#result", "title": f"Red panda {i}", "htmlTitle": f"<b>Red panda</b> {i}",
        "link": f"https://example.org/img/{i}.jpg", "displayLink": "example.org", "snippet": f"red panda {i}",
        "mime": "image/jpeg", "fileFormat": "image/jpeg",
        "image": {"contextLink": f"https://example.org/page/{i}", "height": 600, "width": 800, "byteSize": 51234,
                  "thumbnailLink": f"https://encrypted-tbn0.gstatic.com/images?q=tbn:{i}",
                  "thumbnailHeight": 100, "thumbnailWidth": 133},
    }


def page(start: int, num: int, total: int) -> dict[str, Any]:
    items = [item(i) for i in range(start - 1, min(start - 1 + num, total))]
    queries: dict[str, Any] = {"request": [{"startIndex": start, "count": num, "searchType": "image"}]}
    if start + num <= total:
        queries["nextPage"] = [{"startIndex": start + num, "count": num}]
    body: dict[str, Any] = {"kind": "customsearch#search", "queries": queries,
                            "searchInformation": {"totalResults": str(total)}}
    if items:
        body["items"] = items
    return body


def error(status: int, message: str, reason: str = "", detail: str = "") -> tuple[dict[str, str], str]:
    err: dict[str, Any] = {"code": status, "message": message}
    if reason:
        err["errors"] = [{"message": message, "domain": "usageLimits", "reason": reason}]
    if detail:
        err["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": detail}]
    return {"status": str(status)}, json.dumps({"error": err})


OK = {"status": "200", "content-type": "application/json"}


class FakeCSE(HttpMock):
    """An HttpMock that answers by the request's ``q``/``start``/``num``, like the real service."""

    def __init__(self, total: int = 12):
        super().__init__(headers=OK)
        self.total, self.uris = total, []

    def request(self, uri, method="GET", body=None, headers=None, redirections=1, connection_type=None):
        self.uris.append(uri)
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(uri).query))
        assert params["key"] == "test-key" and params["cx"] == "test-cx" and params["searchType"] == "image"
        total = self.total if params["q"] == "red panda" else 0
        data = page(int(params.get("start", 1)), int(params.get("num", 10)), total)
        return httplib2.Response(OK), json.dumps(data).encode()


def params_of(uri: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(uri).query))


class TestGoogleContract(EngineContract):
    engine_name = "google"
    required_secrets = SECRETS
    corpus_size = 12
    small_page = 5

    @pytest.fixture
    def backend(self):
        return FakeCSE(self.corpus_size)

    def engine_options(self, backend):
        return {"http": backend, "today": TODAY}


def make(http: Any, fake_clock: Any = None, **options: Any) -> GoogleEngine:
    engine = GoogleEngine({"http": http, "today": TODAY, "secrets": SECRETS, **options})
    if fake_clock is not None:
        engine.rate_limiter = TokenBucket(1.0, 1.0, clock=fake_clock, sleep=fake_clock.sleep)
    return engine


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch):
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)


def test_paging_uses_start_and_num_with_httpmocksequence(fake_clock):
    http = HttpMockSequence([(OK, json.dumps(page(1, 10, 25))), (OK, json.dumps(page(11, 10, 25))),
                             (OK, json.dumps(page(21, 10, 25)))])
    hits = make(http, fake_clock).search("red panda", 25)
    assert len(hits) == 25 and [h.rank for h in hits] == list(range(25))
    sent = [params_of(uri) for uri, *_ in http.request_sequence]
    assert [(p["start"], p["num"]) for p in sent] == [("1", "10"), ("11", "10"), ("21", "10")]
    assert {p["searchType"] for p in sent} == {"image"} and sent[0]["q"] == "red panda"
    assert sum(fake_clock.sleeps) == pytest.approx(2.0)  # 1 call/s bucket, three calls


def test_at_most_100_results_and_start_at_most_91(fake_clock):
    http = FakeCSE(total=500)
    hits = make(http, fake_clock).search("red panda", 250)
    assert len(hits) == 100
    starts = [int(params_of(u)["start"]) for u in http.uris]
    assert max(starts) == 91 and all(int(params_of(u)["num"]) <= 10 for u in http.uris)


def test_hit_fields_and_httpmock_file(tmp_path):
    recorded = tmp_path / "cse.json"
    recorded.write_text(json.dumps(page(1, 10, 3)))
    hit = make(HttpMock(str(recorded), OK)).search("red panda", 10)[0]
    assert hit.url == "https://example.org/img/0.jpg" and hit.source_page == "https://example.org/page/0"
    assert hit.thumbnail_url.startswith("https://encrypted-tbn0") and (hit.width, hit.height) == (800, 600)
    assert hit.title == "Red panda 0" and hit.extra["mime"] == "image/jpeg"


def test_base_url_option_reaches_the_client():
    http = FakeCSE()
    make(http, base_url="http://127.0.0.1:9/").search("red panda", 1)
    assert http.uris[0].startswith("http://127.0.0.1:9/customsearch/v1?")


@pytest.mark.parametrize("reason", ["dailyLimitExceeded", "rateLimitExceeded"])
def test_403_quota_reasons(reason):
    http = HttpMockSequence([error(403, "Daily Limit Exceeded", reason)])
    with pytest.raises(QuotaExceededError, match=reason) as info:
        make(http).search("red panda", 10)
    assert info.value.action == "stop"


def test_429_per_day_is_quota():
    http = HttpMockSequence([error(429, "Quota exceeded for quota metric 'Queries' and limit 'Queries per day'")])
    with pytest.raises(QuotaExceededError):
        make(http).search("red panda", 10)


def test_429_backs_off_with_retry_after(fake_clock):
    headers, body = error(429, "Too many requests", "rateLimited")
    http = HttpMockSequence([({**headers, "retry-after": "30"}, body), (OK, json.dumps(page(1, 10, 3)))])
    assert len(make(http, fake_clock).search("red panda", 10)) == 3
    assert sum(fake_clock.sleeps) >= 30


def test_429_persisting_raises_rate_limited(fake_clock):
    headers, body = error(429, "Too many requests")
    http = HttpMockSequence([({**headers, "retry-after": "5"}, body)] * 4)
    with pytest.raises(RateLimitedError) as info:
        make(http, fake_clock).search("red panda", 10)
    assert info.value.retry_after == 5.0


@pytest.mark.parametrize("args", [(400, "API key not valid. Please pass a valid API key.", "keyInvalid", "API_KEY_INVALID"),
                                  (400, "Bad Request", "keyInvalid", ""), (401, "Unauthorized", "", "")])
def test_bad_key_is_auth_error(args):
    with pytest.raises(AuthError, match="GOOGLE_API_KEY"):
        make(HttpMockSequence([error(*args)])).search("red panda", 10)


def test_closed_to_new_customers_is_unavailable():
    http = HttpMockSequence([error(403, "This project does not have the access to Custom Search JSON API.", "forbidden")])
    with pytest.raises(EngineUnavailableError, match="2027-01-01"):
        make(http).search("red panda", 10)


def test_other_400_is_a_plain_engine_error():
    with pytest.raises(EngineError) as info:
        make(HttpMockSequence([error(400, "Invalid value", "invalid")])).search("red panda", 10)
    assert type(info.value) is EngineError and info.value.action == "skip"


@pytest.mark.parametrize("body", ["<html>not json</html>", json.dumps({"items": "nope"}), json.dumps({"items": [{}]})])
def test_malformed_responses(body):
    with pytest.raises(MalformedResponseError):
        make(HttpMockSequence([(OK, body)])).search("red panda", 10)


def test_turned_off_on_2027_01_01():
    with pytest.raises(EngineUnavailableError, match="2027-01-01"):
        GoogleEngine({"secrets": SECRETS, "today": "2027-01-01"})
    engine = make(FakeCSE(), today=dt.date(2026, 12, 31))
    assert engine.search("red panda", 1)
    engine.today = lambda: dt.date(2027, 3, 1)  # a long-running process crossing the date
    with pytest.raises(EngineUnavailableError):
        engine.search("red panda", 1)


def test_help_and_docs_say_it_is_deprecated():
    from ie_plugins.engines import google

    helps: list[str] = []
    google.ie_register_engines(lambda name, factory, help="": helps.append(help))
    assert "2027-01-01" in helps[0] and "new customers" in helps[0]
    assert "2027-01-01" in (google.__doc__ or "")
