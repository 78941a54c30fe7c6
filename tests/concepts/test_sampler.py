"""The paper's sampling rules against hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ie.concepts.sampler import (
    concept_probabilities,
    draw,
    draw_systematic,
    inclusion_probabilities,
    rank_order,
    softmax,
    temperature,
    tier_masses,
)


def test_temperature_is_range_over_smr():
    r = np.array([0.2, 0.5, 1.1, 0.8])
    assert temperature(r) == pytest.approx((1.1 - 0.2) / 3)
    assert temperature(r, smr=1.5) == pytest.approx(0.6)
    assert temperature(np.array([0.4, 0.4])) == math.inf


def test_softmax_at_that_temperature_has_max_min_ratio_e_cubed():
    r = np.array([0.0, 0.5, 1.0])
    p = softmax(r, temperature(r))  # tau = 1/3: weights e^0, e^1.5, e^3
    expected = np.exp([0.0, 1.5, 3.0]) / np.exp([0.0, 1.5, 3.0]).sum()
    np.testing.assert_allclose(p, expected)
    assert p.max() / p.min() == pytest.approx(math.exp(3))


def test_tier_masses_hand_example():
    # 6 concepts, tiers: top 2 -> 0.8, ranks 2-4 -> 0.1, rest -> 0.1
    base = np.array([0.1, 0.3, 0.2, 0.15, 0.05, 0.2])
    order = rank_order(base)  # by base itself: 1, then (2, 5) tie -> index order, 3, 0, 4
    assert order.tolist() == [1, 2, 5, 3, 0, 4]
    p = tier_masses(base, order, tiers=[(2, 0.8), (4, 0.1)], rest_mass=0.1)
    assert p[1] == pytest.approx(0.8 * 0.3 / 0.5) and p[2] == pytest.approx(0.8 * 0.2 / 0.5)
    assert p[5] == pytest.approx(0.1 * 0.2 / 0.35) and p[3] == pytest.approx(0.1 * 0.15 / 0.35)
    assert p[0] == pytest.approx(0.1 * 0.1 / 0.15) and p[4] == pytest.approx(0.1 * 0.05 / 0.15)
    assert p.sum() == pytest.approx(1.0)


def test_paper_tiers_on_a_large_vocabulary():
    rng = np.random.default_rng(0)
    r = rng.normal(size=5000)
    p = concept_probabilities(r)
    order = np.argsort(-r)
    assert p[order[:250]].sum() == pytest.approx(0.8)
    assert p[order[250:1000]].sum() == pytest.approx(0.1)
    assert p[order[1000:]].sum() == pytest.approx(0.1)
    # within a tier the softmax ratio holds: exp((r_i - r_j) / tau)
    tau = temperature(r)
    i, j = order[0], order[100]
    assert p[i] / p[j] == pytest.approx(math.exp((r[i] - r[j]) / tau))


def test_empty_tiers_share_their_mass():
    r = np.arange(100, dtype=float)  # fewer than 250 concepts: one tier holds everything
    p = concept_probabilities(r)
    assert p.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(p, softmax(r, temperature(r)))


def test_uniform_before_anything_is_learned_and_eligibility():
    p = concept_probabilities(np.zeros(2000))
    np.testing.assert_allclose(p, 1 / 2000)
    eligible = np.ones(2000, dtype=bool)
    eligible[:1500] = False
    p = concept_probabilities(np.arange(2000.0), eligible=eligible)
    assert p[:1500].sum() == 0 and p.sum() == pytest.approx(1.0)
    # 500 eligible: tiers 0.8 and 0.1 hold them all, the empty rest tier gives its 0.1 away pro rata
    assert p[np.argsort(-np.arange(2000.0))[:250]].sum() == pytest.approx(0.8 / 0.9)


def test_ties_do_not_favour_the_start_of_the_vocabulary():
    r = np.zeros(3000)
    r[0] = 1.0  # one winner, the rest tied: tier membership decided by the seeded tie-break
    tie = np.random.default_rng(1).permutation(3000)
    p = concept_probabilities(r, tie_break=tie)
    top = rank_order(r, tie)[:250]
    assert 0 in top and not set(range(1, 250)) <= set(top.tolist())
    assert p[top].sum() == pytest.approx(0.8)


def test_draw_without_replacement_and_reproducible():
    p = concept_probabilities(np.random.default_rng(0).normal(size=3000))
    a = draw(p, 256, np.random.default_rng(5))
    b = draw(p, 256, np.random.default_rng(5))
    assert len(set(a.tolist())) == 256 and a.tolist() == b.tolist()
    q = np.zeros(10)
    q[[2, 7]] = 0.5
    assert sorted(draw(q, 5, np.random.default_rng(0)).tolist()) == [2, 7]  # only the support


def test_draw_follows_the_tier_masses():
    r = np.random.default_rng(3).normal(size=20000)
    p = concept_probabilities(r)
    top = set(np.argsort(-r)[:250].tolist())
    rng = np.random.default_rng(0)
    share = np.mean([len(top & set(draw(p, 50, rng).tolist())) / 50 for _ in range(200)])
    assert 0.74 < share < 0.86  # 80% in expectation (a little less: without replacement)


def test_inclusion_probabilities_cap_at_one_and_sum_to_the_sample_size():
    pi = inclusion_probabilities(np.array([0.5, 0.2, 0.1, 0.1, 0.1, 0.0]), 3)
    assert pi.sum() == pytest.approx(3.0) and pi[0] == pytest.approx(1.0) and pi[5] == 0
    np.testing.assert_allclose(pi[1:5], 2.0 * np.array([0.4, 0.2, 0.2, 0.2]))  # the rest pro rata
    assert inclusion_probabilities(np.array([0.5, 0.5, 0.0]), 5).sum() == pytest.approx(2.0)  # only 2 eligible


def test_systematic_draw_includes_each_concept_at_its_rate_and_each_tier_at_its_share():
    r = np.random.default_rng(3).normal(size=3000)
    tiers = [[48, 0.8], [192, 0.1]]
    p = concept_probabilities(r, tiers=tiers)
    top = np.argsort(-r)[:48]
    rng = np.random.default_rng(0)
    counts, top_counts = np.zeros(len(p)), []
    for _ in range(2000):
        picked = draw_systematic(p, 24, rng)
        assert len(set(picked.tolist())) == 24
        counts[picked] += 1
        top_counts.append(np.isin(picked, top).sum())
    assert set(top_counts) <= {19, 20}  # 80% of 24 = 19.2, never spread binomially (2000 successive draws: ~12-24)
    pi = inclusion_probabilities(p, 24)
    assert np.abs(counts[top] / 2000 - pi[top]).max() < 0.05  # each top concept at its rate (0.4; 2000 draws)
    assert draw_systematic(np.full(10, 0.1), 3, np.random.default_rng(1)).tolist() != [0, 3, 6]  # not in index order
