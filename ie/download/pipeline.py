"""The download pipeline: fetch -> validate/re-encode (worker pool) -> dedupe -> (store), with progress."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterable
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ie.api import DownloadOutcome, Outcome
from ie.download.dedupe import DedupeIndex
from ie.download.fetch import Fetcher, FetchError
from ie.download.guard import Blocked
from ie.download.options import DownloadOptions
from ie.download.validate import Processed, process_image

if TYPE_CHECKING:
    from rich.table import Table


T = TypeVar("T")
REORDER_WINDOW = 2048  # URLs started past the oldest unfinished one (finished results wait to go out in order)


@dataclass(frozen=True)
class DownloadResult:
    """One URL's fate; ``image`` is set exactly when the outcome is OK."""

    outcome: DownloadOutcome
    image: Processed | None = None


@dataclass
class DownloadSummary:
    """What a batch did: counts by outcome and by reason, the images kept, and the speed."""

    counts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (url, sha256)
    skipped: int = 0  # URLs already downloaded earlier in the run
    seconds: float = 0.0
    transient: int = 0  # failures that may heal: a later run retries them (DownloadOptions.max_attempts)

    def add(self, result: DownloadResult) -> None:
        o = result.outcome
        self.counts[o.outcome.value] += 1
        self.transient += int(o.transient)
        self.reasons[o.reason or o.outcome.value] += 1
        if o.ok and o.sha256:
            self.kept.append((o.url, o.sha256))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def ok(self) -> int:
        return self.counts[Outcome.OK.value]

    @property
    def failed(self) -> int:
        return self.total - self.ok

    @property
    def leaks(self) -> int:
        return self.counts[Outcome.LEAK.value]

    def nothing_obtained(self) -> str | None:
        """None when an image was kept (or nothing was tried); otherwise one line: how many URLs failed, the
        main reasons and, when the SSRF guard refused private or loopback addresses, the ``--allow-host`` hint."""
        if not self.total or self.ok:
            return None
        top = ", ".join(f"{reason} {n}" for reason, n in self.reasons.most_common(3))
        refused = self.counts[Outcome.BLOCKED_PRIVATE_ADDRESS.value]
        hint = (f"; {refused} pointed at private or loopback addresses: allow a host you trust with "
                "--allow-host HOST:PORT (or --allow-private-hosts)" if refused else "")
        retry = f"; {self.transient} may heal and are retried on the next run" if self.transient else ""
        return f"none of the {self.total} URLs gave an image ({top}){hint}{retry}"

    @property
    def images_per_s(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def table(self) -> Table:
        from rich.table import Table

        table = Table(title=f"downloads: {self.ok} ok / {self.total} ({self.skipped} skipped), "
                            f"{self.seconds:.1f} s, {self.images_per_s:.1f} img/s")
        table.add_column("outcome")
        table.add_column("reason")
        table.add_column("count", justify="right")
        by_outcome: dict[str, list[tuple[str, int]]] = {}
        for reason, n in self.reasons.items():
            by_outcome.setdefault(_outcome_of(reason, self.counts), []).append((reason, n))
        for outcome, _ in self.counts.most_common():
            for reason, n in sorted(by_outcome.get(outcome, []), key=lambda r: -r[1]):
                table.add_row(outcome, reason, str(n))
        if self.transient:
            table.caption = (f"{self.transient} transient failure(s) (timeouts, connection errors, 429, 5xx): "
                             "running the same command again retries them")
        return table

    def as_dict(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "reasons": dict(self.reasons), "kept": len(self.kept),
                "skipped": self.skipped, "transient": self.transient, "seconds": round(self.seconds, 3),
                "images_per_s": round(self.images_per_s, 2)}


def _outcome_of(reason: str, counts: Counter[str]) -> str:
    """Which outcome a reason belongs to, for grouping the table (reasons start with their outcome's name)."""
    if reason.startswith("http_") and Outcome.HTTP_ERROR.value in counts:
        return Outcome.HTTP_ERROR.value
    if reason.startswith("blocked_") and reason[8:].split("_")[0] == "scheme":
        return Outcome.BLOCKED_SCHEME.value
    if reason.startswith("blocked_"):
        return Outcome.BLOCKED_PRIVATE_ADDRESS.value
    return next((o for o in counts if reason.startswith(o)), "other")


def make_executor(options: DownloadOptions) -> Executor:
    """The decode pool: threads (Pillow releases the GIL) or processes (forkserver: safe beside threads)."""
    workers = options.workers or os.cpu_count() or 1
    if options.executor == "process":
        import multiprocessing

        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"))
    return ThreadPoolExecutor(workers, thread_name_prefix="ie-decode")


def _safe_url(url: object) -> str:
    """A URL that SQLite and terminals accept (lone surrogates from undecodable bytes escaped)."""
    text = url if isinstance(url, str) else repr(url)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


async def download_many(
    urls: Iterable[str],
    options: DownloadOptions,
    *,
    dedupe: DedupeIndex | None = None,
    executor: Executor | None = None,
) -> AsyncIterator[DownloadResult]:
    """Download, validate and (if ``dedupe``) de-duplicate ``urls``; yields one result per distinct URL, in
    input order. Store-free: the caller decides what to keep.

    Fetching runs out of order (``options.concurrency`` requests in flight); finished results wait in a
    reorder buffer until every earlier URL is done, then are de-duplicated and yielded. So which of two
    near-identical images is kept depends on the URL list alone, never on network timing (a resumed run keeps
    the same ones). The buffer holds at most ``REORDER_WINDOW`` URLs: past a URL that is still downloading,
    at most that many more are started.
    """
    urls = list(dict.fromkeys(urls))
    if not urls:
        return
    fetcher = Fetcher(options)
    pools = [executor or make_executor(options)]
    loop = asyncio.get_running_loop()
    image_opts = options.image_options()
    window = asyncio.Semaphore(options.concurrency * 2)  # bounds bodies held in memory
    ahead = asyncio.Semaphore(max(REORDER_WINDOW, options.concurrency * 2))  # started, not yet yielded
    done: asyncio.Queue[tuple[int, DownloadResult]] = asyncio.Queue()

    async def one(url: str) -> DownloadResult:
        start = time.monotonic()

        def result(outcome: Outcome, reason: str, status: int | None = None, nbytes: int = 0,
                   image: Processed | None = None) -> DownloadResult:
            return DownloadResult(DownloadOutcome(
                url=_safe_url(url), outcome=outcome, reason=reason, status_code=status, bytes=nbytes,
                seconds=round(time.monotonic() - start, 4), sha256=image.sha256 if image else None), image)

        try:
            fetched = await fetcher.fetch(url)
        except Blocked as exc:
            return result(exc.outcome, exc.reason)
        except FetchError as exc:
            return result(exc.outcome, exc.reason, exc.status, exc.nbytes)
        size = len(fetched.body)
        for retry in (False, True):
            pool = pools[0]
            try:
                processed = await loop.run_in_executor(pool, process_image, fetched.body, image_opts)
                break
            except BrokenExecutor:
                # A decoder crashed its worker process (the isolation the process pool is for). Every body in
                # flight fails with it: start a fresh pool and try each once more; a second crash is the culprit.
                if executor is not None:
                    return result(Outcome.DECODE_ERROR, "decoder_crashed", fetched.status, size)
                if pools[0] is pool:
                    pools[0] = make_executor(options)
                    pool.shutdown(wait=False, cancel_futures=True)
                if retry:
                    return result(Outcome.DECODE_ERROR, "decoder_crashed", fetched.status, size)
        if not isinstance(processed, Processed):
            return result(processed.outcome, processed.reason, fetched.status, size)
        return result(Outcome.OK, processed.reason, fetched.status, size, processed)

    async def guarded(index: int, url: str) -> None:
        try:
            res = await one(url)
        except Exception as exc:  # noqa: BLE001 - one URL must never take the batch down
            res = DownloadResult(DownloadOutcome(url=_safe_url(url), outcome=Outcome.CONNECTION_ERROR,
                                                 reason=f"internal_{type(exc).__name__}"))
        finally:
            window.release()
        done.put_nowait((index, res))

    tasks: set[asyncio.Task[None]] = set()

    async def produce() -> None:
        for index, url in enumerate(urls):
            await ahead.acquire()
            await window.acquire()
            task = asyncio.create_task(guarded(index, url))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    producer = asyncio.create_task(produce())
    buffer: dict[int, DownloadResult] = {}
    try:
        for position in range(len(urls)):
            while position not in buffer:
                index, res = await done.get()
                buffer[index] = res
            res = buffer.pop(position)
            ahead.release()
            yield dedupe_result(res, dedupe) if dedupe is not None else res
    finally:
        producer.cancel()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(producer, *tasks, return_exceptions=True)
        await fetcher.aclose()
        if executor is None:
            pools[0].shutdown(wait=False, cancel_futures=True)


def dedupe_result(result: DownloadResult, dedupe: DedupeIndex) -> DownloadResult:
    """``result`` unless its image duplicates (or leaks) one already seen; then that verdict, without image."""
    image = result.image
    if image is None:
        return result
    verdict, reason = dedupe.check_and_add(image.sha256, image.raw_sha256, image.phash, image.signature)
    if verdict is Outcome.OK:
        return result
    return DownloadResult(dataclasses.replace(result.outcome, outcome=verdict, reason=reason, sha256=None))


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync code, also when the caller already runs an event loop (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="ie-download")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def download_list(urls: Iterable[str], options: DownloadOptions, *,
                  dedupe: DedupeIndex | None = None) -> list[DownloadResult]:
    """Sync, store-free: every result of :func:`download_many` in a list."""

    async def collect() -> list[DownloadResult]:
        return [r async for r in download_many(urls, options, dedupe=dedupe)]

    return run_sync(collect())
