"""Engines that sit out a spent quota: when each may be asked again (state ``engine_paused_until``: name -> Unix
time), kept in the run store so that ``ie resume`` and a 40-hour run know it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timezone

from ie.store import RunStore


def pause_engines(store: RunStore, pauses: Mapping[str, float]) -> None:
    """Record that each engine of ``pauses`` (name -> seconds from now) may not be asked before then (a spent
    quota); ``ie resume`` before that time leaves it out without a call, after it uses it again."""
    pause_until(store, {name: time.time() + seconds for name, seconds in pauses.items()})


def pause_until(store: RunStore, times: Mapping[str, float]) -> None:
    """Record that each engine of ``times`` (name -> Unix time) may not be asked before then."""
    if times:
        store.set_state("engine_paused_until", {**store.get_state("engine_paused_until", {}), **times})


def end_pauses(store: RunStore, names: set[str] | list[str]) -> None:
    """Forget the pauses of ``names`` (they answered, or their time has passed)."""
    until = store.get_state("engine_paused_until", {})
    if any(name in until for name in names):
        store.set_state("engine_paused_until", {k: v for k, v in until.items() if k not in names})


def expire_pauses(store: RunStore) -> list[str]:
    """Put back in use every engine whose quota pause has ended (a 40-hour run gets a paused engine back in the
    same session); returns their names. An engine stopped for another reason (a refused key) stays out."""
    until = dict(store.get_state("engine_paused_until", {}))
    ended = sorted(name for name, when in until.items() if when <= time.time())
    if ended:
        disabled = {k: v for k, v in store.get_state("disabled_engines", {}).items() if k not in ended}
        store.set_state("disabled_engines", disabled)
        end_pauses(store, ended)
    return ended


def utc_time(epoch: float) -> str:
    """``2026-12-07 08:00 UTC``: when a paused engine may be asked again."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
