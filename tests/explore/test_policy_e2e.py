"""End to end on the simulated web: the paper's policy (GP + tiered softmax) against random exploration with
the same budget and seed. Same setting as benchmarks/explore_simweb.py."""

from __future__ import annotations

import pytest
from rich.console import Console

from ie.loop.driver import Explorer
from ie.store import RunStore
from ie.testing.configs import policy_comparison_config

ITERATIONS = 6


def _metrics(tmp_path, policy: str) -> dict[int, dict[str, float]]:
    """Metrics by iteration, with the start model's under iteration -1."""
    run = tmp_path / policy
    Explorer(policy_comparison_config(policy, ITERATIONS), run, console=Console(quiet=True), progress=False).run()
    store = RunStore.open(run)
    try:
        return {**store.metrics(), -1: store.get_state("baseline")["start"]}
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_gp_policy_finds_relevant_concepts_faster_than_random(tmp_path):
    ours, random_ = _metrics(tmp_path, "gp"), _metrics(tmp_path, "random")
    precision = {name: [m[i]["relevant_query_precision"] for i in range(ITERATIONS)]
                 for name, m in (("gp", ours), ("random", random_))}
    last = ITERATIONS - 1
    assert precision["gp"][last] > 0 and precision["gp"][last] >= 3 * precision["random"][last]
    after_first = slice(1, ITERATIONS)  # iteration 0 is a draw from the prior for both policies
    mean = {name: sum(p[after_first]) / (ITERATIONS - 1) for name, p in precision.items()}
    assert mean["gp"] >= 3 * mean["random"]
    # Target kNN: both runs start from the same ImageNet model (seed 0: 0.608 on 120 test images, +-0.045) and
    # fine-tune it gently; neither may lose what the start knows beyond the test set's noise. That gp *beats*
    # random on kNN is not asserted: at this budget (120 MoCo-v3 steps) no arm moves kNN by more than the
    # seed spread (benchmarks/RESULTS.md, part 8: gp 0.592, random 0.617, no exploration 0.600 at seed 0).
    for name, metrics in (("gp", ours), ("random", random_)):
        assert metrics[last]["knn_top1"] >= metrics[-1]["knn_top1"] - 0.06, (name, metrics[last], metrics[-1])
