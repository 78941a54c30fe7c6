"""The search stage: results recorded by the driver, a stopping engine skipped for the rest of the run."""

from __future__ import annotations

from types import SimpleNamespace

from rich.console import Console

from ie.api import Hit, QuotaExceededError, SearchEngine, SearchPage
from ie.config import ExploreConfig
from ie.loop.search import search_queries
from ie.store import RunStore
from ie_plugins.executors.local import ThreadExecutor


class QuotaEngine(SearchEngine):
    name = "quota"
    default_rate_per_second = 1000.0

    def __init__(self, options=None):
        super().__init__(options)
        self.calls = 0

    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        self.calls += 1
        raise QuotaExceededError(self.name, "daily quota spent")


class EchoEngine(SearchEngine):
    name = "echo"
    default_rate_per_second = 1000.0

    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        return SearchPage([Hit(url=f"http://example.test/{query}/{i}.jpg", engine=self.name, query=query, rank=i)
                           for i in range(per_page)], has_more=False)


def test_engine_that_says_stop_is_skipped_for_the_rest_of_the_run(tmp_path):
    store = RunStore.open(tmp_path / "run")
    config = ExploreConfig(images_per_query=3, options={"search": {"options": {"concurrency": 1}}})
    engines = {"quota": QuotaEngine(), "echo": EchoEngine()}
    session = SimpleNamespace(executor=ThreadExecutor(), engines=engines, engine_options=lambda name: {})
    ctx = SimpleNamespace(session=session, store=store, config=config, console=Console(quiet=True),
                          progress=False, check_stop=lambda: None)
    for i in range(4):
        for engine in engines:
            store.add_query(0, f"c{i}", f"text {i}", engine)
    info = search_queries(ctx, store.queries(iteration=0, status="planned"))

    assert engines["quota"].calls == 1  # the first refusal disables it; later queries are not sent
    assert info == {"searched": 8, "errors": 4}
    rows = {(q["engine"], q["text"]): q for q in store.queries(iteration=0)}
    assert all(rows[("echo", f"text {i}")]["status"] == "done" for i in range(4))
    assert store.query("SELECT COUNT(*) FROM hits")[0][0] == 4 * 3
    assert "quota" in store.get_state("disabled_engines")
    store.close()


def test_when_no_engine_can_answer_the_run_stops_and_resume_searches_again(tmp_path):
    """Every query failed and every engine said stop: a failed job (exit 1), not an iteration that trains "on the
    web" with no web image; the queries go back to planned, so `ie resume` searches them once an engine answers."""
    import pytest

    from ie.api import JobFailedError

    store = RunStore.open(tmp_path / "run")
    config = ExploreConfig(images_per_query=3, options={"search": {"options": {"concurrency": 1}}})
    engines = {"quota": QuotaEngine()}
    session = SimpleNamespace(executor=ThreadExecutor(), engines=engines, engine_options=lambda name: {})
    ctx = SimpleNamespace(session=session, store=store, config=config, console=Console(quiet=True),
                          progress=False, check_stop=lambda: None)
    for i in range(3):
        store.add_query(0, f"c{i}", f"text {i}", "quota")
    with pytest.raises(JobFailedError, match=r"iteration 0: no engine can answer \(quota: .*daily quota spent\); "
                                             "`ie resume` goes on once one does"):
        search_queries(ctx, store.queries(iteration=0, status="planned"))
    assert [q["status"] for q in store.queries(iteration=0)] == ["planned"] * 3
    engines["quota"] = EchoEngine()  # the quota reset: the start's first call clears disabled_engines
    store.set_state("disabled_engines", {})
    assert search_queries(ctx, store.queries(iteration=0, status="planned")) == {"searched": 3, "errors": 0}
    store.close()


def test_an_outage_of_every_query_stops_the_run_too(tmp_path):
    import pytest

    from ie.api import JobFailedError, TransientEngineError

    class Down(EchoEngine):
        name = "down"

        def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
            raise TransientEngineError(self.name, "cannot reach https://api.example: [Errno -2] Name or service not known")

    store = RunStore.open(tmp_path / "run")
    config = ExploreConfig(images_per_query=3, options={"search": {"options": {"concurrency": 1}}})
    session = SimpleNamespace(executor=ThreadExecutor(), engines={"down": Down()}, engine_options=lambda name: {})
    ctx = SimpleNamespace(session=session, store=store, config=config, console=Console(quiet=True),
                          progress=False, check_stop=lambda: None)
    store.add_query(0, "c0", "text 0", "down")
    with pytest.raises(JobFailedError, match="no engine can answer .*Name or service not known"):
        search_queries(ctx, store.queries(iteration=0, status="planned"))
    assert store.get_state("disabled_engines") == {}  # a passing outage never disables the engine
    store.close()
