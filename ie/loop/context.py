"""Builds a run's plugins from its config: target, vocabulary, embedder, engines, SSL method, reward,
observers. Kept apart from the loop so library users can build one piece at a time."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ie.api import Executor, IEError, RunEvent, RunObserver, SearchEngine, TargetData
from ie.config import ExploreConfig, user_secrets
from ie.host.manager import PluginManager, get_plugin_manager


def cache_dir() -> Path:
    """Shared cache (vocabulary embeddings, materialised targets): $IE_CACHE_DIR or ~/.cache/ie."""
    return Path(os.environ.get("IE_CACHE_DIR") or Path.home() / ".cache" / "ie")


@dataclass
class Session:
    """The live plugin instances of one run."""

    config: ExploreConfig
    run_dir: Path
    manager: PluginManager
    engines: dict[str, SearchEngine] = field(default_factory=dict)
    observers: list[RunObserver] = field(default_factory=list)
    _executor: Executor | None = None

    @classmethod
    def build(cls, config: ExploreConfig, run_dir: Path, manager: PluginManager | None = None) -> Session:
        session = cls(config, Path(run_dir), manager or get_plugin_manager())
        secrets = user_secrets()
        for name in config.engines:
            options = {**session.engine_options(name), "secrets": secrets}
            session.engines[name] = session.manager.create("engine", name, options)
        session.observers = [
            registration.factory(config.plugin_options("observer", registration.name))
            for registration in session.manager.registry("observer")
        ]
        return session

    def engine_options(self, name: str) -> dict[str, Any]:
        """Engine ``name``'s options (its config table + the run's seed), without secrets."""
        options = self.config.plugin_options("engine", name)
        options.setdefault("seed", self.config.seed)
        return options

    @property
    def executor(self) -> Executor:
        """Where search, download and reward scoring run (``config.executor``), created on first use."""
        if self._executor is None:
            self._executor = self.create("executor", self.config.executor)
        return self._executor

    def create(self, kind: str, plugin: str, **extra: Any) -> Any:
        """An instance of plugin ``plugin`` of ``kind`` with its config options (+ ``extra``, seed, cache_dir)."""
        options = {**self.config.plugin_options(kind, plugin), **extra}
        options.setdefault("seed", self.config.seed)
        options.setdefault("cache_dir", str(cache_dir()))
        return self.manager.create(kind, plugin, options)

    def load_target(self) -> TargetData:
        spec = self.config.target
        registry = self.manager.registry("target")
        if spec in registry:
            return self.create("target", spec, name=spec).load()
        if Path(spec).is_dir() and "folder" in registry:
            return self.create("target", "folder", name=spec, path=spec).load()
        for registration in registry:  # a plugin serving several names (torchvision datasets)
            plugin = self.create("target", registration.name, name=spec)
            if type(plugin).accepts(spec):
                return plugin.load()
        raise IEError(f"unknown target {spec!r}: not a folder and no target plugin accepts it ({registry.names()})")

    def emit(self, kind: str, iteration: int | None = None, **data: Any) -> None:
        event = RunEvent(kind, self.run_dir, iteration, data)
        for observer in self.observers:
            try:
                observer.on_event(event)
            except Exception as err:  # noqa: BLE001 - an observer must never stop a run
                import warnings

                warnings.warn(f"observer {observer.name!r} failed on {kind}: {err}", stacklevel=2)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.close()
            self._executor = None
        for engine in self.engines.values():
            engine.close()
        for observer in self.observers:
            observer.close()
