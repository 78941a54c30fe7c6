"""The default executor: a thread pool on this machine (searches and downloads are I/O-bound)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from ie.api import Executor, hookimpl

T = TypeVar("T")
R = TypeVar("R")


class ThreadExecutor(Executor):
    name = "local"

    def map(self, fn: Callable[..., R], items: Iterable[T], concurrency: int = 8, *,
            context: Any = None) -> Iterator[R]:
        if context is not None:
            fn = partial(fn, context)
        items = list(items)
        if concurrency <= 1 or len(items) <= 1:
            yield from map(fn, items)
            return
        pool = ThreadPoolExecutor(max_workers=min(concurrency, len(items)), thread_name_prefix="ie-exec")
        try:
            yield from pool.map(fn, items)
        finally:  # a consumer that stops early (Ctrl-C) cancels what has not started
            pool.shutdown(wait=True, cancel_futures=True)


@hookimpl
def ie_register_executors(register):  # type: ignore[no-untyped-def]
    register("local", ThreadExecutor, help="Threads on this machine (default)", options=())
