"""A concept searched again goes deeper: ``SearchEngine.search(query, limit, skip)`` returns the results after the
first ``skip``, fetching only the pages it needs when they align."""

from __future__ import annotations

from ie.api import Hit, SearchEngine, SearchPage


class Paged(SearchEngine):
    name = "paged"
    max_per_page = 10
    default_rate_per_second = 1000.0
    default_burst = 1000.0

    def __init__(self, total: int = 45):
        super().__init__({})
        self.total, self.pages = total, []

    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        self.pages.append(page)
        start = (page - 1) * per_page
        stop = min(start + per_page, self.total)
        return SearchPage([Hit(f"http://x/{query}/{i}", self.name, query, 0) for i in range(start, stop)],
                          has_more=stop < self.total)


def test_skip_on_a_page_boundary_fetches_only_the_pages_after_it():
    engine = Paged()
    hits = engine.search("q", 10, skip=20)
    assert [h.url for h in hits] == [f"http://x/q/{i}" for i in range(20, 30)]
    assert [h.rank for h in hits] == list(range(20, 30)) and engine.pages == [3]


def test_skip_off_a_page_boundary_pages_from_the_first():
    engine = Paged()
    hits = engine.search("q", 8, skip=12)
    assert [h.url for h in hits] == [f"http://x/q/{i}" for i in range(12, 20)] and engine.pages[0] == 1


def test_a_deeper_search_comes_back_short_at_the_end_of_the_results():
    engine = Paged(total=25)
    assert [h.rank for h in engine.search("q", 10, skip=20)] == [20, 21, 22, 23, 24]
    assert engine.search("q", 10, skip=30) == []
    capped = Paged()
    capped.max_results = 30
    assert len(capped.search("q", 10, skip=25)) == 5 and capped.search("q", 10, skip=30) == []


def test_simweb_deeper_results_continue_the_ranking():
    from ie_plugins.simweb.engine import SimWebEngine

    engine = SimWebEngine({"seed": 0})
    query = engine.world.concepts[5].name
    first, deeper, both = engine.search(query, 16), engine.search(query, 16, skip=16), engine.search(query, 32)
    assert [h.url for h in first + deeper] == [h.url for h in both]
    assert not {h.url for h in first} & {h.url for h in deeper}
