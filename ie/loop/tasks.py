"""Work units that an executor may run anywhere: threads here, Ray workers on other machines.

Each is a module-level function over plain, picklable data, so a remote executor can ship it. A worker
rebuilds what it needs from names and options (engines through its own plugin manager), reads secrets
where it runs (environment variables or the user config file: secrets never travel in task arguments),
and returns results; the driver alone writes the run store.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ie.api import EngineError, Hit, RateLimiter, SearchEngine

if TYPE_CHECKING:
    import torch

    from ie.download.options import DownloadOptions
    from ie.download.pipeline import DownloadResult


@dataclass(frozen=True)
class SearchTask:
    """One planned query. ``options`` is the engine's config table (plus seed), never its secrets."""

    query_id: int
    engine: str
    text: str
    limit: int
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchResult:
    query_id: int
    hits: list[Hit]
    error: str | None = None
    stop_engine: bool = False  # the engine said to stop for the rest of the run (quota, bad key)


def search_one(engine: SearchEngine, task: SearchTask) -> SearchResult:
    """Search ``task`` on ``engine``; a typed engine error becomes the result's ``error``."""
    try:
        return SearchResult(task.query_id, engine.search(task.text, task.limit))
    except EngineError as err:
        return SearchResult(task.query_id, [], f"{type(err).__name__}: {err}", err.action == "stop")


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


def download_shard(options: DownloadOptions, urls: Sequence[str]) -> list[DownloadResult]:
    """Fetch + validate + re-encode ``urls`` (no de-duplication: the driver dedupes all shards in input
    order); results in the order of ``urls``, each kept image's bytes included."""
    from ie.download.pipeline import download_list

    return download_list(urls, options)


def featurize_blobs(context: tuple[Any, int], blobs: Sequence[bytes]) -> torch.Tensor:
    """Features of encoded images under ``context = (backbone, image_size)``, as :class:`ModelFeaturizer`
    computes them (same transform, L2-normalised); on the worker's GPU when it has one."""
    import io

    import torch

    from ie.learning.features import eval_transform, extract_features

    backbone, image_size = context
    device = "cuda" if torch.cuda.is_available() else "cpu"
    module = backbone.to(device)
    return extract_features(module, [io.BytesIO(b) for b in blobs], eval_transform(image_size), device=device,
                            batch_size=max(1, len(blobs)))
