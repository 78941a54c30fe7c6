"""The plugin manager: built-ins and third-party plugins load alike, from entry points of group "ie".

Each entry point is loaded on its own; one that fails to import or register is recorded as broken
(and warned about) while the rest go on. ``IE_DISABLE_PLUGINS=a,b`` blocks plugins by name and
``IE_TRACE_PLUGINS=1`` prints every hook call.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Generic, TypeVar

import pluggy

from ie.host import hookspecs
from ie.api import PROJECT_NAME, DuplicatePluginError, Option, PluginError, UnknownPluginError, check_options, nearest, with_defaults

ENTRY_POINT_GROUP = "ie"


class BrokenPluginWarning(UserWarning):
    """A plugin failed to import or register and was skipped."""

T = TypeVar("T")

# hook name -> kind shown to users
KINDS: dict[str, str] = {
    "ie_register_engines": "engine",
    "ie_register_ssl_methods": "ssl",
    "ie_register_rewards": "reward",
    "ie_register_vocabularies": "vocabulary",
    "ie_register_descriptors": "descriptors",
    "ie_register_embedders": "embedder",
    "ie_register_targets": "target",
    "ie_register_weights": "weights",
    "ie_register_executors": "executor",
    "ie_register_observers": "observer",
}


@dataclass(frozen=True)
class Registration:
    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    help: str = ""
    options: tuple[Option, ...] | None = None  # the typed schema; None = any key (untyped)


@dataclass
class PluginInfo:
    """One plugin (a module registered with pluggy) as `ie plugins` lists it."""

    name: str
    distribution: str | None = None
    version: str | None = None
    status: str = "ok"  # ok | broken | disabled
    error: str | None = None
    provides: list[tuple[str, str]] = field(default_factory=list)  # (kind, name)


class Registry(Generic[T]):
    """The named factories of one plugin kind."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Registration] = {}

    def add(self, registration: Registration) -> None:
        existing = self._entries.get(registration.name)
        if existing is not None and existing.plugin != registration.plugin:
            raise DuplicatePluginError(self.kind, registration.name, existing.plugin, registration.plugin)
        self._entries[registration.name] = registration

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Registration]:
        return iter(self._entries.values())

    def remove_plugin(self, plugin: str) -> None:
        """Forget every entry registered by ``plugin``."""
        self._entries = {k: r for k, r in self._entries.items() if r.plugin != plugin}

    def get(self, name: str) -> Registration:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownPluginError(self.kind, name, self.names()) from None

    def create(self, name: str, options: Mapping[str, Any] | None = None) -> T:
        """An instance of ``name`` built with ``options``, checked against its schema first."""
        registration = self.get(name)
        check_options(self.kind, name, registration.options, options or {})
        return registration.factory(with_defaults(registration.options, options))


def disabled_names() -> set[str]:
    return {n.strip() for n in os.environ.get("IE_DISABLE_PLUGINS", "").split(",") if n.strip()}


