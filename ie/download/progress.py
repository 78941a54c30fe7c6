"""A rich progress bar with ok / failed counts and throughput; a no-op when disabled (library use)."""

from __future__ import annotations

import time
from types import TracebackType


class ProgressReporter:
    def __init__(self, total: int, *, enabled: bool = True, description: str = "downloading"):
        from rich.console import Console

        self.console = Console(stderr=True)
        self.enabled = enabled and total > 0
        self.total = total
        self.ok = 0
        self.failed = 0
        self._start = time.monotonic()
        self._progress = None
        self._task = None
        self._description = description

    def __enter__(self) -> ProgressReporter:
        if self.enabled:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("[green]ok {task.fields[ok]}[/] [red]failed {task.fields[failed]}[/]"),
                TextColumn("{task.fields[rate]:.1f} img/s"), TimeElapsedColumn(), TimeRemainingColumn(),
                console=self.console, transient=False, refresh_per_second=4,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._description, total=self.total, ok=0, failed=0, rate=0.0)
        self._start = time.monotonic()
        return self

    def advance(self, ok: bool) -> None:
        if ok:
            self.ok += 1
        else:
            self.failed += 1
        if self._progress is not None and self._task is not None:
            elapsed = max(1e-6, time.monotonic() - self._start)
            self._progress.update(self._task, advance=1, ok=self.ok, failed=self.failed, rate=self.ok / elapsed)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
