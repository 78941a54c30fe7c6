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
    run = tmp_path / policy
    Explorer(policy_comparison_config(policy, ITERATIONS), run, console=Console(quiet=True), progress=False).run()
    store = RunStore.open(run)
    try:
        return store.metrics()
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.timeout(1800)
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
    # kNN accuracy after exploration is printed, not asserted (the part-5 acceptance item left open): at CPU
    # budgets SSL does not move simweb target kNN off the random-init features, whatever the data, so neither
    # policy can beat the other on it except by noise. benchmarks/ssl_data_relevance.py measures it without the
    # explorer: resnet18 64 px, 150 MoCo-v3 steps, 360 test images (+-0.023): no training 0.267, the target's
    # train split alone 0.264, relevant concepts 0.261, random concepts 0.258 (AdamW: target 0.278, random
    # 0.300); at 600 steps relevant 0.253, random 0.264. The six classes differ by shape only. See benchmarks/RESULTS.md and the note.
