"""The search stage: every planned query searched once, concurrently, honouring engine errors."""

from __future__ import annotations

import sqlite3
from itertools import chain
from collections.abc import Callable, Sequence
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ie.api import TokenBucket
from ie.faults import fault_point
from ie.loop.tasks import SearchResult, SearchTask, run_search, search_one


def search_queries(explorer: Any, planned: Sequence[sqlite3.Row], check_stop: Callable[[], None]) -> dict[str, Any]:
    """Search ``planned`` queries on the run's executor; the driver records each result. An engine whose
    error says ``stop`` (quota spent, key refused) is skipped for the rest of the run."""
    session, store, cfg = explorer.session, explorer.store, explorer.config
    disabled: dict[str, str] = dict(store.get_state("disabled_engines", {}))
    executor = session.executor
    concurrency = int(cfg.plugin_options("search", "options").get("concurrency", 4))
    tasks = [SearchTask(row["id"], row["engine"], row["text"], cfg.images_per_query,
                        session.engine_options(row["engine"])) for row in planned]

    def local(task: SearchTask) -> SearchResult:
        if task.engine in disabled:  # checked when the task runs: a stop seen by an earlier query counts
            return SearchResult(task.query_id, [], f"engine disabled: {disabled[task.engine]}")
        result = search_one(session.engines[task.engine], task)
        if result.stop_engine:
            disabled.setdefault(task.engine, result.error or "stopped")
        return result

    if executor.remote:  # engines are rebuilt in the workers, paced by one cluster-wide bucket per engine
        limiters = {name: executor.rate_limiter(f"engine:{name}", e.rate_limiter.rate, e.rate_limiter.burst)
                    for name, e in session.engines.items() if isinstance(e.rate_limiter, TokenBucket)}
        remote = [t for t in tasks if t.engine not in disabled]
        results = chain((local(t) for t in tasks if t.engine in disabled),
                        executor.map(run_search, remote, concurrency, context=limiters))
    else:
        results = executor.map(local, tasks, concurrency)
    engine_of = {t.query_id: t.engine for t in tasks}
    errors = 0
    columns = (TextColumn("search"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=explorer.console, disable=not explorer.progress, transient=True) as bar:
        progress = bar.add_task("search", total=len(planned))
        for result in results:
            if result.stop_engine:
                disabled.setdefault(engine_of[result.query_id], result.error or "stopped")
            store.finish_query(result.query_id, result.hits, result.error)  # one transaction: never half-recorded
            fault_point(f"search:{planned[0]['iteration']}:after-query")
            errors += result.error is not None
            bar.advance(progress)
            check_stop()
    store.set_state("disabled_engines", disabled)
    for engine, reason in disabled.items():
        explorer.console.print(f"[yellow]engine {engine} skipped for this run:[/] {reason}")
    return {"searched": len(planned), "errors": errors}
