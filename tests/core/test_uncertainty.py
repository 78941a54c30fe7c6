"""Accuracies with their uncertainty: Wilson intervals, the change from the start model, and the summary that
shows them (and shows bare numbers for runs recorded before the test-set size was)."""

from __future__ import annotations

import io
import math

import pytest
from rich.console import Console

from ie.learning.uncertainty import (change_note, difference_interval, format_accuracy, format_change,
                                     wilson_interval)
from ie.outputs.summary import print_iteration_summary
from ie.store import RunStore


def test_wilson_interval_matches_published_and_worked_values():
    # Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 (score interval, no continuity correction)
    assert wilson_interval(81 / 263, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson_interval(15 / 148, 148) == pytest.approx((0.0624, 0.1605), abs=1e-4)
    assert wilson_interval(0 / 10, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(0.85, 120) == pytest.approx((0.775, 0.903), abs=1e-3)


@pytest.mark.parametrize("p, n", [(0.85, 120), (0.3, 50), (0.5, 1000), (0.97, 30)])
def test_wilson_bounds_solve_the_score_equation(p, n):
    """Independent check: the bounds are the two roots pi of (p - pi)^2 = z^2 pi (1 - pi) / n."""
    z = 1.96
    a, b, c = 1 + z * z / n, -(2 * p + z * z / n), p * p
    roots = sorted(((-b - math.sqrt(b * b - 4 * a * c)) / (2 * a), (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)))
    assert wilson_interval(p, n) == pytest.approx(tuple(roots), abs=1e-12)


def test_wilson_interval_narrows_with_more_test_images():
    widths = [high - low for low, high in (wilson_interval(0.8, n) for n in (10, 30, 120, 500, 5000))]
    assert all(wider > narrower for wider, narrower in zip(widths, widths[1:]))


def test_wilson_interval_edges():
    low, high = wilson_interval(0.0, 120)
    assert low == 0.0 and 0.0 < high < 0.05
    low, high = wilson_interval(1.0, 120)
    assert high == 1.0 and 0.95 < low < 1.0
    assert wilson_interval(0.85, 0) == (0.0, 1.0) and wilson_interval(0.85, -3) == (0.0, 1.0)


def test_difference_interval():
    low, high = difference_interval(0.9, 0.85, 120)
    half = 1.96 * math.sqrt((0.9 * 0.1 + 0.85 * 0.15) / 120)
    assert (low, high) == pytest.approx((0.05 - half, 0.05 + half))
    assert difference_interval(0.9, 0.85, 0) == (-1.0, 1.0)
    assert difference_interval(1.0, 0.0, 10) == (1.0, 1.0)  # no variance, clipped to [-1, 1]


def test_formats():
    assert format_accuracy(0.85, 120) == "0.850 [0.775, 0.903] (n=120)"
    assert format_accuracy(0.85, None) == "0.850"
    one_image = format_change(0.85 + 1 / 120, 0.85, 120)
    assert one_image.startswith("+0.008 (within noise, 95% +-0.09")
    assert format_change(0.7, 0.5, 1000) == "+0.200 (beyond noise, 95% [+0.16, +0.24])"
    assert "beyond noise" in format_change(0.5, 0.7, 1000) and "[-0.24, -0.16]" in format_change(0.5, 0.7, 1000)
    assert format_change(0.875, 0.85, None) == "+0.025" and change_note(0.875, 0.85, None) == ""


def _summary(tmp_path, metrics, baseline):
    console = Console(record=True, width=200, file=io.StringIO())
    with RunStore.open(tmp_path / "run") as store:
        store.set_state("baseline", {"start": baseline})
        print_iteration_summary(console, store, 0, metrics)
    return console.export_text()


def test_summary_shows_intervals_and_the_change(tmp_path):
    text = _summary(tmp_path, {"knn_top1": 0.875, "linear_top1": 0.9, "n_test": 120.0, "queries": 8.0},
                    {"knn_top1": 0.85, "linear_top1": 0.7, "n_test": 120.0})
    assert "0.875 [0.804, 0.923] (n=120)" in text
    assert "kNN change from start model (0.850)" in text and "+0.025 (within noise, 95% +-0.09)" in text
    assert "linear-probe change from start model (0.700)" in text and "+0.200 (beyond noise" in text


def test_summary_of_a_run_recorded_before_n_test_shows_bare_numbers(tmp_path):
    text = _summary(tmp_path, {"knn_top1": 0.875, "queries": 8.0}, {"knn_top1": 0.85})
    assert "target kNN accuracy" in text and "0.875" in text and "+0.025" in text
    assert "noise" not in text and "[" not in text


@pytest.mark.parametrize("n_test", [120.0, None])
def test_report_compares_with_the_start_model_within_noise(tmp_path, n_test):
    from ie.outputs.report import write_report

    size = {"n_test": n_test} if n_test else {}
    with RunStore.open(tmp_path / "run") as store:
        store.add_metrics(0, {"knn_top1": 0.875, "queries": 8.0, **size})
        store.set_state("baseline", {"start": {"knn_top1": 0.85, **size}})
    page = write_report(tmp_path / "run").read_text()
    assert "<td>change from the starting model</td><td>+0.025</td>" in page
    assert ("within noise, 95% +-0.09" in page and "[0.804, 0.923]" in page) if n_test else "noise" not in page
    assert "<th>n_test</th>" not in page
