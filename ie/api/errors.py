"""Typed errors plugins raise so that the loop can act on them (skip an engine, back off, stop)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


def nearest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ''."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


class IEError(Exception):
    """Base class of every error internet-explorer raises on purpose; its message is meant for users.
    ``exit_code`` is the CLI's exit status for it: 2, a mistake in what the user gave."""

    exit_code: int = 2


class JobFailedError(IEError):
    """A job that ran as asked and could not do its work (e.g. not one URL gave an image): the CLI exits 1."""

    exit_code = 1


class PluginError(IEError):
    """A plugin could not be loaded, registered or found."""


class DuplicatePluginError(PluginError):
    def __init__(self, kind: str, name: str, first: str, second: str):
        super().__init__(
            f"two plugins register the {kind} {name!r}: {first!r} and {second!r}; "
            f"uninstall one or block it with IE_DISABLE_PLUGINS={second}"
        )
        self.kind, self.name, self.first, self.second = kind, name, first, second


class UnknownPluginError(PluginError):
    def __init__(self, kind: str, name: str, available: Sequence[str]):
        choices = ", ".join(sorted(available)) or "none"
        super().__init__(f"no {kind} named {name!r}{nearest(name, available)}; available: {choices} "
                         "(see `ie plugins`)")
        self.kind, self.name = kind, name


class MissingCredentialsError(IEError):
    """Credentials are missing; the message names the environment variables to set."""

    def __init__(self, engine: str, variables: Sequence[str], hint: str = ""):
        names = " and ".join(variables)
        msg = f"{engine}: set {names} in the environment (or in the [secrets] table of ~/.config/ie/config.toml)"
        super().__init__(msg + (f"; {hint}" if hint else ""))
        self.engine, self.variables = engine, list(variables)


class WeightsUnavailableError(IEError):
    """Model weights could not be loaded offline; the message says how to pass a local file."""


class EngineError(IEError):
    """Base class of search-engine errors. ``action`` tells the loop what to do: skip, backoff or stop."""

    action = "skip"
    # what a failed query is recorded as (``queries.error`` starts with it; `ie` counts queries by it)
    outcome = "error"
    # whether the failure passes (the query may be searched again later; its concept is not spent)
    passing = False

    def __init__(self, engine: str, message: str):
        super().__init__(f"{engine}: {message}")
        self.engine = engine


class AuthError(EngineError):
    """The service refused the credentials. Stop using this engine for the run."""

    action = "stop"
    outcome = "auth"


class QuotaExceededError(EngineError):
    """A daily/hourly quota is spent. Pause this engine until the quota resets (``retry_after`` seconds from now,
    when the service says; else the engine's ``quota_period``)."""

    action = "stop"
    outcome = "quota"
    passing = True

    def __init__(self, engine: str, message: str, retry_after: float | None = None):
        super().__init__(engine, message)
        self.retry_after = retry_after


class RateLimitedError(EngineError):
    """Too many requests right now (HTTP 429); back off for ``retry_after`` seconds and try again."""

    action = "backoff"
    outcome = "throttled"
    passing = True

    def __init__(self, engine: str, message: str, retry_after: float | None = None):
        super().__init__(engine, message)
        self.retry_after = retry_after


class EngineUnavailableError(EngineError):
    """The service is down, retired or not configured (e.g. Google CSE after 2027-01-01)."""

    action = "stop"
    outcome = "unavailable"


class TransientEngineError(EngineUnavailableError):
    """A passing failure: a timeout, a network or DNS error, an HTTP 5xx. This query fails, recorded with its reason;
    the engine stays in use (a 40-hour run must not lose an engine to one blip)."""

    action = "skip"
    outcome = "network"
    passing = True


class MalformedResponseError(EngineError):
    """The service answered with something that is not the documented shape. Skip this query."""

    action = "skip"
    outcome = "malformed"
