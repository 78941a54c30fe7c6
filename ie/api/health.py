"""What a plugin says about itself to ``ie doctor`` and ``ie reproduce``: health checks and service quotas.

Plugins declare them (engines: :meth:`SearchEngine.health`, ``QUOTAS``, :meth:`SearchEngine.probe_url`) so that
the core names no plugin: doctor and reproduce iterate the registered engines and print what each one says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class HealthCheck:
    """One row of ``ie doctor``: ``status`` is ok | warn | fail; ``detail`` never holds a secret's value."""

    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Quota:
    """What an engine's service allows, as its documentation states (one row of ``ie reproduce``'s table)."""

    label: str  # e.g. "openverse (OAuth2)"
    page_size: int
    rate_per_second: float  # the engine's default client-side rate under this quota
    daily_cap: int | None  # requests per day; None when the cap is hourly or absent
    note: str = ""


def secrets_detail(status: Mapping[str, str], names: tuple[str, ...]) -> str:
    """"NAME set (env), OTHER missing": the state of each variable, never its value."""
    return ", ".join(f"{name} {status.get(name, 'missing')}" for name in names)
