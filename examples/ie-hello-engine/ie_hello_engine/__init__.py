"""A third-party engine plugin: every query returns numbered picture URLs on example.org.

Install with ``pip install -e examples/ie-hello-engine``; ``ie plugins`` then lists ``hello`` and
``ie search --engine hello "red panda"`` works. A real engine would call an HTTP API in ``search_page``.
"""

from __future__ import annotations

from urllib.parse import quote

from ie.api import Hit, SearchEngine, SearchPage, hookimpl


class HelloEngine(SearchEngine):
    name = "hello"
    max_per_page = 10
    max_results = 50
    default_rate_per_second = 100.0

    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        start = (page - 1) * per_page
        base = self.options.get("base_url", "https://example.org/hello")
        hits = [
            Hit(url=f"{base}/{quote(query)}/{i}.jpg", engine=self.name, query=query, rank=i, title=f"{query} #{i}")
            for i in range(start, min(start + per_page, self.max_results or start + per_page))
        ]
        return SearchPage(hits=hits, has_more=start + per_page < (self.max_results or 0))


@hookimpl
def ie_register_engines(register):  # type: ignore[no-untyped-def]
    register("hello", HelloEngine, help="Example engine from examples/ie-hello-engine")
