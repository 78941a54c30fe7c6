"""`make demo` keeps what it finds: the default run (``ie explore`` with no options: simweb, the offline ImageNet
start, GP policy, seed 0) against the same run with the random policy, same budget and seed.

Part 8's acceptance: the last iteration's relevant-query precision is >= 0.8x the run's best iteration and >= 3x the
random run's last iteration. The start model is the pretrained one, and its kNN reward ranks relevant images well
(ROC AUC asserted per iteration): with random-init features the reward ranked them at chance or below, and the
policy lost the concepts it had found (precision 0.42 at iteration 2, then 0.00, 0.04).

The seed is stated because the acceptance does not hold for every seed: measured for seeds 0-3, ">= 3x random"
holds in all, ">= 0.8x best" in seeds 0 and 3 only; in seeds 1 and 2 the kNN reward scores striped shapes on
other backgrounds (irrelevant by simweb's ground truth) as high as relevant ones (benchmarks/RESULTS.md, "The
demo at other seeds").
"""

from __future__ import annotations

import pytest
from rich.console import Console

from ie.config import ExploreConfig
from ie.loop.driver import Explorer
from ie.store import RunStore

SEED = 0


def _demo_metrics(tmp_path, policy: str) -> tuple[dict[int, dict[str, float]], dict[str, float]]:
    config = ExploreConfig(policy=policy, seed=SEED, device="cpu")  # the demo: every other field at its default
    run = tmp_path / policy
    Explorer(config, run, console=Console(quiet=True), progress=False).run()
    store = RunStore.open(run)
    try:
        return store.metrics(), store.get_state("baseline", {}).get("start", {})
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.timeout(1800)  # two demo runs: ~2 x 3 min on 2 idle cores
def test_demo_keeps_what_it_finds_and_beats_random(tmp_path):
    ours, start = _demo_metrics(tmp_path, "gp")
    random_, _ = _demo_metrics(tmp_path, "random")
    iterations = ExploreConfig().iterations
    precision = [ours[i]["relevant_query_precision"] for i in range(iterations)]
    random_precision = [random_[i]["relevant_query_precision"] for i in range(iterations)]
    print("demo precision by iteration: gp", precision, "random", random_precision)
    print("reward AUC by iteration:", [round(ours[i]["reward_auc"], 2) for i in range(iterations)])
    print("target kNN: start", start["knn_top1"], "last", ours[iterations - 1]["knn_top1"])
    last = precision[-1]
    assert last >= 0.8 * max(precision)
    assert last >= 3 * random_precision[-1] and last >= 3 * 0.04  # a random run's last can be 0
    # the reward the policy learns from carries signal in every iteration (random-init features: ~0.4-0.5)
    assert min(ours[i]["reward_auc"] for i in range(iterations)) >= 0.7
    # gentle fine-tuning keeps what the start knows: target kNN does not fall by more than the test set's noise
    assert ours[iterations - 1]["knn_top1"] >= start["knn_top1"] - 0.06
