"""The token bucket engines share: blocking acquire, non-blocking reserve (cluster-wide limiter), penalties."""

from __future__ import annotations

import pytest

from ie.api import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_reserve_hands_out_waits_that_pace_callers_at_the_rate():
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=1.0, clock=clock, sleep=clock.sleep)
    # five callers at the same instant: the first goes now, the others 0.5 s apart
    assert [bucket.reserve() for _ in range(5)] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0])
    clock.now = 2.0  # the debt is paid by then
    assert bucket.reserve() == pytest.approx(0.5)


def test_acquire_blocks_and_penalize_empties_the_bucket():
    clock = Clock()
    bucket = TokenBucket(rate=10.0, burst=2.0, clock=clock, sleep=clock.sleep)
    assert bucket.acquire() == 0.0 and bucket.acquire() == 0.0  # the burst
    assert bucket.acquire() == pytest.approx(0.1)
    bucket.penalize(3.0)  # e.g. Retry-After: 3
    assert bucket.acquire() == pytest.approx(3.1)
    with pytest.raises(ValueError):
        TokenBucket(rate=0)
