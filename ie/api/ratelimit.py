"""A thread-safe token bucket. Engines share one per engine instance across concurrent queries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol


class RateLimiter(Protocol):
    """What engines call before each request (a :class:`TokenBucket`, or a cluster-wide proxy of one)."""

    def acquire(self, tokens: float = 1.0) -> float: ...

    def penalize(self, seconds: float) -> None: ...


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up. ``acquire()`` blocks until a token is free.

    Hand-written because it is twenty lines and the libraries (pyrate-limiter, limits) bring storage
    back-ends we do not need; ``clock``/``sleep`` are injectable so tests run without waiting.
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate <= 0:
            raise ValueError("rate must be > 0 calls per second")
        self.rate, self.burst = float(rate), max(1.0, float(burst))
        self._clock, self._sleep = clock, sleep
        self._tokens = self.burst
        self._last = clock()
        self._lock = threading.Lock()

    @classmethod
    def per_minute(cls, calls: float, burst: float = 1.0, **kw: Any) -> TokenBucket:
        return cls(calls / 60.0, burst, **kw)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def acquire(self, tokens: float = 1.0) -> float:
        """Take ``tokens``; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                if self._tokens >= tokens:
                    self._tokens -= tokens
                    return waited
                delay = (tokens - self._tokens) / self.rate
            self._sleep(delay)
            waited += delay

    def reserve(self, tokens: float = 1.0) -> float:
        """Take ``tokens`` now, into debt if need be, and return the seconds the caller must wait before using
        them (never blocks: a bucket shared by many workers, e.g. in a Ray actor, hands out waits instead)."""
        with self._lock:
            self._refill()
            self._tokens -= tokens
            return max(0.0, -self._tokens / self.rate)

    def penalize(self, seconds: float) -> None:
        """Empty the bucket for ``seconds`` (after a 429 with Retry-After)."""
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 0.0) - seconds * self.rate
