"""The evaluate stage's ``relevant_concept_rank``: where an engine knows ground truth, how high the policy ranks the
concepts whose own query is relevant (0 = the top, 0.5 = random order), asked once a run on a seeded sample."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from ie.concepts import ConceptBrain
from ie.loop.evaluate import relevant_concept_rank
from tests.concepts.bandit import clustered


class _State:
    def __init__(self) -> None:
        self.state: dict[str, Any] = {}

    def get_state(self, key: str, default: Any = None) -> Any:
        return self.state.get(key, default)

    def set_state(self, key: str, value: Any) -> None:
        self.state[key] = value


def _context(rewarded_cluster: int, policy: str = "gp") -> tuple[SimpleNamespace, list[str]]:
    concepts, x, label = clustered(600, 4, seed=3)
    names = {c.name: int(label[i]) for i, c in enumerate(concepts)}
    asked: list[str] = []

    class Judge:
        def relevance(self, text: str) -> float:
            asked.append(text)
            return 1.0 if names[text] == 0 else 0.0  # cluster 0 is the target's

    brain = ConceptBrain(concepts, x, options={"policy": policy}, seed=0)
    rng = np.random.default_rng(0)
    picked = rng.choice(len(concepts), 120, replace=False)
    brain.observe([concepts[i].id for i in picked],
                  [float(label[i] == rewarded_cluster) + 0.05 * rng.standard_normal() for i in picked])
    ctx = SimpleNamespace(brain=brain, store=_State(), config=SimpleNamespace(seed=0),
                          session=SimpleNamespace(engines={"judge": Judge()}))
    return ctx, asked


# measured over clustered(seed) and brain seeds 0-11: 0.110-0.145 when the target's cluster is rewarded, 0.475-0.690
# when another one is


def test_a_policy_that_learnt_the_target_ranks_its_concepts_near_the_top() -> None:
    ctx, _ = _context(rewarded_cluster=0)  # cluster 0 holds 29% of the concepts: ranked first, their median is 0.146
    assert relevant_concept_rank(ctx)["relevant_concept_rank"] < 0.2


def test_a_policy_that_learnt_another_cluster_ranks_them_low() -> None:
    ctx, _ = _context(rewarded_cluster=1)
    assert relevant_concept_rank(ctx)["relevant_concept_rank"] > 0.4


def test_ground_truth_is_asked_once_a_run_and_kept_in_its_state() -> None:
    ctx, asked = _context(rewarded_cluster=0)
    first = relevant_concept_rank(ctx)
    n = len(asked)
    assert n == 600 and first["relevant_concepts_sampled"] == pytest.approx(sum(1 for v in
                                                                             ctx.store.state["ground_truth_sample"].values() if v >= 0.5))
    assert relevant_concept_rank(ctx) == first and len(asked) == n


def test_nothing_for_the_random_policy_or_without_ground_truth() -> None:
    ctx, _ = _context(rewarded_cluster=0, policy="random")
    assert relevant_concept_rank(ctx) == {}
    ctx, _ = _context(rewarded_cluster=0)
    ctx.session.engines = {"web": object()}
    assert relevant_concept_rank(ctx) == {}
