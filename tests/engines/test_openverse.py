"""Openverse engine (anonymous and OAuth2 client credentials) against a loopback API."""

from __future__ import annotations

import math

import pytest

from ie.api import (
    AuthError,
    MalformedResponseError,
    MissingCredentialsError,
    QuotaExceededError,
    RateLimitedError,
    TokenBucket,
)
from ie.testing.engine_contract import EngineContract
from ie_plugins.engines.openverse import OpenverseEngine

CREDS = {"OPENVERSE_CLIENT_ID": "cid", "OPENVERSE_CLIENT_SECRET": "csecret"}


def image(i: int) -> dict:
    return {
        "id": f"00000000-0000-0000-0000-{i:012d}", "title": f"Red panda {i}", "url": f"https://live.staticflickr.com/{i}.jpg",
        "creator": "Jane Doe", "creator_url": "https://www.flickr.com/photos/jane", "license": "by-sa" if i % 2 else "cc0",
        "license_version": "2.0" if i % 2 else "1.0", "license_url": "https://creativecommons.org/licenses/by-sa/2.0/",
        "provider": "flickr", "source": "flickr", "foreign_landing_url": f"https://www.flickr.com/photos/jane/{i}",
        "attribution": f'"Red panda {i}" by Jane Doe is licensed under CC BY-SA 2.0.', "height": 480, "width": 640,
        "thumbnail": f"https://api.openverse.org/v1/images/{i}/thumb/", "filetype": "jpg", "tags": [], "mature": False,
    }


class OpenverseAPI:
    def __init__(self, total: int = 12):
        self.total, self.tokens_issued = total, 0

    def __call__(self, req):
        if req.path == "/v1/auth_tokens/token/":
            form = req.form()
            if (form.get("client_id"), form.get("client_secret")) != ("cid", "csecret"):
                return {"error": "invalid_client"}, 401
            assert form["grant_type"] == "client_credentials"
            self.tokens_issued += 1
            return {"access_token": f"tok{self.tokens_issued}", "scope": "read write", "expires_in": 36000,
                    "token_type": "Bearer"}
        assert req.path == "/v1/images/"
        authed = req.headers.get("authorization", "").startswith("Bearer tok")
        page, size = int(req.params["page"]), int(req.params["page_size"])
        if size > (500 if authed else 20):
            return {"detail": "Authentication credentials were not provided."}, 401
        total = self.total if req.params["q"] == "red panda" else 0
        start = (page - 1) * size
        results = [image(i) for i in range(start, min(start + size, total))]
        return {"result_count": total, "page_count": math.ceil(total / size), "page_size": size, "page": page,
                "results": results, "warnings": []}


@pytest.fixture
def api(json_server):
    return json_server(OpenverseAPI())


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch):
    for name in CREDS:
        monkeypatch.delenv(name, raising=False)


class TestOpenverseContract(EngineContract):
    engine_name = "openverse"
    corpus_size = 12

    @pytest.fixture
    def backend(self, api):
        return api

    def engine_options(self, backend):
        return {"base_url": backend.url}


class TestOpenverseAuthenticatedContract(TestOpenverseContract):
    required_secrets = CREDS

    def test_missing_credentials_name_the_variable(self, backend, engine_manager, monkeypatch):
        pytest.skip("credentials are optional: see test_half_configured_credentials")


def make(api, fake_clock, **options) -> OpenverseEngine:
    engine = OpenverseEngine({"base_url": api.url, **options})
    engine.rate_limiter = TokenBucket(1.0, 1.0, clock=fake_clock, sleep=fake_clock.sleep)
    return engine


def test_anonymous_page_size_and_depth(api, fake_clock):
    engine = make(api, fake_clock)
    assert engine.max_per_page == 20 and engine.max_results == 400
    assert engine.rate_limiter.rate > 0 and OpenverseEngine.default_rate_per_second <= 20 / 60
    api.handler.total = 1000
    hits = engine.search("red panda", 1000)
    assert len(hits) == 400  # 20 pages of 20
    assert {r.params["page_size"] for r in api.requests} == {"20"}
    assert max(int(r.params["page"]) for r in api.requests) == 20
    assert all("authorization" not in r.headers for r in api.requests)


