"""The random policy's relevant-query precision is the world's share of relevant concepts, whatever the seed: the
end-to-end tests and `benchmarks/demo_seeds.py` compare the GP policy against this expectation instead of one
random run (whose precision at 24 queries swings 0.00-0.21 from iteration to iteration)."""

from __future__ import annotations

import numpy as np
import pytest

from ie.concepts.brain import ConceptBrain
from ie_plugins.simweb.engine import SimWebEngine
from ie_plugins.simweb.world import get_world


@pytest.mark.parametrize("target", ["blue-striped", "warm-dotted", "night-checkered"])
def test_random_policy_precision_is_the_relevant_share(target: str) -> None:
    world = get_world({"target": target})
    concepts = list(world.concepts)
    share = world.relevant_fraction()
    precision = []
    for seed in range(40):
        brain = ConceptBrain(concepts, np.zeros((len(concepts), 4), np.float32), {"policy": "random"}, seed=seed)
        for iteration in range(5):  # the demo: 5 iterations of 24 queries, tried concepts never drawn again
            drawn = brain.sample(24)
            precision.append(np.mean([world.is_relevant(c.id) for c in drawn]))
            brain.observe([c.id for c in drawn], [0.0] * len(drawn), iteration)
    # 40 seeds x 5 x 24 = 4,800 draws: the mean's standard error is ~0.004 at a share of 0.066
    assert abs(np.mean(precision) - share) < 0.015
    assert 0.04 < share < 0.1  # the demo's target: 190 of 2,880 concepts


def test_the_engines_relevance_judge_agrees_with_the_world() -> None:
    """The run's metric asks the engine (a query is relevant when >= half its working hits are); for concept names
    it says what the world says, so the share above is the random policy's expected metric."""
    engine = SimWebEngine({"seed": 0, "target": "blue-striped"})
    world = engine.world
    rng = np.random.default_rng(0)
    for i in rng.choice(len(world.concepts), 200, replace=False):
        concept = world.concepts[int(i)]
        assert (engine.relevance(concept.name) >= 0.5) == world.is_relevant(concept.id), concept.name