class PluginManager:
    """Loads plugins and holds one :class:`Registry` per kind."""

    def __init__(self, load_entry_points: bool = True):
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.registries: dict[str, Registry[Any]] = {kind: Registry(kind) for kind in KINDS.values()}
        self.trace = os.environ.get("IE_TRACE_PLUGINS", "") not in ("", "0")
        if self.trace:
            self.pm.trace.root.setwriter(lambda msg: print(f"[ie plugins] {msg}", end="", file=sys.stderr))
            self.pm.enable_tracing()  # observer and command hooks go through pluggy's own tracer
        if load_entry_points:
            self._load_entry_points()

    # loading -------------------------------------------------------------------------------
    def _load_entry_points(self) -> None:
        blocked = disabled_names()
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            info = PluginInfo(ep.name, dist.name if dist else None, dist.version if dist else None)
            if ep.name in self.plugins:
                continue
            self.plugins[ep.name] = info
            if ep.name in blocked:
                info.status = "disabled"
                continue
            try:
                module = ep.load()
            except Exception as err:  # noqa: BLE001 - a broken plugin must not take the CLI down
                self._mark_broken(info, err)
                continue
            self._register_module(ep.name, module, info)

    def register(self, module: ModuleType | object, name: str | None = None) -> PluginInfo:
        """Register a plugin object by hand (tests, library use). Returns its :class:`PluginInfo`."""
        name = name or getattr(module, "__name__", None) or repr(module)
        info = PluginInfo(name, status="ok")
        self.plugins[name] = info
        if name in disabled_names():
            info.status = "disabled"
            return info
        self._register_module(name, module, info)
        return info

    def unregister(self, name: str) -> None:
        """Remove a plugin and everything it registered."""
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
        self.plugins.pop(name, None)
        self.unregister_entries(name)

    def _register_module(self, name: str, module: object, info: PluginInfo) -> None:
        try:
            self.pm.register(module, name=name)
            self._check_pending(name)
        except Exception as err:  # noqa: BLE001
            self._mark_broken(info, err)
            return
        for hook_name, kind in KINDS.items():
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                if impl.plugin_name != name:
                    continue
                try:
                    impl.function(register=self._registrar(kind, name, info))
                except Exception as err:  # noqa: BLE001 - DuplicatePluginError too: the message names both
                    self._mark_broken(info, err)
                    self.unregister_entries(name)
                    return

    def _check_pending(self, name: str) -> None:
        """A ``@hookimpl`` whose name is no ie hook (a misspelling registers nothing) makes the plugin broken,
        named with the nearest hook: pluggy's ``check_pending()``, per plugin so the others still load."""
        plugin = self.pm.get_plugin(name)
        specs = [caller.name for caller in vars(self.pm.hook).values()
                 if isinstance(caller, pluggy.HookCaller) and caller.has_spec()]
        unknown = [caller.name for caller in self.pm.get_hookcallers(plugin) or () if not caller.has_spec()]
        if unknown:
            raise PluginError(f"@hookimpl {unknown[0]} is not an ie hook{nearest(unknown[0], specs)}: it would "
                              f"never be called (hooks: {', '.join(sorted(specs))})")

    def unregister_entries(self, name: str) -> None:
        """Forget what plugin ``name`` registered (it stays loaded in pluggy)."""
        for registry in self.registries.values():
            registry.remove_plugin(name)

    def _registrar(self, kind: str, plugin: str, info: PluginInfo) -> Callable[..., None]:
        def register(name: str, factory: Callable[..., Any], *, help: str = "",
                     options: Sequence[Option] | None = None) -> None:
            if self.trace:
                print(f"[ie plugins] {plugin}: register {kind} {name!r}", file=sys.stderr)
            # a class's own OPTIONS only: a subclass that declares none (a third-party engine) stays untyped
            schema = options if options is not None else vars(factory).get("OPTIONS") if isinstance(factory, type) \
                else getattr(factory, "OPTIONS", None)
            self.registries[kind].add(Registration(kind, name, factory, plugin, help,
                                                   tuple(schema) if schema is not None else None))
            info.provides.append((kind, name))

        return register

    def _mark_broken(self, info: PluginInfo, err: BaseException) -> None:
        info.status = "broken"
        info.error = f"{type(err).__name__}: {err}"
        warnings.warn(f"plugin {info.name!r} is broken and was skipped: {info.error}", BrokenPluginWarning, stacklevel=3)
        if self.trace:
            traceback.print_exception(err, file=sys.stderr)
        try:
            plugin = self.pm.get_plugin(info.name)
            if plugin is not None:
                self.pm.unregister(plugin)
        except Exception:  # noqa: BLE001
            pass

    # access --------------------------------------------------------------------------------
    def registry(self, kind: str) -> Registry[Any]:
        if kind not in self.registries:
            raise PluginError(f"unknown plugin kind {kind!r}; kinds: {', '.join(sorted(self.registries))}")
        return self.registries[kind]

    def create(self, kind: str, name: str, options: Mapping[str, Any] | None = None) -> Any:
        return self.registry(kind).create(name, options)

    def declared_secrets(self) -> list[str]:
        """The environment variables every registered plugin declares it reads (its factory's ``SECRETS``)."""
        names = [s for registry in self.registries.values() for r in registry for s in getattr(r.factory, "SECRETS", ())]
        return list(dict.fromkeys(names))

    @property
    def hook(self) -> Any:
        return self.pm.hook


_default: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager (loaded on first use)."""
    global _default
    if _default is None:
        _default = PluginManager()
    return _default


def reset_plugin_manager() -> None:
    """Forget the process-wide manager (tests; after installing a plugin)."""
    global _default
    _default = None
