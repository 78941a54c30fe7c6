"""Targets, run observers and executors."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

from ie.api.options import with_defaults
from ie.api.ratelimit import RateLimiter, TokenBucket
from ie.api.types import RunEvent, TargetData

T = TypeVar("T")
R = TypeVar("R")


class TargetDataset(ABC):
    """Base class of target plugins. ``options`` holds at least ``name`` (what the user typed after
    ``--target``) and ``cache_dir`` (where files may be materialised)."""

    name: ClassVar[str] = ""

    def __init__(self, options: Mapping[str, Any] | None = None):
        self.options = with_defaults(getattr(type(self), "OPTIONS", None), options)

    @abstractmethod
    def load(self) -> TargetData:
        """The splits as image files on disk (materialise them under ``cache_dir`` if needed)."""

    @classmethod
    def accepts(cls, spec: str) -> bool:
        """Whether this plugin understands the ``--target`` value ``spec`` (e.g. a folder path)."""
        return spec == cls.name

    @property
    def spec(self) -> str:
        """This target in full, as a ``--target`` value (e.g. ``simweb:warm-dotted`` for ``simweb`` whose options
        pick ``warm-dotted``). The host gives it to every plugin of the run as option ``target_spec``: how engines
        and vocabularies follow the target, on any machine of a cluster (never through a module global)."""
        return str(self.options.get("name") or self.name)


class RunObserver(ABC):
    """Receives every :class:`RunEvent` of a run (metrics writers, dashboards, notifiers)."""

    name: ClassVar[str] = ""

    def __init__(self, options: Mapping[str, Any] | None = None):
        self.options = with_defaults(getattr(type(self), "OPTIONS", None), options)

    @abstractmethod
    def on_event(self, event: RunEvent) -> None: ...

    def close(self) -> None:
        """Flush and release files at the end of the run."""


class Executor(ABC):
    """Runs independent work items (searches, downloads, scoring) somewhere: threads here, Ray elsewhere.

    An executor with ``remote = True`` runs work in other processes or machines. The core then sends it only
    module-level functions and plain data (engine names and options, URLs, image bytes), never plugin
    instances or paths of this machine, and commits every result to the run store itself (one writer).
    """

    name: ClassVar[str] = ""
    remote: ClassVar[bool] = False

    def __init__(self, options: Mapping[str, Any] | None = None):
        self.options = with_defaults(getattr(type(self), "OPTIONS", None), options)

    @abstractmethod
    def map(self, fn: Callable[..., R], items: Iterable[T], concurrency: int = 8, *,
            context: Any = None) -> Iterator[R]:
        """``fn(item)`` for every item, or ``fn(context, item)`` when ``context`` is given (sent to the
        workers once and shared, e.g. model weights); results in input order, at most ``concurrency`` in flight."""

    def rate_limiter(self, key: str, rate: float, burst: float = 1.0) -> RateLimiter:
        """A limiter shared by every worker of this executor (``key`` e.g. ``engine:flickr``): for a remote
        executor one bucket for the whole cluster. The default is a token bucket in this process."""
        return TokenBucket(rate, burst)

    def close(self) -> None:
        """Release workers."""


def choose_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; any other value (``cpu``, ``cuda:1``) unchanged.
    The one place ie decides where a model runs."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
