"""One progress bar for any work that can take more than a few seconds (embedding a vocabulary, extracting
features, training): rich on stderr, shown only once work starts and removed when it ends; where stderr is no
terminal (a log file, nohup, CI) a plain line at every tenth of the work instead, so a long step is never silent;
a no-op when disabled (library use, tests) so callers never branch on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Bar:
    """``advance(n)`` by a step, or ``update(done)`` to an absolute count. Starts drawing on the first call."""

    def __init__(self, description: str, total: int, enabled: bool):
        self.description, self.total, self.enabled = description, total, enabled and total > 0
        self.done = 0
        self._progress: Any = None
        self._task: Any = None
        self._plain_step = -1  # the last tenth printed as a plain line (no terminal)
        self._began = 0.0

    def _start(self) -> None:
        import time

        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        console = Console(stderr=True)
        self._began = time.monotonic()
        if not console.is_terminal:
            self._progress = console
            return
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=self.total)

    def update(self, done: int) -> None:
        self.done = done
        if not self.enabled:
            return
        if self._progress is None:
            self._start()
        if self._task is None:  # plain lines
            step = min(10, 10 * done // max(1, self.total))
            if step > self._plain_step:
                import time

                self._plain_step = step
                elapsed = time.monotonic() - self._began
                self._progress.print(f"{self.description}: {done:,}/{self.total:,} ({elapsed:.0f} s)", highlight=False,
                                     markup=False)
            return
        self._progress.update(self._task, completed=done)

    def advance(self, n: int = 1) -> None:
        self.update(self.done + n)

    def close(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.stop()
        self._progress = None


@contextmanager
def progress_bar(description: str, total: int, *, enabled: bool = True) -> Iterator[Bar]:
    """A :class:`Bar` for ``total`` units of work, closed (and erased) when the block ends."""
    bar = Bar(description, total, enabled)
    try:
        yield bar
    finally:
        bar.close()
