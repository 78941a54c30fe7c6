"""A run's live plugins: ``Session`` holds the instances built from a run's config (target, engines, observers,
the executor) and gives every plugin its options; the option tables and plugin names are checked here, before a
run directory is touched; ``--target`` values are resolved here, the one way every command does it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ie.api import (
    Executor,
    cache_dir,
    check_options,
    nearest,
    Option,
    options_from_defaults,
    IEError,
    JobFailedError,
    EventKind,
    RunEvent,
    RunObserver,
    SearchEngine,
    TargetData,
    TargetDataset,
)
from ie.config import ExploreConfig, user_secrets
from ie.host.manager import PluginManager, get_plugin_manager


@dataclass
class Session:
    """The live plugin instances of one run."""

    config: ExploreConfig
    run_dir: Path
    manager: PluginManager
    engines: dict[str, SearchEngine] = field(default_factory=dict)
    observers: list[RunObserver] = field(default_factory=list)
    target_spec: str | None = None  # the run's target in full (TargetDataset.spec), once resolved
    quota_resets: dict[str, float] = field(default_factory=dict)  # engine -> Unix time its spent quota resets
    _executor: Executor | None = None
    _target: TargetDataset | None = None

    @classmethod
    def build(cls, config: ExploreConfig, run_dir: Path, manager: PluginManager | None = None) -> Session:
        session = cls(config, Path(run_dir), manager or get_plugin_manager())
        check_option_tables(config, session.manager)
        session._resolve_target()  # first: every other plugin gets the target's full spec as `target_spec`
        secrets = user_secrets()
        for name in config.engines:
            options = {**session.engine_options(name), "secrets": secrets}
            session.engines[name] = session.manager.create("engine", name, options)
        session.observers = [
            registration.factory(session.plugin_options("observer", registration.name))
            for registration in session.manager.registry("observer")
        ]
        return session

    def check_engine_access(self, warn: Callable[[str], None], paused_until: Mapping[str, float] | None = None
                            ) -> set[str]:
        """Each engine's :meth:`~ie.api.SearchEngine.check_access`, before any long work; returns the engines that
        answered. An engine paused until a time still to come (``paused_until``: name -> Unix time, a spent quota's
        reset) is not asked. A refused key stops the run here, in one line naming the engine; so does a spent quota
        when no other engine can answer (a failed job, with the time `ie resume` can go on); else that engine sits
        out, reported. A passing outage (network, 5xx, throttling) is only reported: the run's retries handle it."""
        import time

        from ie.api import AuthError, EngineError, QuotaExceededError
        from ie.loop.pauses import utc_time

        answered: set[str] = set()
        spent: list[str] = []
        resets: list[float] = []
        for name, engine in self.engines.items():
            until = (paused_until or {}).get(name, 0.0)
            if until > time.time():
                spent.append(f"engine {name}: its quota was spent; paused until {utc_time(until)}")
                resets.append(until)
                continue
            try:
                engine.check_access()
                answered.add(name)
            except AuthError as err:
                raise IEError(f"engine {name} refused the run's first call: {_detail(err)}") from None
            except QuotaExceededError as err:
                spent.append(f"engine {name}: {_detail(err)}")
                seconds = err.retry_after if err.retry_after is not None else engine.quota_period
                self.quota_resets[name] = time.time() + seconds
                resets.append(self.quota_resets[name])
            except EngineError as err:
                answered.add(name)  # transient: its queries are retried
                warn(f"engine {name} did not answer its first call ({type(err).__name__}: {_detail(err)}); going "
                     "on, its queries are retried")
        if spent and not answered:
            when = f" (at {utc_time(min(resets))})" if len(resets) == len(spent) else ""
            raise JobFailedError(f"no engine can answer: {'; '.join(spent)}; `ie resume` goes on once the quota "
                                 f"resets{when}")
        for line in spent:
            warn(f"{line}; it sits out this session (`ie resume` later uses it again)")
        return answered

    def engine_options(self, name: str) -> dict[str, Any]:
        """Engine ``name``'s options (:meth:`plugin_options`, plus the run's licence families when it filters
        by licence and the shorter side images are resized to, so that it asks for the smallest size that serves
        it), without secrets: what a remote worker rebuilds the engine from."""
        options = self.plugin_options("engine", name)
        if self.config.licenses:
            options["licenses"] = list(self.config.licenses)
        if self.config.resize:
            options["resize"] = int(self.config.resize)
        return options

    @property
    def executor(self) -> Executor:
        """Where search, download and reward scoring run (``config.executor``), created on first use."""
        if self._executor is None:
            self._executor = self.create("executor", self.config.executor)
        return self._executor

    def plugin_options(self, kind: str, plugin: str) -> dict[str, Any]:
        """Plugin ``plugin``'s config table plus what the host gives every plugin (seed, cache_dir and, once the
        target is resolved, ``target_spec``)."""
        return {**host_options(self.config.seed, self.target_spec), **self.config.plugin_options(kind, plugin)}

    def create(self, kind: str, plugin: str, **extra: Any) -> Any:
        """An instance of plugin ``plugin`` of ``kind`` with its options (:meth:`plugin_options`) + ``extra``."""
        return self.manager.create(kind, plugin, {**self.plugin_options(kind, plugin), **extra})

    def _resolve_target(self) -> TargetDataset:
        if self._target is None:
            self._target = resolve_target(self.config.target, self.manager,
                                          lambda name: self.plugin_options("target", name))
            self.target_spec = self._target.spec
        return self._target

    def load_target(self) -> TargetData:
        return self._resolve_target().load()

    def emit(self, kind: EventKind, iteration: int | None = None, **data: Any) -> None:
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


