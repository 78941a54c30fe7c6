"""`make demo` finds the target's concepts and keeps them: the default run (``ie explore`` with no options: simweb,
the offline ImageNet start, GP policy, reward contrasted with the web) asserted by properties that hold at every
seed measured, with a margin, not by one trajectory. This one run is also the suite's test that the paper's policy
(GP + tiered softmax) finds relevant concepts far more often than random exploration: a second GP run in the
benchmark's setting asserted the same claim with looser thresholds and cost the suite four minutes.

Measured at the demo's budget over ten seeds (``benchmarks/demo_seeds.py``, RESULTS "The demo at ten seeds"): see
the thresholds below. The random policy is not run: it draws concepts uniformly, so its expected precision is the
world's share of relevant concepts, 190 / 2,880 = 0.066 (tests/simweb/test_random_baseline.py), and one random
run's precision at 24 queries swings 0.00-0.21 from iteration to iteration, which made "x times random's last"
a coin toss. Float kernels differ between CPUs (the same seed gave 0.71 on one machine and 0.46 on another), so
the seed is not special: any seed of the ten holds these margins.
"""

from __future__ import annotations

import statistics

import pytest
from rich.console import Console

from ie.config import ExploreConfig
from ie.learning.uncertainty import difference_interval
from ie.loop.driver import Explorer
from ie.store import RunStore
from ie_plugins.simweb.world import get_world

SEED = 0
# measured over seeds 0-9 (benchmarks/results/demo-seeds-requery.jsonl), worst seed -> threshold:
LATER_MEAN_X_RANDOM = 6.0  # mean precision of iterations 2-4 >= 6x random (0.40); ten seeds: 0.56-0.88
LAST_X_RANDOM = 5.0  # last iteration >= 5x random (0.33), the goal; ten seeds: 0.75-0.88
MIN_MEAN_REWARD_AUC = 0.8  # the reward ranks relevant images far above chance; ten seeds: 0.88-0.96


def _demo_metrics(tmp_path) -> tuple[dict[int, dict[str, float]], dict[str, float]]:
    config = ExploreConfig(seed=SEED, device="cpu")  # the demo: every other field at its default
    Explorer(config, tmp_path / "demo", console=Console(quiet=True), progress=False).run()
    store = RunStore.open(tmp_path / "demo")
    try:
        return store.metrics(), store.get_state("baseline", {}).get("start", {})
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.timeout(1800)  # one demo run: ~4 min on 2 idle cores
def test_demo_finds_the_target_and_keeps_it(tmp_path):
    ours, start = _demo_metrics(tmp_path)
    iterations = ExploreConfig().iterations
    random_precision = get_world({"target": "blue-striped"}).relevant_fraction()
    precision = [ours[i]["relevant_query_precision"] for i in range(iterations)]
    auc = [ours[i]["reward_auc"] for i in range(iterations)]
    print("demo precision by iteration:", precision, "reward AUC:", [round(a, 2) for a in auc])
    assert statistics.mean(precision[2:]) >= LATER_MEAN_X_RANDOM * random_precision
    assert precision[-1] >= LAST_X_RANDOM * random_precision
    assert statistics.mean(auc) >= MIN_MEAN_REWARD_AUC
    # fine-tuning keeps what the start knows: the last kNN is not below the start's beyond the test set's noise
    last = ours[iterations - 1]["knn_top1"]
    _, high = difference_interval(last, start["knn_top1"], start["n_test"])
    assert high >= 0.0, (last, start)
