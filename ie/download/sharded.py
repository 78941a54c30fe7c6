"""Downloads on a remote executor (Ray): URLs go out in shards, each fetched and validated by a worker;
the driver de-duplicates every result in input order and writes the store (one writer).

Images travel back to the driver through the executor (Ray's object store) and are written into the
driver's run directory: workers need no shared filesystem and never touch the store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from ie.download.options import DownloadOptions
from ie.download.pipeline import DownloadResult, download_list

if TYPE_CHECKING:
    from ie.api import Executor

SHARD_SIZE = 32  # URLs per task: large enough to keep a worker's connections busy, small for even spreading


def download_shard(options: DownloadOptions, urls: Sequence[str]) -> list[DownloadResult]:
    """Fetch + validate + re-encode ``urls`` on a worker (no de-duplication: the driver dedupes all shards in
    input order); results in the order of ``urls``, each kept image's bytes included."""
    return download_list(urls, options)


def download_sharded(urls: Sequence[str], options: DownloadOptions, executor: Executor, *,
                     shard_size: int = SHARD_SIZE, shards_in_flight: int = 8) -> Iterator[DownloadResult]:
    """Every URL's result, in input order, computed by ``executor``'s workers (no de-duplication)."""
    distinct = list(dict.fromkeys(urls))
    shards = [distinct[i:i + shard_size] for i in range(0, len(distinct), shard_size)]
    for results in executor.map(download_shard, shards, shards_in_flight, context=options):
        yield from results
