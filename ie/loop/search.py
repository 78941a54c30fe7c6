"""Stage 2, search: every planned query searched once, concurrently, honouring engine errors.

The work unit (``SearchTask`` -> ``SearchResult``) is plain, picklable data and ``run_search`` a module-level
function, so a remote executor (Ray) can run it anywhere: the worker rebuilds the engine from its name and
options and reads secrets where it runs (they never travel in task arguments); the driver alone writes the store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, ClassVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ie.api import (EngineError, Hit, JobFailedError, QuotaExceededError, RateLimiter, SearchEngine, TokenBucket,
                    with_defaults)
from ie.faults import fault_point
from ie.loop.context import RunContext
from ie.loop.pauses import pause_engines, utc_time
from ie.loop.session import SEARCH_OPTIONS
from ie.store import QueryRecord


@dataclass(frozen=True)
class SearchTask:
    """One planned query. ``options`` is the engine's config table (plus seed), never its secrets."""

    query_id: int
    engine: str
    text: str
    limit: int
    options: Mapping[str, Any] = field(default_factory=dict)
    skip: int = 0  # results an earlier search of the same text fetched: this one goes deeper


@dataclass(frozen=True)
class SearchResult:
    query_id: int
    hits: list[Hit]
    error: str | None = None  # "<outcome>: <ErrorClass>: <message>" (ie.api.errors: auth, quota, throttled, ...)
    stop_engine: bool = False  # the engine said to stop for the rest of the session (quota, bad key)
    pause_seconds: float | None = None  # a spent quota: seconds until it resets


def search_one(engine: SearchEngine, task: SearchTask) -> SearchResult:
    """Search ``task`` on ``engine``; a typed engine error becomes the result's ``error``."""
    try:
        # skip only when deeper: an engine written before ``skip`` existed still answers first searches
        hits = (engine.search(task.text, task.limit, skip=task.skip) if task.skip
                else engine.search(task.text, task.limit))
        return SearchResult(task.query_id, hits)
    except EngineError as err:
        pause = None
        if isinstance(err, QuotaExceededError):
            pause = err.retry_after if err.retry_after is not None else engine.quota_period
        return SearchResult(task.query_id, [], f"{err.outcome}: {type(err).__name__}: {err}",
                            err.action == "stop", pause)


_engines: dict[str, SearchEngine] = {}
_engines_lock = threading.Lock()


def _worker_engine(name: str, options: Mapping[str, Any]) -> SearchEngine:
    """This worker process's instance of engine ``name`` with ``options`` (built once, then reused)."""
    import json

    from ie.config import user_secrets
    from ie.host.manager import get_plugin_manager

    key = f"{name}:{json.dumps(dict(options), sort_keys=True, default=str)}"
    with _engines_lock:
        if key not in _engines:
            _engines[key] = get_plugin_manager().create("engine", name, {**options, "secrets": user_secrets()})
        return _engines[key]


def run_search(limiters: Mapping[str, RateLimiter], task: SearchTask) -> SearchResult:
    """Remote search: the engine is built in the worker and paced by the executor's shared limiter
    (one bucket per engine for the whole cluster)."""
    engine = _worker_engine(task.engine, task.options)
    if task.engine in limiters:
        engine.rate_limiter = limiters[task.engine]
    return search_one(engine, task)


def search_queries(ctx: RunContext, planned: Sequence[QueryRecord]) -> dict[str, Any]:
    """Search ``planned`` queries on the run's executor; the driver records each result. An engine whose
    error says ``stop`` (quota spent, key refused) is skipped for the rest of the run."""
    session, store, cfg = ctx.session, ctx.store, ctx.config
    disabled: dict[str, str] = dict(store.get_state("disabled_engines", {}))
    executor = session.executor
    concurrency = int(with_defaults(SEARCH_OPTIONS, cfg.plugin_options("search", "options"))["concurrency"])
    tasks = [SearchTask(row["id"], row["engine"], row["text"], cfg.images_per_query,
                        session.engine_options(row["engine"]), row.get("skip") or 0) for row in planned]

    def local(task: SearchTask) -> SearchResult:
        if task.engine in disabled:  # checked when the task runs: a stop seen by an earlier query counts
            return SearchResult(task.query_id, [], f"paused: engine {task.engine} sits out: {disabled[task.engine]}")
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
    last_error: dict[str, str] = {}
    pauses: dict[str, float] = {}
    failures: dict[tuple[str, str], int] = {}
    columns = (TextColumn("search"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=ctx.console, disable=not ctx.progress, transient=True) as bar:
        progress = bar.add_task("search", total=len(planned))
        for result in results:
            engine = engine_of[result.query_id]
            if result.stop_engine:
                disabled.setdefault(engine, result.error or "stopped")
            if result.pause_seconds is not None:
                pauses[engine] = max(pauses.get(engine, 0.0), result.pause_seconds)
            hits = licensed(result.hits, cfg.licenses)
            store.finish_query(result.query_id, hits, result.error)  # one transaction: never half-recorded
            fault_point(f"search:{planned[0]['iteration']}:after-query")
            errors += result.error is not None
            if result.error is not None:
                last_error[engine] = result.error
                kind = (engine, result.error.split(":", 1)[0])
                failures[kind] = failures.get(kind, 0) + 1
            bar.advance(progress)
            ctx.check_stop()
    store.set_state("disabled_engines", disabled)
    pause_engines(store, pauses)
    for (engine, kind), n in sorted(failures.items()):  # said, not only stored: a throttled engine is no secret
        ctx.console.print(f"[yellow]engine {engine}: {n} of {len(planned)} queries failed ({kind})[/]")
    until = store.get_state("engine_paused_until", {})
    for engine, reason in disabled.items():
        when = f" until {utc_time(until[engine])}" if engine in pauses else ""
        ctx.console.print(f"[yellow]engine {engine} sits out this session{when}:[/] {reason}")
    if planned and errors == len(planned):
        # not one query answered (every engine stopped, or an outage): stop (exit 1) rather than train "on the web"
        # with no web image; the queries go back to planned and the stage is not marked, so `ie resume` searches
        # them again once an engine answers
        store.replan_queries([row["id"] for row in planned])
        reasons = "; ".join(f"{name}: {reason}" for name, reason in sorted({**last_error, **disabled}.items()))
        resets = [until[name] for name in session.engines if name in until and until[name] > time.time()]
        when = f" (the first quota resets at {utc_time(min(resets))})" if len(resets) == len(session.engines) else ""
        raise JobFailedError(f"iteration {planned[0]['iteration']}: no engine can answer ({reasons}); `ie resume` "
                             f"goes on once one does{when}")
    return {"searched": len(planned), "errors": errors}


def licensed(hits: list[Hit], families: Sequence[str]) -> list[Hit]:
    """The hits under one of the licence ``families`` (all hits when none is given); a hit whose licence is
    unknown is dropped when a filter is set: the user asked for images they may reuse."""
    if not families:
        return hits
    from ie.outputs.licences import licence_key

    wanted = set(families)
    return [hit for hit in hits if licence_key(hit.license) in wanted]


class SearchStage:
    name: ClassVar[str] = "search"
    changes_brain: ClassVar[bool] = False

    def run(self, ctx: RunContext, iteration: int) -> dict[str, Any]:
        return search_queries(ctx, ctx.store.queries(iteration=iteration, status="planned"))
