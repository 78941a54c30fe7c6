"""What every stage of the loop works on.

``Session`` holds a run's live plugin instances, built from its config (target, vocabulary, embedder,
engines, SSL method, reward, observers): kept apart from the loop so library users can build one piece
at a time. ``RunContext`` is the typed context a stage receives: config, store, plugins, runtime, and the
loop's state (target, concept brain, current model). A stage reads and writes only through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from rich.console import Console

from ie.api import DescriptorProvider, RewardFunction, TargetData
from ie.config import ExploreConfig
from ie.loop.model import ModelState
from ie.loop.session import (
    CORE_OPTION_TABLES,
    Session,
    check_option_tables,
    check_plugin_names,
    load_target,
    resolve_target,
)
from ie.store import RunStore

if TYPE_CHECKING:  # ie.concepts imports numpy and scipy: the stages that need the brain import it themselves
    from ie.concepts import ConceptBrain

__all__ = ["CORE_OPTION_TABLES", "ModelState", "RunContext", "Session", "Stage", "StopRequested",
           "check_option_tables", "check_plugin_names", "load_target", "resolve_target"]


class StopRequested(Exception):
    """Raised at a safe point after Ctrl-C or when a budget is spent."""


@dataclass
class RunContext:
    """The typed context every stage receives: what the run is (config), where it is kept (store), its plugins
    (session), runtime (console, progress, the stop check) and the loop's state."""

    config: ExploreConfig
    store: RunStore
    session: Session
    target: TargetData
    brain: ConceptBrain
    model: ModelState
    reward_fn: RewardFunction
    descriptors: DescriptorProvider | None = None
    console: Console = field(default_factory=Console)
    progress: bool = True
    check_stop: Callable[[], None] = lambda: None

    @property
    def run_dir(self) -> Path:
        return self.store.run_dir


class Stage(Protocol):
    """One step of an iteration: ``run`` does its work through ``ctx`` and returns what it recorded (a small dict
    stored with the stage's mark). The driver alone decides order, resume and checkpoints."""

    name: ClassVar[str]
    changes_brain: ClassVar[bool]

    def run(self, ctx: RunContext, iteration: int) -> dict[str, Any]: ...
