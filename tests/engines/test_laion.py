"""LAION / clip-retrieval kNN engine against a loopback ``/knn-service``."""

from __future__ import annotations

import pytest

from ie.api import EngineError, EngineUnavailableError, MalformedResponseError, RateLimitedError, TokenBucket
from ie.testing.engine_contract import EngineContract
from ie_plugins.engines.laion import LaionEngine


def result(i: int) -> dict:
    return {"url": f"https://cdn.example.org/{i}.jpg", "caption": f"a red panda #{i}", "similarity": 0.4 - i / 1000,
            "id": 1000 + i}


@pytest.fixture
def knn(json_server):
    def handler(req):
        assert req.method == "POST" and req.path == "/knn-service"
        body = req.json()
        total = 12 if body["text"] == "red panda" else 0
        return [result(i) for i in range(min(total, body["num_images"]))]

    return json_server(handler)


class TestLaionContract(EngineContract):
    engine_name = "laion"
    corpus_size = 12

    @pytest.fixture
    def backend(self, knn):
        return knn

    def engine_options(self, backend):
        return {"url": backend.url, "index": "laion5B-L-14"}


@pytest.fixture
def engine(knn, fake_clock):
    e = LaionEngine({"url": knn.url + "/", "index": "laion5B-L-14", "use_safety_model": False})
    e.rate_limiter = TokenBucket(1.0, 1.0, clock=fake_clock, sleep=fake_clock.sleep)
    yield e
    e.close()


def test_payload_is_clip_retrieval_shaped(engine, knn):
    hits = engine.search("red panda", 7)
    assert len(hits) == 7 and len(knn.requests) == 1  # no pagination: one request for the whole limit
    body = knn.requests[0].json()
    assert body["num_images"] == 7 and body["num_result_ids"] >= 7
    assert body["indice_name"] == "laion5B-L-14" and body["modality"] == "image"
    assert (body["image"], body["embedding_input"], body["use_mclip"], body["deduplicate"]) == (None, None, False, True)
    assert body["use_safety_model"] is False and body["use_violence_detector"] is True
    assert body["aesthetic_score"] == "" and isinstance(body["aesthetic_weight"], float)
    assert hits[0].title == "a red panda #0" and hits[0].extra == {"similarity": 0.4, "id": 1000}


@pytest.mark.parametrize("options", [{}, {"url": "http://127.0.0.1:1"}, {"index": "x"}])
def test_url_and_index_are_required(options, monkeypatch):
    monkeypatch.delenv("IE_LAION_URL", raising=False)
    monkeypatch.delenv("IE_LAION_INDEX", raising=False)
    with pytest.raises(EngineUnavailableError) as info:
        LaionEngine(options)
    missing = [name for name in ("url", "index") if name not in options]
    assert all(f"{name}" in str(info.value) for name in missing) and "IE_LAION_URL" in str(info.value)


def test_env_configuration(knn, monkeypatch):
    monkeypatch.setenv("IE_LAION_URL", knn.url)
    monkeypatch.setenv("IE_LAION_INDEX", "my-index")
    engine = LaionEngine({})
    assert len(engine.search("red panda", 3)) == 3 and knn.requests[0].json()["indice_name"] == "my-index"


def test_rows_without_url_are_skipped(engine, knn):
    knn.queue([{"caption": "no url", "image": "base64..."}, result(1)])
    hits = engine.search("red panda", 2)  # the skipped row is made up for by asking for more
    assert [h.url for h in hits] == [result(1)["url"], result(2)["url"]]
    assert knn.requests[1].json()["num_images"] == 4


def test_429_then_ok(engine, knn, fake_clock):
    knn.queue(("busy", 429, {"Retry-After": "4"}))
    assert len(engine.search("red panda", 3)) == 3 and sum(fake_clock.sleeps) >= 4


def test_429_persisting(engine, knn):
    knn.queue(*[("busy", 429)] * 4)
    with pytest.raises(RateLimitedError):
        engine.search("red panda", 3)


@pytest.mark.parametrize("body", ["not json", {"results": []}, ["x"]])
def test_malformed(engine, knn, body):
    knn.queue(body)
    with pytest.raises(MalformedResponseError):
        engine.search("red panda", 3)


def test_backend_error_object(engine, knn):
    knn.queue({"error": "index laion5B-L-14 not found"})
    with pytest.raises(EngineError, match="not found"):
        engine.search("red panda", 3)


def test_unreachable_backend_is_unavailable():
    engine = LaionEngine({"url": "http://127.0.0.1:9", "index": "x", "timeout": 2})
    with pytest.raises(EngineUnavailableError, match="cannot reach"):
        engine.search("red panda", 3)


def test_the_documented_service_url_with_its_endpoint_works_too(knn, monkeypatch):
    """clip-retrieval's README gives the service as ``https://knn.laion.ai/knn-service``: with or without the
    endpoint, requests go to ``<host>/knn-service`` once (never ``/knn-service/knn-service``)."""
    monkeypatch.setenv("IE_LAION_URL", knn.url + "/knn-service/")
    monkeypatch.setenv("IE_LAION_INDEX", "laion5B-L-14")
    engine = LaionEngine({})
    engine.search("red panda", 3)
    assert knn.requests[-1].path == "/knn-service"
    engine.close()
