"""ConceptBrain: the score rule, resumable state, label-set mode, and the synthetic bandit."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ie.api import Concept
from ie.concepts import ConceptBrain, fingerprint
from ie.concepts.sampler import temperature

from .bandit import clustered, run_bandit


def test_score_is_observed_reward_minus_penalty_when_tried_else_mu_plus_sigma():
    concepts = [Concept(id=f"c{i}", name=f"c{i}") for i in range(3)]
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    brain = ConceptBrain(concepts, x)
    brain.observe(["c0"], [0.7])
    r = brain.score()
    k = math.exp(-1.0)  # one observation: mu = 0.7 everywhere, default hyper l=1, s2=1, noise=0.1
    sigma_tried = math.sqrt(1 - 1 / 1.1)
    assert r[0] == pytest.approx(0.7 - 2.0 * sigma_tried, abs=1e-4)  # tried: observed mean - 2 x sigma there
    assert r[1] == pytest.approx(0.7 + math.sqrt(1 - k * k / 1.1), abs=1e-5)
    assert r[2] == pytest.approx(0.7 + sigma_tried, abs=1e-4)
    mu, sigma, prob = brain.scores()
    assert prob[0] > 0 and prob.sum() == pytest.approx(1.0)  # a tried concept may be searched again (deeper)
    tau = temperature(r)
    assert prob[1] / prob[2] == pytest.approx(math.exp((r[1] - r[2]) / tau))
    once = ConceptBrain(concepts, x, options={"exclude_tried": True})
    once.observe(["c0"], [0.7])
    assert once.score()[0] == pytest.approx(0.7 - 2.0 * sigma_tried, abs=1e-4)
    _, _, prob = once.scores()
    assert prob[0] == 0 and prob.sum() == pytest.approx(1.0)  # exclude_tried: never re-drawn
    tau = temperature(once.score()[1:])  # over the eligible ones
    assert prob[1] / prob[2] == pytest.approx(math.exp((once.score()[1] - once.score()[2]) / tau))


def test_retired_and_random_policy_never_redraw():
    concepts, x, _ = clustered(400, 4, dim=8)
    brain = ConceptBrain(concepts, x, seed=1)
    brain.observe([c.id for c in concepts[:50]], [1.0] * 50, iteration=0)
    brain.retire([c.id for c in concepts[:10]])
    _, _, p = brain.scores()
    assert np.all(p[:10] == 0) and np.all(p[10:50] > 0)
    state = brain.to_state()
    assert ConceptBrain.from_state(state, concepts, x).retired == brain.retired
    rand = ConceptBrain(concepts, x, options={"policy": "random"}, seed=1)
    rand.observe([c.id for c in concepts[:50]], [1.0] * 50, iteration=0)
    _, _, p = rand.scores()
    assert np.all(p[:50] == 0) and p[50:] == pytest.approx(1 / 350)


def test_old_state_resumes_with_the_options_it_began_with():
    concepts, x, _ = clustered(300, 3, dim=8)
    state = ConceptBrain(concepts, x, options={"exclude_tried": True}).to_state()
    for key in ("tried_penalty", "draw", "feedback_fraction"):  # a state saved before these options existed
        del state["options"][key]
    old = ConceptBrain.from_state(state, concepts, x)
    assert old.options["tried_penalty"] == 0.0 and old.options["draw"] == "successive"
    assert old.options["feedback_fraction"] == 0.0  # the GP alone, as it began
    with pytest.raises(ValueError, match="draw"):
        ConceptBrain(concepts, x, options={"draw": "stratified"})


def test_first_draw_is_uniform_and_without_replacement():
    concepts, x, _ = clustered(5000, 10, dim=16)
    brain = ConceptBrain(concepts, x, seed=3)
    _, _, p = brain.scores()
    np.testing.assert_allclose(p, 1 / 5000)
    ids = [c.id for c in brain.sample(256)]
    assert len(set(ids)) == 256


def test_state_roundtrip_resumes_the_same_samples():
    concepts, x, label = clustered(4000, 8, dim=32, seed=2)
    brain = ConceptBrain(concepts, x, seed=11, meta={"vocabulary": "synthetic"})
    rng = np.random.default_rng(0)
    for it in range(2):
        picked = brain.sample(64)
        brain.observe([c.id for c in picked], (label[[int(c.id[1:]) for c in picked]] == 1) + 0.1 * rng.random(64),
                      iteration=it)
    brain.scores()  # fitted: the state carries the hyperparameters
    state = json.loads(json.dumps(brain.to_state()))  # JSON-able
    assert state["observed_through"] == 1 and state["meta"] == {"vocabulary": "synthetic"}
    resumed = ConceptBrain.from_state(state, concepts, x)
    assert [c.id for c in resumed.sample(64)] == [c.id for c in brain.sample(64)]
    np.testing.assert_allclose(resumed.scores()[2], brain.scores()[2])
    with pytest.raises(ValueError, match="vocabulary"):
        ConceptBrain.from_state(state, concepts[:-1], x[:-1])


def test_state_saved_before_the_refit_also_resumes_identically():
    concepts, x, label = clustered(3000, 6, dim=16, seed=5)
    brain = ConceptBrain(concepts, x, seed=1)
    brain.observe([c.id for c in brain.sample(50)], list(np.linspace(0, 1, 50)), iteration=0)
    state = brain.to_state()  # the explorer saves right after observe, before the next sample
    resumed = ConceptBrain.from_state(state, concepts, x)
    assert [c.id for c in resumed.sample(40)] == [c.id for c in brain.sample(40)]


def test_label_set_mode_prunes_and_queries_labels_half_the_time():
    concepts, x, label = clustered(10000, 20, dim=32, seed=6)
    labels = [c.id for c in concepts if int(c.id[1:]) in (0, 1, 2, 3)]  # four label concepts in the vocabulary
    brain = ConceptBrain(concepts, x, seed=0, label_ids=labels)
    assert len(brain.concepts) == 1000  # the top 10%, which holds the labels themselves (similarity 1)
    label_clusters = {int(label[int(cid[1:])]) for cid in labels}
    kept = np.array([int(c.id[1:]) for c in brain.concepts])
    assert np.isin(label[kept], list(label_clusters)).mean() > 0.9  # pruned to what is similar to the labels
    picked = brain.sample(40)
    assert sum(c.id in labels for c in picked) == 20
    assert fingerprint(concepts) == brain.vocab_fingerprint
    extra = [Concept(id="label:0:rose", name="rose flower")]
    brain2 = ConceptBrain(concepts, x, label_concepts=extra, label_embeddings=x[:1])
    assert brain2.concepts[-1].id == "label:0:rose" and "label:0:rose" in {c.id for c in brain2.sample(10)}


def test_random_policy_is_uniform_over_untried():
    concepts, x, _ = clustered(2000, 5, dim=8)
    brain = ConceptBrain(concepts, x, options={"policy": "random"})
    brain.observe(["c1", "c2"], [5.0, 0.0])
    _, _, p = brain.scores()
    assert p[1] == 0 and p[2] == 0 and p[0] == pytest.approx(1 / 1998)
    with pytest.raises(ValueError, match="unknown concept options"):
        ConceptBrain(concepts, x, options={"temprature": 1})


def test_no_gp_policy_scores_only_the_queried_concepts():
    """The paper's ablation without the GP: an observed reward moves its own concept only; the GP also lifts the
    unqueried neighbour (same direction of text embedding) above an unrelated concept."""
    concepts = [Concept(id=f"c{i}", name=f"c{i}") for i in range(5)]
    x = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]], dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)  # c1 is c0's neighbour; c2, c4 are unrelated to both
    scores = {}
    for policy in ("gp", "no-gp"):
        brain = ConceptBrain(concepts, x, options={"policy": policy})
        brain.observe(["c0", "c3"], [1.0, 0.0], iteration=0)
        scores[policy] = brain.score()
    gp, no_gp = scores["gp"], scores["no-gp"]
    assert gp[1] > gp[2] + 0.1 and gp[1] > gp[4] + 0.1  # the GP extrapolates to the neighbour
    assert no_gp[0] == pytest.approx(1.0) and no_gp[3] == pytest.approx(0.0)
    prior = 0.5 + 0.5  # mean + sigma_weight * std of the observed rewards, the same for every unqueried concept
    np.testing.assert_allclose(no_gp[[1, 2, 4]], prior)
    _, _, p = brain.scores()
    assert p[0] > 0 and p[0] > p[3]  # tried concepts stay eligible, ranked by their reward
    np.testing.assert_allclose(p[[1, 2, 4]], p[1])  # no unqueried concept is preferred over another
    with pytest.raises(ValueError, match="no-gp"):
        ConceptBrain(concepts, x, options={"policy": "nogp"})


def test_bandit_small():
    """20,000 concepts in 20 clusters, one rewarded. Measured over seeds 0-11: found 0.76-0.84 of the cluster with
    the default (tried concepts searched again), 0.93-1.00 with ``exclude_tried``; after the first draw 0.89-0.90 of
    the default's queries hit the cluster (0.79-0.86 with ``exclude_tried``); random finds 0.05-0.07."""
    found, rand, queries, precision = run_bandit(20000, 20, iterations=10, m=128, with_precision=True)
    assert found >= 0.65 and precision >= 0.85 and rand < 0.2
    found, rand, queries, once_precision = run_bandit(20000, 20, iterations=10, m=128,
                                                      options={"exclude_tried": True}, with_precision=True)
    assert found >= 0.85 and once_precision >= 0.75 and rand < 0.2
    assert precision > once_precision


