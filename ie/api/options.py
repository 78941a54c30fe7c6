"""Typed plugin options: each plugin declares the keys of its ``[options.<kind>.<name>]`` table (name, type,
default, help), so a misspelt key is an error with the nearest suggestion instead of silently ignored, and
``ie plugins --json`` shows every schema.

A plugin declares them with ``register(name, factory, options=(Option(...), ...))`` or as an ``OPTIONS`` class
attribute of its factory (engines extend their base class's: ``OPTIONS = SearchEngine.OPTIONS + (...)``).
A factory without a schema takes any key (untyped, listed as such)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ie.api.errors import IEError, nearest

__all__ = ["HOST_KEYS", "Option", "check_options", "nearest", "options_from_defaults", "with_defaults"]

# keys the host itself puts into a plugin's options (never in a user's table, always accepted); ``target_spec`` is
# the run's target in full (:attr:`ie.api.TargetDataset.spec`); ``licenses`` the licence families an engine should
# ask its API for (``cc0``, ``pdm``, ``by``, ``by-sa``, ...; absent: any)
HOST_KEYS = frozenset({"seed", "cache_dir", "name", "secrets", "class_names", "target_spec", "licenses", "resize"})


@dataclass(frozen=True)
class Option:
    """One option of a plugin. ``type`` is what the value must be (``float`` accepts ints; ``object`` anything)."""

    name: str
    type: type = str
    default: Any = None
    help: str = ""

    def as_json(self) -> dict[str, Any]:
        default = self.default if isinstance(self.default, (str, int, float, bool, list, dict, type(None))) else repr(self.default)
        return {"name": self.name, "type": self.type.__name__, "default": default, "help": self.help}


def options_from_defaults(defaults: Mapping[str, Any], help: Mapping[str, str] | None = None) -> tuple[Option, ...]:
    """A schema from a plugin's table of defaults (the type of each default is the option's type)."""
    return tuple(Option(k, float if isinstance(v, float) else type(v) if v is not None else object, v,
                        (help or {}).get(k, "")) for k, v in defaults.items())


def _type_ok(option: Option, value: Any) -> bool:
    if option.type is object or value is None:
        return True
    if option.type is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if option.type is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if option.type in (list, tuple):
        return isinstance(value, (list, tuple))
    return isinstance(value, option.type)


def check_options(kind: str, name: str, schema: Sequence[Option] | None, options: Mapping[str, Any]) -> None:
    """Raise :class:`IEError` naming the first unknown key (with the nearest known one) or wrongly typed value."""
    if schema is None:
        return
    known = {o.name: o for o in schema}
    for key, value in options.items():
        if key in HOST_KEYS:
            continue
        option = known.get(key)
        if option is None:
            listed = ", ".join(sorted(known)) or "none"
            raise IEError(f"unknown option {key!r} for {kind} {name!r}{nearest(key, known)}; its options: {listed}")
        if not _type_ok(option, value):
            raise IEError(f"option {key!r} of {kind} {name!r} must be {option.type.__name__}, not "
                          f"{type(value).__name__} ({value!r})")


def with_defaults(schema: Sequence[Option] | None, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """``options`` over the schema's declared defaults: the one place a default is filled in, so a plugin reads
    ``options["key"]`` and never repeats a default of its own. ``None`` as a default means "not set" (the plugin
    decides from the context, e.g. the run's target); untyped plugins (no schema) get ``options`` as given."""
    filled = {o.name: copy.deepcopy(o.default) for o in schema or ()}
    filled.update(options or {})
    return filled
