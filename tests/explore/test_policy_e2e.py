"""End to end on the simulated web: the paper's policy (GP + tiered softmax) against random exploration with
the same budget and seed. Same setting as benchmarks/explore_simweb.py."""

from __future__ import annotations

import pytest
from rich.console import Console

from ie.explorer import Explorer
from ie.store import RunStore
from ie.testing.configs import policy_comparison_config

ITERATIONS = 6


def _metrics(tmp_path, policy: str) -> dict[int, dict[str, float]]:
    run = tmp_path / policy
    Explorer(policy_comparison_config(policy, ITERATIONS), run, console=Console(quiet=True), progress=False).run()
    store = RunStore.open(run)
    try:
        return store.metrics()
    finally:
        store.close()


@pytest.mark.slow
def test_gp_policy_finds_relevant_concepts_faster_than_random(tmp_path):
    ours, random_ = _metrics(tmp_path, "gp"), _metrics(tmp_path, "random")
    precision = {name: [m[i]["relevant_query_precision"] for i in range(ITERATIONS)]
                 for name, m in (("gp", ours), ("random", random_))}
    print("relevant-query precision by iteration:", precision)
    print("kNN top-1 after exploration: gp", ours[ITERATIONS - 1]["knn_top1"],
          "random", random_[ITERATIONS - 1]["knn_top1"])
    last = ITERATIONS - 1
    assert precision["gp"][last] > 0 and precision["gp"][last] >= 3 * precision["random"][last]
    after_first = slice(1, ITERATIONS)  # iteration 0 is a draw from the prior for both policies
    mean = {name: sum(p[after_first]) / (ITERATIONS - 1) for name, p in precision.items()}
    assert mean["gp"] >= 3 * mean["random"]
    # kNN accuracy after exploration is printed, not asserted: on CPU budgets both runs stay near the
    # random-feature level (seed 0: gp 0.233 vs random 0.258 on 120 test images, +-0.04; seeds 1/2: 0.350 vs
    # 0.317, 0.283 vs 0.300). Not a matter of budget alone: SSL on the most target-like data simweb has (blue
    # striped shapes) reaches no higher target kNN than on random simweb images (test_resnet, 450 steps: 0.33 vs
    # 0.33 seed 0, 0.33 vs 0.35 seed 1): the classes differ by shape only, and every simweb concept varies shape
    # alike. See the note.