@pytest.mark.slow
def test_bandit_paper_scale():
    """146,347 concepts in 50 clusters; reward 1 (+ noise) in one hidden cluster of ~2,900 concepts. Seeds 0-5: found
    0.68-0.78 of it (random 0.03), 0.91 of the queries after the first draw hit it; thresholds below the worst."""
    found, rand, queries, precision = run_bandit(146347, 50, iterations=16, m=256, with_precision=True)
    assert found >= 0.6 and precision >= 0.8 and rand < 0.2


# --- name_words: the words of the concepts' names beside their text embeddings ------------------------------------

def _word_world(n: int = 400, seed: int = 0):
    """Concepts named '<word> <word>' from 40 words, with embeddings that carry no information (random)."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(40)]
    names = [f"{words[a]} {words[b]}" for a, b in rng.integers(0, 40, (n, 2))]
    x = rng.standard_normal((n, 384)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return [Concept(id=f"c{i}", name=name) for i, name in enumerate(names)], x


def test_name_word_bags_make_names_that_share_a_word_near():
    from ie.concepts.embeddings import name_word_bags

    bags = name_word_bags(["red fox", "fox terrier", "blue whale", "Red Fox"], dim=512)
    cos = bags @ bags.T
    assert cos[0, 1] == pytest.approx(0.5, abs=0.02) and cos[0, 2] == pytest.approx(0.0, abs=0.02)
    assert cos[0, 3] == pytest.approx(1.0)  # case does not matter


@pytest.mark.parametrize("weight, lifted", [(0.5, True), (0.0, False)])
def test_name_words_carry_a_reward_to_concepts_sharing_a_word(weight, lifted):
    """Rewards observed on concepts named with word w3 lift the GP's mean for untried concepts with w3 only when
    the name words are in the kernel (the text embeddings here are random: they carry nothing). Measured over
    worlds and brain seeds 0-11: gap 0.69-0.90 with name_words 0.5, 0.0 without."""
    concepts, x = _word_world()
    has = np.array(["w3" in c.name.split() for c in concepts])
    tried = np.arange(0, len(concepts), 2)
    brain = ConceptBrain(concepts, x, options={"name_words": weight}, seed=0)
    brain.observe([concepts[i].id for i in tried], [float(has[i]) for i in tried])
    mu, _, _ = brain.scores()
    untried = np.setdiff1d(np.arange(len(concepts)), tried)
    gap = mu[untried][has[untried]].mean() - mu[untried][~has[untried]].mean()
    assert bool(gap > 0.2) == lifted, gap


def test_name_words_must_be_a_share():
    concepts, x = _word_world(20)
    with pytest.raises(ValueError, match="name_words must be in"):
        ConceptBrain(concepts, x, options={"name_words": 1.0})