# [options.<table>] tables the core itself reads, beside one per plugin kind
CORE_OPTION_TABLES = {"download": ("options",), "search": ("options",), "concepts": ("brain",)}
SEARCH_OPTIONS = (Option("concurrency", int, 4, "queries searched at once"),)


def core_option_schema(kind: str, name: str) -> tuple[Option, ...]:
    """The declared keys of a core options table (``[options.download.options]``: the downloader's settings,
    ``[options.search.options]``, ``[options.concepts.brain]``: the concept policy's), checked like a plugin's."""
    if kind == "download":
        import dataclasses

        from ie.download import DownloadOptions

        return tuple(Option(f.name, object if f.default is dataclasses.MISSING else
                            float if isinstance(f.default, float) else type(f.default) if f.default is not None
                            else object, None if f.default is dataclasses.MISSING else f.default)
                     for f in dataclasses.fields(DownloadOptions))
    if kind == "concepts":
        from ie.concepts.brain import DEFAULTS

        return tuple(o for o in options_from_defaults(DEFAULTS) if o.name != "policy")  # policy: the run's field
    return SEARCH_OPTIONS


def check_option_tables(config: ExploreConfig, manager: PluginManager) -> None:
    """Every ``[options.<kind>.<name>]`` table names a known kind and an installed plugin, and its keys are
    that plugin's declared options (typed plugins): a misspelling is an error naming the nearest choice."""
    kinds = sorted(set(manager.registries) | set(CORE_OPTION_TABLES))
    for kind, tables in config.options.items():
        if kind not in kinds:
            raise IEError(f"unknown options table [options.{kind}]{nearest(kind, kinds)}; tables: {', '.join(kinds)}")
        if not isinstance(tables, dict):
            raise IEError(f"[options.{kind}] must hold one table per plugin, e.g. [options.{kind}.NAME]")
        names = list(CORE_OPTION_TABLES.get(kind, ())) or manager.registry(kind).names()
        for name, table in tables.items():
            if name not in names:
                raise IEError(f"[options.{kind}.{name}]: no {kind} is called {name!r}{nearest(name, names)}; "
                              f"installed: {', '.join(names)}")
            if kind in manager.registries:
                check_options(kind, name, manager.registry(kind).get(name).options, table)
            else:  # a core table: its keys are declared too (a typo there used to be ignored without a word)
                check_options(kind, name, core_option_schema(kind, name), table)


def check_plugin_names(config: ExploreConfig, manager: PluginManager) -> None:
    """Every plugin the config names is installed (an unknown name is an error naming the nearest one), and
    every options table is valid: checked before a run directory is touched."""
    named = [("engine", name) for name in config.engines] + [
        ("ssl", config.ssl), ("reward", config.reward), ("vocabulary", config.vocab),
        ("embedder", config.embedder), ("executor", config.executor)]
    if config.descriptors:
        named.append(("descriptors", config.descriptors))
    for kind, name in named:
        manager.registry(kind).get(name)
    check_option_tables(config, manager)
    if config.licenses:
        from ie.outputs.licences import parse_licence_filter

        parse_licence_filter(",".join(config.licenses))


def host_options(seed: int, target_spec: str | None = None, cache: str | Path | None = None) -> dict[str, Any]:
    """What the host gives every plugin, the same for every command (explore, resume, evaluate, search, ...):
    the run's ``seed``, the shared ``cache_dir`` and, once resolved, the ``target_spec``."""
    host: dict[str, Any] = {"seed": seed, "cache_dir": str(cache or cache_dir())}
    if target_spec is not None:
        host["target_spec"] = target_spec
    return host


def resolve_target(spec: str, manager: PluginManager,
                   options_of: Callable[[str], dict[str, Any]] = lambda name: {}) -> TargetDataset:
    """The target plugin a ``--target`` value names (not loaded yet), the one way every command resolves it: a
    target plugin's own name, else the first plugin whose ``accepts(spec)`` says yes (an image folder,
    ``simweb:NAME``, ``clipart:PRESET``, torchvision dataset names). ``options_of(plugin)`` gives its options."""
    registry = manager.registry("target")
    if spec in registry:
        return manager.create("target", spec, {**options_of(spec), "name": spec})
    for registration in registry:
        plugin = manager.create("target", registration.name, {**options_of(registration.name), "name": spec})
        if type(plugin).accepts(spec):
            return plugin
    raise IEError(f"unknown target {spec!r}: not a folder, and no target plugin accepts it "
                  f"(installed: {', '.join(registry.names())})")


def load_target(spec: str, manager: PluginManager,
                options_of: Callable[[str], dict[str, Any]] = lambda name: {}) -> TargetData:
    """The target a ``--target`` value names, loaded (see :func:`resolve_target`)."""
    return resolve_target(spec, manager, options_of).load()


def _detail(err: Exception) -> str:
    """An engine error's message without the engine-name prefix its class adds."""
    return str(err).removeprefix(f"{getattr(err, 'engine', '')}: ")
