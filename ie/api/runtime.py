"""Targets, run observers and executors."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

from ie.api.types import RunEvent, TargetData

T = TypeVar("T")
R = TypeVar("R")


class TargetDataset(ABC):
    """Base class of target plugins. ``options`` holds at least ``name`` (what the user typed after
    ``--target``) and ``cache_dir`` (where files may be materialised)."""

    name: ClassVar[str] = ""

    def __init__(self, options: Mapping[str, Any] | None = None):
        self.options = dict(options or {})

    @abstractmethod
    def load(self) -> TargetData:
        """The splits as image files on disk (materialise them under ``cache_dir`` if needed)."""

    @classmethod
    def accepts(cls, spec: str) -> bool:
        """Whether this plugin understands the ``--target`` value ``spec`` (e.g. a folder path)."""
        return spec == cls.name


class RunObserver(ABC):
    """Receives every :class:`RunEvent` of a run (metrics writers, dashboards, notifiers)."""

    name: ClassVar[str] = ""

    def __init__(self, options: Mapping[str, Any] | None = None):
        self.options = dict(options or {})

    @abstractmethod
    def on_event(self, event: RunEvent) -> None: ...

    def close(self) -> None:
        """Flush and release files at the end of the run."""


class Executor(ABC):
    """Runs independent work items (searches, downloads, scoring) somewhere: threads here, Ray elsewhere."""

    name: ClassVar[str] = ""

    def __init__(self, options: Mapping[str, Any] | None = None):
        self.options = dict(options or {})

    @abstractmethod
    def map(self, fn: Callable[[T], R], items: Iterable[T], concurrency: int = 8) -> Iterator[R]:
        """Apply ``fn`` to every item; results in input order."""

    def close(self) -> None:
        """Release workers."""
