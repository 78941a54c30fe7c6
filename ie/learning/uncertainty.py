"""How sure an accuracy is: 95% intervals from the test-set size, and whether a change from the start model is
more than noise (on 120 test images one image is 0.008)."""

from __future__ import annotations

import math

# Hand-written rather than statsmodels' proportion_confint: the formulas are a few lines and statsmodels is not a
# dependency of ie.


def wilson_interval(accuracy: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion ``accuracy`` measured on ``n`` trials; ``(0, 1)`` when ``n <= 0``."""
    if n <= 0:
        return 0.0, 1.0
    p, zz = min(max(accuracy, 0.0), 1.0), z * z
    denom = 1 + zz / n
    center = (p + zz / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + zz / (4 * n * n))
    return max(0.0, center - half), min(1.0, center + half)


def difference_interval(a: float, b: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """Interval of ``a - b`` for two accuracies on the same ``n`` test images (normal approximation of two
    independent proportions: for paired results on one test set, which are positively correlated, this is
    conservative, i.e. wider than needed); ``(-1, 1)`` when ``n <= 0``."""
    if n <= 0:
        return -1.0, 1.0
    half = z * math.sqrt((a * (1 - a) + b * (1 - b)) / n)
    return max(-1.0, a - b - half), min(1.0, a - b + half)


def format_accuracy(accuracy: float, n: float | None) -> str:
    """``"0.850 [0.775, 0.903] (n=120)"``; the bare ``"0.850"`` when the test-set size is unknown."""
    if n is None or not n > 0:  # unknown test-set size (NaN too)
        return f"{accuracy:.3f}"
    low, high = wilson_interval(accuracy, n)
    return f"{accuracy:.3f} [{low:.3f}, {high:.3f}] (n={n:.0f})"


def change_note(current: float, start: float, n: float | None) -> str:
    """``"within noise, 95% +-0.09"`` when the interval of the change holds 0, else
    ``"beyond noise, 95% [+0.03, +0.21]"``; ``""`` when the test-set size is unknown."""
    if n is None or not n > 0:  # unknown test-set size (NaN too)
        return ""
    low, high = difference_interval(current, start, n)
    if low <= 0 <= high:
        return f"within noise, 95% +-{(high - low) / 2:.2f}"
    return f"beyond noise, 95% [{low:+.2f}, {high:+.2f}]"


def format_change(current: float, start: float, n: float | None) -> str:
    """``"+0.025 (within noise, 95% +-0.09)"``; the bare ``"+0.025"`` when the test-set size is unknown."""
    note = change_note(current, start, n)
    return f"{current - start:+.3f}" + (f" ({note})" if note else "")
