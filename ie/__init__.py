"""internet-explorer: targeted representation learning on the open web.

Library use (everything a library user needs is here, at the top level)::

    import ie

    report = ie.explore(target="simweb", iterations=2, run_dir="runs/lib")   # -> the HTML report's path
    ie.resume("runs/lib", iterations=4)                                      # go on, two more iterations
    with ie.open_run("runs/lib") as run:                                     # read what a run holds
        print(run.metrics())

``ie.ExploreConfig`` lists every setting (its fields are the keyword arguments of ``ie.explore``);
``ie.Explorer(config, run_dir).run()`` is the same loop as an object. Plugins import ``ie.api`` instead.
Attributes load lazily, so ``import ie`` stays light (no torch).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("internet-explorer")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

if TYPE_CHECKING:
    from ie.config import ExploreConfig
    from ie.loop.driver import Explorer
    from ie.store import RunStore

__all__ = ["ExploreConfig", "Explorer", "RunStore", "__version__", "explore", "load_config", "open_run", "resume"]

_LAZY = {"ExploreConfig": "ie.config", "load_config": "ie.config", "Explorer": "ie.loop.driver",
         "RunStore": "ie.store"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ie' has no attribute {name!r}")


def explore(config: ExploreConfig | None = None, run_dir: str | Path = "runs/explore", *, fresh: bool = False,
            progress: bool = True, **settings: Any) -> Path:
    """Run exploration in ``run_dir`` and return the report's path.

    ``settings`` are :class:`ExploreConfig` fields (``target="simweb"``, ``iterations=2``, ``engines=["openverse"]``,
    ...), applied over ``config`` (default: the built-in offline defaults). ``fresh`` deletes an earlier run in
    ``run_dir`` first; without it, a run directory holding another config is refused (use :func:`resume`).
    Ctrl-C stops at the next safe point (``ie.loop.context.StopRequested``); resume it later.
    """
    import dataclasses
    import shutil

    from ie.config import ExploreConfig
    from ie.loop.driver import Explorer

    config = dataclasses.replace(config or ExploreConfig(), **settings) if settings else (config or ExploreConfig())
    if fresh and Path(run_dir).is_dir():
        shutil.rmtree(run_dir)
    return Explorer(config, run_dir, progress=progress).run()


def resume(run_dir: str | Path, *, progress: bool = True, **runtime: Any) -> Path:
    """Continue the run in ``run_dir`` where it stopped; returns the report's path. ``runtime`` may change
    settings that do not fix the run's results (``device``, ``iterations`` to extend it, ``max_hours``, ...)."""
    from ie.loop.driver import Explorer

    return Explorer.resume(run_dir, runtime=runtime, progress=progress).run()


def open_run(run_dir: str | Path) -> RunStore:
    """The store of an existing run, to read its metrics, queries, images and rewards (a context manager)."""
    from ie.store import RunStore

    return RunStore.open_existing(run_dir)
