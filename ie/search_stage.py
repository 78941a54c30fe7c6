"""The search stage: every planned query searched once, concurrently, honouring engine errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ie.api import EngineError, Hit
from ie.faults import fault_point


def search_queries(explorer: Any, planned: Sequence[sqlite3.Row], check_stop: Callable[[], None]) -> dict[str, Any]:
    """Search ``planned`` queries; an engine whose error says ``stop`` is skipped for the rest of the run."""
    session, store, cfg = explorer.session, explorer.store, explorer.config
    disabled: dict[str, str] = dict(store.get_state("disabled_engines", {}))
    executor = session.create("executor", "local")
    errors = 0

    def one(row: sqlite3.Row) -> tuple[int, list[Hit], str | None]:
        if row["engine"] in disabled:
            return row["id"], [], f"engine disabled: {disabled[row['engine']]}"
        try:
            return row["id"], session.engines[row["engine"]].search(row["text"], cfg.images_per_query), None
        except EngineError as err:
            if err.action == "stop":
                disabled[row["engine"]] = str(err)
            return row["id"], [], f"{type(err).__name__}: {err}"

    columns = (TextColumn("search"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=explorer.console, disable=not explorer.progress, transient=True) as bar:
        task = bar.add_task("search", total=len(planned))
        for query_id, hits, error in executor.map(one, planned, concurrency=int(cfg.plugin_options("search", "options")
                                                                                 .get("concurrency", 4))):
            store.finish_query(query_id, hits, error)  # one transaction per query: never half-recorded
            fault_point(f"search:{planned[0]['iteration']}:after-query")
            errors += error is not None
            bar.advance(task)
            check_stop()
    store.set_state("disabled_engines", disabled)
    for engine, reason in disabled.items():
        explorer.console.print(f"[yellow]engine {engine} skipped for this run:[/] {reason}")
    return {"searched": len(planned), "errors": errors}
