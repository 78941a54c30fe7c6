"""Relevance feedback from result titles: word scores, concept scores, and the brain's feedback share."""

from __future__ import annotations

import numpy as np
import pytest

from ie.api import Concept
from ie.concepts import ConceptBrain
from ie.concepts.feedback import NameWords, title_word_scores, words


def test_words_split_file_names_and_punctuation_in_any_script():
    assert words("Red_fox.JPG, man-of-war; Ölbaum 2") == {"red", "fox", "jpg", "man", "of", "war", "ölbaum", "2"}
    assert words(None) == set()


def test_word_score_is_the_shrunk_mean_reward_of_the_images_carrying_it():
    images = [("red fox", 1.0), ("fox den", 1.0), ("fox", 1.0), ("car", 0.0), ("car park", 0.0), ("tree", 0.0)]
    overall = 0.5
    scores = title_word_scores(images, shrink=3.0, min_images=2)
    assert scores["fox"] == pytest.approx((3 * 1.0 + 3 * overall) / 6)
    assert scores["car"] == pytest.approx((0.0 + 3 * overall) / 5)
    assert "red" not in scores and "tree" not in scores  # on one image only: no evidence yet
    # a word counts once per image, and non-finite rewards are left out
    again = title_word_scores([("fox fox", 1.0), ("fox", 1.0), ("car", float("nan"))], shrink=0.0, min_images=1)
    assert again == {"fox": 1.0}
    assert title_word_scores([]) == {}


def test_two_lucky_images_do_not_outrank_a_word_on_many_good_ones():
    images = [("lucky", 1.5), ("lucky one", 1.5)] + [(f"bird {i}", 1.0) for i in range(12)] + [
        (f"junk {i}", 0.0) for i in range(40)]
    scores = title_word_scores(images, min_images=2)
    assert scores["bird"] > scores["lucky"] > scores["junk"]


def test_concept_scores_the_mean_or_the_best_of_its_scored_name_words():
    index = NameWords(["water bird", "bird", "water pump", "tree", "teal striped hexagon"])
    scores = {"bird": 2.0, "water": 0.5, "teal": 1.0, "striped": 0.0}
    assert index.scores(scores, "max").tolist() == [2.0, 2.0, 0.5, -np.inf, 1.0]
    assert index.scores(scores).tolist() == [1.25, 2.0, 0.5, -np.inf, 0.5]  # mean of the scored words ("pump": none)
    with pytest.raises(ValueError, match="mean, max"):
        ConceptBrain([Concept(id="a", name="a")], np.ones((1, 2), dtype=np.float32),
                     options={"feedback_name_score": "sum"})


def _vocabulary(n_per_word: int = 40) -> tuple[list[Concept], np.ndarray]:
    heads = ["fox", "car", "tree", "lamp", "boat"]
    concepts = [Concept(id=f"{h}{i}", name=f"{h} kind{i}") for h in heads for i in range(n_per_word)]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(len(concepts), 8)).astype(np.float32)
    return concepts, x / np.linalg.norm(x, axis=1, keepdims=True)


def test_the_feedback_share_of_a_draw_follows_the_best_words():
    concepts, x = _vocabulary()
    brain = ConceptBrain(concepts, x, seed=3, options={"feedback_fraction": 0.5, "tiers": [[20, 0.8], [60, 0.1]]})
    brain.observe([c.id for c in concepts[::10]], [0.0] * 20, iteration=0)
    picked = brain.sample(40, {"fox": 1.0, "car": 0.0, "tree": 0.0})
    assert len({c.id for c in picked}) == 40
    foxes = sum(c.name.startswith("fox") for c in picked)
    # half the draw is feedback, and the fox words hold its top tier (80% of its mass); the GP half is spread
    # over five heads (about 4 foxes of 20). Measured over brain seeds 0-9 x 4 embedding seeds: 19-24 foxes with the
    # feedback, at most 13 without
    assert foxes >= 16
    paper = ConceptBrain(concepts, x, seed=3, options={"feedback_fraction": 0.0, "tiers": [[20, 0.8], [60, 0.1]]})
    paper.observe([c.id for c in concepts[::10]], [0.0] * 20, iteration=0)
    assert sum(c.name.startswith("fox") for c in paper.sample(40, {"fox": 1.0})) < foxes


def test_no_word_scores_draws_exactly_what_the_paper_draws():
    concepts, x = _vocabulary()
    on = ConceptBrain(concepts, x, seed=5, options={"feedback_fraction": 0.5})
    off = ConceptBrain(concepts, x, seed=5, options={"feedback_fraction": 0.0})
    for brain in (on, off):
        brain.observe([c.id for c in concepts[:30]], list(np.linspace(0, 1, 30)), iteration=0)
    assert [c.id for c in on.sample(30, {})] == [c.id for c in off.sample(30, {"fox": 1.0})]


def test_random_policy_ignores_feedback_and_feedback_respects_retired_concepts():
    concepts, x = _vocabulary()
    rand = ConceptBrain(concepts, x, seed=1, options={"policy": "random"})
    plain = ConceptBrain(concepts, x, seed=1, options={"policy": "random"})
    assert [c.id for c in rand.sample(20, {"fox": 1.0})] == [c.id for c in plain.sample(20)]
    brain = ConceptBrain(concepts, x, seed=1, options={"feedback_fraction": 1.0})
    brain.observe([concepts[0].id], [0.0], iteration=0)
    brain.retire([c.id for c in concepts if c.name.startswith("fox")][:39])
    picked = brain.sample(10, {"fox": 1.0})
    # only one fox is left to draw; the feedback takes it and the GP fills the rest
    assert sum(c.name.startswith("fox") for c in picked) == 1 and len(picked) == 10


def test_resumed_brain_draws_the_same_with_the_same_word_scores():
    concepts, x = _vocabulary()
    brain = ConceptBrain(concepts, x, seed=2)
    brain.observe([c.id for c in concepts[:25]], list(np.linspace(0, 1, 25)), iteration=0)
    resumed = ConceptBrain.from_state(brain.to_state(), concepts, x)
    scores = {"fox": 1.0, "boat": 0.5}
    assert [c.id for c in resumed.sample(30, scores)] == [c.id for c in brain.sample(30, scores)]
