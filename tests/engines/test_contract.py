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
