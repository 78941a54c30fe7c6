"""The contract suite run on a third-party-style plugin that is not installed (``plugin_module``)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ie.api import Hit, SearchEngine, SearchPage, hookimpl, require_secrets
from ie.testing.engine_contract import EngineContract


class ArchiveEngine(SearchEngine):
    """What a plugin author writes: one page of an HTTP API (here a loopback JSON server)."""

    name = "my-archive"
    max_per_page = 50

    def __init__(self, options):
        super().__init__(options)
        (self.key,) = require_secrets(self.name, ["MY_ARCHIVE_KEY"], self.options)
        import httpx

        self.client = httpx.Client(base_url=self.options["base_url"], timeout=5)

    def search_page(self, query, page, per_page):
        data = self.client.get("/search", params={"q": query, "page": page, "n": per_page, "key": self.key}).json()
        hits = [Hit(url=u, engine=self.name, query=query, rank=i) for i, u in enumerate(data["urls"])]
        return SearchPage(hits, has_more=data["more"])

    def close(self):
        self.client.close()


@hookimpl
def ie_register_engines(register):
    register("my-archive", ArchiveEngine, help="test archive")


PLUGIN = SimpleNamespace(ie_register_engines=ie_register_engines)


@pytest.fixture
def archive(json_server, paged):
    def handler(req):
        assert req.params["key"] == "k"
        total = 12 if req.params["q"] == "red panda" else 0
        indices = paged(total, int(req.params["page"]), int(req.params["n"]))
        return {"urls": [f"https://archive.example.org/{i}.jpg" for i in indices], "more": indices.stop < total}

    return json_server(handler)


class TestThirdPartyEngineContract(EngineContract):
    engine_name = "my-archive"
    required_secrets = {"MY_ARCHIVE_KEY": "k"}
    plugin_module = PLUGIN

    @pytest.fixture
    def backend(self, archive):
        return archive

    def engine_options(self, backend):
        return {"base_url": backend.url}


def test_a_network_blip_or_5xx_fails_one_query_and_keeps_the_engine():
    """Timeouts, DNS/connection errors and HTTP 5xx are transient: the query's result records the error, but the
    engine is not stopped for the run (action skip), unlike a refused key or a spent quota."""
    import httpx

    from ie.api import AuthError, EngineUnavailableError, TransientEngineError
    from ie.loop.search import SearchTask, search_one
    from ie_plugins.engines import _http

    def failing(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("name or service not known", request=request)

    with httpx.Client(transport=httpx.MockTransport(failing)) as client:
        with pytest.raises(TransientEngineError) as caught:
            _http.request("flickr", client, "GET", "https://api.flickr.com/services/rest")
    assert isinstance(caught.value, EngineUnavailableError) and caught.value.action == "skip"
    with pytest.raises(TransientEngineError, match="HTTP 502"):
        _http.raise_for_status("flickr", httpx.Response(502, text="bad gateway"))

    class Flaky:
        def search(self, text, limit):  # noqa: ANN001, ANN201
            raise caught.value

    result = search_one(Flaky(), SearchTask(1, "flickr", "red panda", 10))
    assert result.error and "name or service not known" in result.error and not result.stop_engine
    assert AuthError.action == "stop"
