"""A spent quota pauses its engine until the stored reset time: `ie resume` before it asks nothing and says when;
after it the engine is back, in a new session or in the running one; failures in passing spend no concept."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from ie.api import JobFailedError, QuotaExceededError, RateLimitedError, SearchEngine, SearchPage
from ie.config import ExploreConfig
from ie.loop.driver import Explorer, StopRequested
from ie.loop.pauses import expire_pauses
from ie.loop.search import search_queries
from ie.store import RunStore
from ie.testing.configs import tiny_simweb_config
from ie_plugins.executors.local import ThreadExecutor
from ie_plugins.simweb.engine import SimWebEngine
from tests.explore.test_search_stage import EchoEngine


class SpentEngine(SearchEngine):
    """Says its quota is spent, and when it resets."""

    name = "spent"
    default_rate_per_second = 1000.0

    def __init__(self, retry_after: float | None = 5400.0):
        super().__init__()
        self.retry_after, self.calls = retry_after, 0

    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        self.calls += 1
        raise QuotaExceededError(self.name, "daily limit reached", self.retry_after)


class ThrottledEngine(SearchEngine):
    name = "throttled"
    default_rate_per_second = 1000.0
    max_backoff_retries = 0

    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        raise RateLimitedError(self.name, "HTTP 429 too many requests", 0.0)


def _context(tmp_path: Path, engines: dict[str, SearchEngine]) -> SimpleNamespace:
    store = RunStore.open(tmp_path / "run")
    config = ExploreConfig(images_per_query=3, options={"search": {"options": {"concurrency": 1}}})
    session = SimpleNamespace(executor=ThreadExecutor(), engines=engines, engine_options=lambda name: {})
    return SimpleNamespace(session=session, store=store, config=config, console=Console(quiet=True),
                           progress=False, check_stop=lambda: None)


def test_a_spent_quota_is_stored_with_its_reset_time_and_named_in_the_stop(tmp_path: Path) -> None:
    ctx = _context(tmp_path, {"spent": SpentEngine(5400.0)})
    for i in range(3):
        ctx.store.add_query(0, f"c{i}", f"text {i}", "spent")
    before = time.time()
    with pytest.raises(JobFailedError, match=r"no engine can answer .*; `ie resume` goes on once one does \(the "
                                             r"first quota resets at \d{4}-\d\d-\d\d \d\d:\d\d UTC\)"):
        search_queries(ctx, ctx.store.queries(iteration=0, status="planned"))
    until = ctx.store.get_state("engine_paused_until")["spent"]
    assert before + 5400 <= until <= time.time() + 5400
    assert ctx.session.engines["spent"].calls == 1  # one refusal: the other queries were not sent


def test_a_quota_without_a_stated_reset_pauses_for_the_engines_quota_period(tmp_path: Path) -> None:
    engine = SpentEngine(None)
    engine.quota_period = 1800.0
    ctx = _context(tmp_path, {"spent": engine, "echo": EchoEngine()})
    for i in range(2):
        ctx.store.add_query(0, f"c{i}", f"text {i}", "spent")
    ctx.store.add_query(0, "c9", "text 9", "echo")
    search_queries(ctx, ctx.store.queries(iteration=0, status="planned"))
    assert ctx.store.get_state("engine_paused_until")["spent"] == pytest.approx(time.time() + 1800, abs=60)
    assert [(q["error"] or "").split(":", 1)[0] for q in ctx.store.queries(iteration=0)] == ["quota", "paused", ""]


def test_a_pause_that_ended_puts_the_engine_back_in_the_running_session(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path / "run")
    store.set_state("disabled_engines", {"a": "quota: spent", "b": "auth: key refused", "c": "quota: spent"})
    store.set_state("engine_paused_until", {"a": time.time() - 1, "c": time.time() + 3600})
    assert expire_pauses(store) == ["a"]
    assert set(store.get_state("disabled_engines")) == {"b", "c"}  # a refused key is not a pause
    assert set(store.get_state("engine_paused_until")) == {"c"}


def test_throttled_queries_are_counted_and_said_and_spend_no_concept(tmp_path: Path) -> None:
    from ie.store.reads import next_search_skip

    ctx = _context(tmp_path, {"throttled": ThrottledEngine(), "echo": EchoEngine()})
    ctx.console = Console(record=True, width=200)
    for i in range(2):
        ctx.store.add_query(0, f"c{i}", f"text {i}", "throttled")
    ctx.store.add_query(0, "c9", "text 9", "echo")
    assert search_queries(ctx, ctx.store.queries(iteration=0, status="planned")) == {"searched": 3, "errors": 2}
    assert "engine throttled: 2 of 3 queries failed (throttled)" in ctx.console.export_text()
    assert "throttled" not in ctx.store.get_state("disabled_engines")  # throttling never disables an engine
    assert next_search_skip(ctx.store, "throttled", "text 0", 3, before_iteration=1) == 0  # searched again


def test_resume_before_the_reset_asks_nothing_and_after_it_uses_the_engine_again(run_dir: Path, monkeypatch) -> None:
    """The mission's promise for a paid quota: a spent one is not asked again before its reset (stored in the
    run), `ie resume` then says when it can go on; after the reset the engine is asked and back in use."""
    calls: list[str] = []

    def spent(self) -> None:  # noqa: ANN001
        calls.append("check")
        raise QuotaExceededError("simweb", "daily limit reached", 7200.0)

    monkeypatch.setattr(SimWebEngine, "check_access", spent)
    config = tiny_simweb_config(iterations=1, max_hours=1e-9)
    with pytest.raises(JobFailedError, match=r"daily limit reached; `ie resume` goes on once the quota resets "
                                             r"\(at \d{4}-\d\d-\d\d \d\d:\d\d UTC\)"):
        Explorer(config, run_dir, progress=False).run()
    assert calls == ["check"]
    store = RunStore.open(run_dir)
    assert store.get_state("engine_paused_until")["simweb"] == pytest.approx(time.time() + 7200, abs=60)
    store.close()

    with pytest.raises(JobFailedError, match=r"engine simweb: its quota was spent; paused until "):
        Explorer(config, run_dir, progress=False).run()
    assert calls == ["check"]  # before the reset: not asked

    store = RunStore.open(run_dir)
    store.set_state("engine_paused_until", {"simweb": time.time() - 1})  # the reset time has passed
    store.close()
    monkeypatch.undo()
    with pytest.raises(StopRequested):  # set up (engine asked and back), then stopped by the time budget
        Explorer(config, run_dir, progress=False).run()
    store = RunStore.open(run_dir)
    assert store.get_state("engine_paused_until") == {} and not store.get_state("disabled_engines")
    store.close()
