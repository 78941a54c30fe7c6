"""Search engines: a text query in, normalised hits out."""

from __future__ import annotations

import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

from ie.api.errors import MissingCredentialsError, QuotaExceededError, RateLimitedError
from ie.api.health import OK, WARN, HealthCheck, Quota, secrets_detail
from ie.api.options import Option, with_defaults
from ie.api.ratelimit import RateLimiter, TokenBucket
from ie.api.types import Hit, SearchPage


def get_secret(name: str, options: Mapping[str, Any] | None = None) -> str | None:
    """A secret from the environment, else from the ``secrets`` the host put into ``options``.

    Secrets are never read from a run's config or written anywhere.
    """
    value = os.environ.get(name)
    if value:
        return value
    secrets = (options or {}).get("secrets") or {}
    return secrets.get(name) or None


def require_secrets(engine: str, names: list[str], options: Mapping[str, Any] | None = None, hint: str = "") -> list[str]:
    """All of ``names`` or a MissingCredentialsError that names the missing variables."""
    values = [get_secret(n, options) for n in names]
    missing = [n for n, v in zip(names, values) if not v]
    if missing:
        raise MissingCredentialsError(engine, missing, hint)
    return [v for v in values if v]


class SearchEngine(ABC):
    """Base class of engine plugins. Subclasses implement :meth:`search_page`; :meth:`search` pages,
    rate-limits and normalises ranks.

    ``options`` is the engine's table of the config (``[options.engine.<name>]``), e.g. ``rate_per_second``.
    """

    name: ClassVar[str] = ""
    max_per_page: ClassVar[int] = 100
    max_results: ClassVar[int | None] = None  # the service's own cap per query, if any
    default_rate_per_second: ClassVar[float] = 1.0
    default_burst: ClassVar[float] = 1.0
    max_backoff_retries: ClassVar[int] = 3
    # a spent quota with no stated reset pauses the engine this long (seconds); engines set their quota's window
    quota_period: ClassVar[float] = 3600.0
    # the longest a query waits for a throttled service (seconds): beyond it the query fails, passing (`max_retry_after`
    # option where the engine declares it)
    max_throttle_wait: ClassVar[float] = 300.0
    # True for engines whose hits live on this machine (simweb, local over HTTP): the downloader's
    # SSRF guard then allows loopback/private addresses for this engine's URLs.
    serves_private_urls: ClassVar[bool] = False

    # the options every engine takes (``[options.engine.<name>]``); engines extend it: OPTIONS = SearchEngine.OPTIONS + (...)
    # environment variables (or [secrets] keys of the user config) the engine reads: `ie config show` lists them
    SECRETS: ClassVar[tuple[str, ...]] = ()
    # the ones it cannot work without (None: all of SECRETS); a run that is missing one says so before any work
    REQUIRED_SECRETS: ClassVar[tuple[str, ...] | None] = None
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("rate_per_second", float, None, "requests per second (default: the engine's published limit)"),
        Option("burst", float, None, "requests allowed at once before the rate applies"),
    )

    # what the service allows, for `ie reproduce`'s search-time estimate (several rows: e.g. keyless and keyed)
    QUOTAS: ClassVar[tuple[Quota, ...]] = ()

    @classmethod
    def health(cls, secrets: Mapping[str, str], today: date) -> list[HealthCheck]:
        """``ie doctor``'s rows for this engine, offline. ``secrets`` maps each declared variable to 'set (env)',
        'set (user config)' or 'missing'. By default: ok when every ``SECRETS`` variable is set, else a warning
        naming the ones to export; engines with more to say (a shutdown date, keyless limits) override it."""
        if not cls.SECRETS:
            return []
        missing = [name for name in cls.SECRETS if secrets.get(name, "missing") == "missing"]
        fix = " ".join(f"export {name}=..." for name in missing)
        return [HealthCheck(f"engine {cls.name}", WARN if missing else OK, secrets_detail(secrets, cls.SECRETS), fix)]

    @classmethod
    def probe_url(cls) -> str | None:
        """The URL ``ie doctor --online`` requests to see whether the service is reachable (None: not probed)."""
        return None

    def __init__(self, options: Mapping[str, Any] | None = None):
        self.options = with_defaults(getattr(type(self), "OPTIONS", None), options)
        # one bucket per engine instance; a remote executor swaps in a cluster-wide one (Executor.rate_limiter)
        rate, burst = self.options["rate_per_second"], self.options["burst"]
        self.rate_limiter: RateLimiter = TokenBucket(
            float(rate if rate is not None else self.default_rate_per_second),
            float(burst if burst is not None else self.default_burst),
        )
        self._throttled = 0  # 429s in a row, across queries: the wait doubles with each (a throttled host is not
        self._spent_until = 0.0  # asked 4 times a query); monotonic time before which a spent quota is not asked
        self._limits_lock = threading.Lock()

    @abstractmethod
    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        """Fetch one page (``page`` starts at 1). Raise the typed errors of :mod:`ie.api.errors`."""

    def search(self, query: str, limit: int, skip: int = 0) -> list[Hit]:
        """Up to ``limit`` hits with unique URLs after the first ``skip`` results (a concept searched again goes
        deeper), ranked from ``skip``, across as many pages as needed."""
        if self.max_results is not None:
            limit = min(limit, self.max_results - skip)
        if limit <= 0:
            return []
        per_page = max(1, min(self.max_per_page, limit))
        # start at the page that holds result `skip` when pages align with it, else page through from the first
        page = skip // per_page + 1 if skip % per_page == 0 else 1
        position = (page - 1) * per_page
        hits: list[Hit] = []
        seen: set[str] = set()
        while len(hits) < limit:
            result = self._page_with_backoff(query, page, per_page)
            new = 0
            for hit in result.hits:
                if hit.url in seen or len(hits) >= limit:
                    continue
                seen.add(hit.url)
                new += 1
                position += 1
                if position > skip:
                    hits.append(_with_rank(hit, skip + len(hits)))
            # a page with nothing new ends the search: a service that repeats its last page is not asked forever
            if not result.has_more or not result.hits or not new:
                break
            page += 1
        return hits

    def _page_with_backoff(self, query: str, page: int, per_page: int) -> SearchPage:
        for attempt in range(self.max_backoff_retries + 1):
            self._raise_if_spent()
            self.rate_limiter.acquire()
            try:
                result = self.search_page(query, page, per_page)
            except RateLimitedError as err:
                with self._limits_lock:
                    self._throttled += 1
                    wait = err.retry_after if err.retry_after is not None else 2.0 ** min(self._throttled, 16)
                if attempt == self.max_backoff_retries or wait > self._max_wait():
                    self.rate_limiter.penalize(min(wait, self._max_wait()))  # the next query waits too
                    raise
                self.rate_limiter.penalize(wait)
                continue
            with self._limits_lock:
                self._throttled = 0
            return result
        raise AssertionError("unreachable")

    def _max_wait(self) -> float:
        value = self.options.get("max_retry_after")  # declared by the HTTP engines only
        return float(value) if value is not None else self.max_throttle_wait

    def _raise_if_spent(self) -> None:
        left = self._spent_until - time.monotonic()
        if left > 0:
            raise QuotaExceededError(self.name, f"the service said its quota is spent; it resets in {left:.0f}s", left)

    def observe_limits(self, remaining: int | None, reset_after: float | None) -> None:
        """What a reply said of the quota left (``X-RateLimit-*`` / ``RateLimit-*`` headers: requests
        ``remaining`` in the window, ``reset_after`` seconds until it refills). None: not stated. Once nothing is
        left, the next request waits for the reset (shared with every worker through the rate limiter) or, when that
        is longer than the engine's longest wait, fails at once with :class:`QuotaExceededError`: the engine pauses
        until then, and nobody asks a service that has said no."""
        if remaining is None or remaining > 0:
            return
        wait = reset_after if reset_after is not None else self.quota_period
        if wait > self._max_wait():
            with self._limits_lock:
                self._spent_until = max(self._spent_until, time.monotonic() + wait)
        else:
            self.rate_limiter.penalize(wait)

    @classmethod
    def required_secrets(cls) -> tuple[str, ...]:
        """The secrets the engine cannot work without: ``REQUIRED_SECRETS``, else all of ``SECRETS``."""
        return cls.SECRETS if cls.REQUIRED_SECRETS is None else cls.REQUIRED_SECRETS

    def check_access(self) -> None:
        """One cheap call that proves the engine answers with these credentials, made before a run's long work
        (embedding, the first iteration): a refused key or a spent quota raises its typed error at once. Engines
        that need a key (``REQUIRED_SECRETS``, else ``SECRETS``) ask for one result of a common word; keyless
        ones check nothing (override to do better, e.g. a free endpoint)."""
        if self.required_secrets():
            self.rate_limiter.acquire()
            self.search_page("photo", 1, 1)

    def serve(self) -> None:
        """Start whatever serves this engine's hit URLs, for engines that serve them from this machine
        (``serves_private_urls``: simweb, local). The download stage calls it before fetching, so hits an earlier
        process found (a run stopped after its search stage, then ``ie resume``) answer at the same address.
        Such an engine serves on a port it derives the same way in every process. Default: nothing to start."""

    def close(self) -> None:
        """Release connections. Called by the host when the engine is no longer needed."""

    def relevance(self, query: str) -> float | None:
        """Ground truth: the share of target-relevant images among ``query``'s hits, for engines that know it
        (simweb); None for real engines. Reports and benchmarks only, never rewards."""
        return None


def _with_rank(hit: Hit, rank: int) -> Hit:
    if hit.rank == rank:
        return hit
    from dataclasses import replace

    return replace(hit, rank=rank)
