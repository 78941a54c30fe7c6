"""Downloads into a run store: every URL's outcome recorded, kept images written content-addressed, on this
machine (async, :mod:`ie.download.pipeline`) or on a remote executor's workers (:mod:`ie.download.sharded`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ie.download.dedupe import DedupeIndex
from ie.download.options import DownloadOptions
from ie.download.pipeline import DownloadResult, DownloadSummary, _safe_url, dedupe_result, download_many, run_sync
from ie.download.sharded import download_sharded

if TYPE_CHECKING:
    from rich.console import Console

    from ie.api import Executor as RunExecutor
    from ie.store import RunStore


def download_to_store(
    urls: Sequence[str],
    store: RunStore,
    *,
    iteration: int | None,
    options: DownloadOptions,
    dedupe: DedupeIndex | None = None,
    progress: bool = True,
    executor: RunExecutor | None = None,
) -> DownloadSummary:
    """Download ``urls`` into the run store; every URL's outcome is recorded, kept images written
    content-addressed. URLs already recorded in the run are skipped. ``dedupe`` (e.g. holding the target's
    leak index) is seeded from the store's images once per store; without one, a fresh index is built.
    A remote ``executor`` (Ray) fetches and validates on its workers (:mod:`ie.download.sharded`).
    """
    from ie.download.progress import ProgressReporter

    done = store.downloaded_urls()
    distinct = list(dict.fromkeys(urls))
    todo = [u for u in distinct if _safe_url(u) not in done]
    if dedupe is None:
        dedupe = DedupeIndex(options.phash_threshold, options.leak_threshold)
    key = str(store.run_dir.resolve())
    if key not in dedupe.seeded_from:
        dedupe.seed_from_store(store.image_hashes())
        dedupe.seeded_from.add(key)
    summary = DownloadSummary(skipped=len(distinct) - len(todo))
    reporter = ProgressReporter(len(todo), enabled=progress)

    retry = options.retry_policy()

    def write(res: DownloadResult) -> None:
        if res.image is not None:
            img = res.image
            store.add_image(img.data, width=img.width, height=img.height, phash=img.phash, signature=img.signature,
                            source_url=res.outcome.url, iteration=iteration, ext="jpg", outcome=res.outcome,
                            retry=retry)
        else:
            store.record_download(res.outcome, iteration, retry)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        # Several writer threads: each image is fsynced before its row commits; fsyncs overlap, commits serialise.
        with ThreadPoolExecutor(4, thread_name_prefix="ie-store") as writers:
            pending: set[asyncio.Future[None]] = set()
            async for res in download_many(todo, options, dedupe=dedupe):
                summary.add(res)
                reporter.advance(res.outcome.ok)
                pending.add(loop.run_in_executor(writers, write, res))
                if len(pending) >= 64:
                    finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    for fut in finished:
                        fut.result()  # a failed store write (disk full, ...) stops the batch loudly
            for fut in await asyncio.gather(*pending, return_exceptions=True):
                if isinstance(fut, BaseException):
                    raise fut

    def run_remote(remote: RunExecutor) -> None:
        for res in download_sharded(todo, options, remote):
            res = dedupe_result(res, dedupe)
            summary.add(res)
            reporter.advance(res.outcome.ok)
            write(res)

    start = time.monotonic()
    with reporter:
        if executor is not None and executor.remote:
            run_remote(executor)
        else:
            run_sync(run())
    summary.seconds = time.monotonic() - start
    if progress:
        reporter.console.print(summary.table())
    return summary


def print_summary(summary: DownloadSummary, console: Console | None = None) -> None:
    from rich.console import Console

    (console or Console(stderr=True)).print(summary.table())