def test_oauth_token_is_fetched_once_and_used(api, fake_clock):
    engine = make(api, fake_clock, secrets=CREDS)
    assert engine.max_per_page == 500
    api.handler.total = 600
    assert len(engine.search("red panda", 600)) == 600
    token_calls = [r for r in api.requests if r.path == "/v1/auth_tokens/token/"]
    searches = [r for r in api.requests if r.path == "/v1/images/"]
    assert len(token_calls) == 1 and token_calls[0].method == "POST"
    assert [r.params["page_size"] for r in searches] == ["500", "500"]
    assert all(r.headers["authorization"] == "Bearer tok1" for r in searches)


def test_expired_token_is_refreshed(api, fake_clock):
    now = [0.0]
    engine = OpenverseEngine({"base_url": api.url, "secrets": CREDS}, clock=lambda: now[0])
    engine.search("red panda", 3)
    now[0] = 40000.0  # past expires_in
    engine.search("red panda", 3)
    assert api.handler.tokens_issued == 2


def test_hits_keep_license_and_attribution(api, fake_clock):
    hits = make(api, fake_clock).search("red panda", 2)
    assert hits[0].license == "CC0 1.0" and hits[1].license == "CC BY-SA 2.0"
    assert hits[1].attribution == "Jane Doe"  # the creator; the whole sentence is kept in extra
    assert hits[1].extra["attribution"].startswith('"Red panda 1" by Jane Doe')
    assert hits[1].source_page == "https://www.flickr.com/photos/jane/1"
    assert {"license", "license_version", "creator", "attribution", "foreign_landing_url"} <= set(hits[1].extra)
    assert (hits[0].width, hits[0].height) == (640, 480)


def test_bad_client_credentials_is_auth_error(api, fake_clock):
    engine = make(api, fake_clock, secrets={"OPENVERSE_CLIENT_ID": "cid", "OPENVERSE_CLIENT_SECRET": "wrong"})
    with pytest.raises(AuthError, match="OPENVERSE_CLIENT_ID"):
        engine.search("red panda", 3)


@pytest.mark.parametrize("given", ["OPENVERSE_CLIENT_ID", "OPENVERSE_CLIENT_SECRET"])
def test_half_configured_credentials(given):
    with pytest.raises(MissingCredentialsError) as info:
        OpenverseEngine({"secrets": {given: "x"}})
    other = ({*CREDS} - {given}).pop()
    assert info.value.variables == [other]


def test_401_on_search_is_auth_error(api, fake_clock):
    api.queue(({"detail": "Invalid token"}, 401))
    with pytest.raises(AuthError):
        make(api, fake_clock).search("red panda", 3)


def test_429_retry_after_then_ok(api, fake_clock):
    api.queue(({"detail": "Request was throttled. Expected available in 12 seconds."}, 429, {"Retry-After": "12"}))
    assert len(make(api, fake_clock).search("red panda", 3)) == 3
    assert sum(fake_clock.sleeps) >= 12


def test_429_persisting(api, fake_clock):
    api.queue(*[({"detail": "throttled"}, 429, {"Retry-After": "12"})] * 4)
    with pytest.raises(RateLimitedError) as info:
        make(api, fake_clock).search("red panda", 3)
    assert info.value.retry_after == 12


@pytest.mark.parametrize("body", ["<html>", {"results": None}, {"results": [{"title": "no url"}]}])
def test_malformed(api, fake_clock, body):
    api.queue(body)
    with pytest.raises(MalformedResponseError):
        make(api, fake_clock).search("red panda", 3)


def test_429_with_a_long_retry_after_is_a_spent_quota(api, fake_clock):
    api.queue(({"detail": "Request was throttled. Expected available in 43200 seconds."}, 429, {"Retry-After": "43200"}))
    with pytest.raises(QuotaExceededError) as info:
        make(api, fake_clock).search("red panda", 3)
    assert info.value.retry_after == 43200 and fake_clock.sleeps == []  # nobody sleeps for 12 hours


def test_the_runs_licence_families_are_asked_of_the_api(api, fake_clock):
    engine = make(api, fake_clock, licenses=["cc0", "by-sa", "arr"])
    engine.search("red panda", 5)
    assert api.requests[-1].params["license"] == "cc0,by-sa"  # Openverse has no all-rights-reserved images
