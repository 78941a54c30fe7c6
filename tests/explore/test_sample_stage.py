"""The sample stage assigns each query an engine by the configured weights, and none to an engine that sits out
(a spent quota or a refused key) while another can answer."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

from ie.api import Concept
from ie.config import ExploreConfig
from ie.loop.sample import SampleStage
from ie.store import RunStore


def _engines_of_planned(tmp_path, paused: dict[str, str]) -> Counter:  # noqa: ANN001
    config = ExploreConfig(target=str(tmp_path), engines=["openverse", "wikimedia"], queries_per_iter=40)
    store = RunStore.open(tmp_path / "run")
    store.add_concepts([Concept(id=f"c{i}", name=f"concept {i}") for i in range(40)])
    if paused:
        store.set_state("disabled_engines", paused)
    brain = SimpleNamespace(sample=lambda m, word_scores=None: [Concept(id=f"c{i}", name=f"concept {i}") for i in range(m)])
    ctx = SimpleNamespace(config=config, brain=brain, store=store, descriptors=None)
    try:
        assert SampleStage().run(ctx, 0) == {"planned": 40}
        return Counter(row["engine"] for row in store.queries(iteration=0))
    finally:
        store.close()


def test_a_paused_engine_gets_no_queries_while_another_can_answer(tmp_path):
    both = _engines_of_planned(tmp_path / "a", {})
    assert both["openverse"] > 5 and both["wikimedia"] > 5  # equal weights: both used
    assert _engines_of_planned(tmp_path / "b", {"openverse": "quota spent"}) == Counter({"wikimedia": 40})
    # when every engine sits out, the plan is kept as configured (the search stage records why each fails)
    everyone = _engines_of_planned(tmp_path / "c", {"openverse": "quota spent", "wikimedia": "outage"})
    assert sum(everyone.values()) == 40 and len(everyone) == 2


def test_the_search_stage_keeps_only_hits_under_the_runs_licences():
    from ie.api import Hit
    from ie.loop.search import licensed

    hits = [Hit(url=f"https://x/{i}.jpg", engine="e", query="q", rank=i, license=name)
            for i, name in enumerate(["CC BY 2.0", "All Rights Reserved", None, "CC0 1.0", "CC BY-NC 4.0"])]
    assert licensed(hits, []) == hits  # no filter: everything
    assert [h.license for h in licensed(hits, ["cc0", "by"])] == ["CC BY 2.0", "CC0 1.0"]  # unknown dropped


def test_an_unknown_licence_family_is_refused_before_the_run():
    import pytest

    from ie.api import IEError
    from ie.host.manager import get_plugin_manager
    from ie.loop.session import check_plugin_names

    with pytest.raises(IEError, match="unknown licence 'cc-by'"):
        check_plugin_names(ExploreConfig(licenses=["cc0", "cc-by"]), get_plugin_manager())


def test_a_concept_drawn_again_is_searched_deeper_and_not_once_its_results_ran_out(tmp_path):
    from ie.api import Hit

    config = ExploreConfig(target=str(tmp_path), engines=["openverse"], queries_per_iter=2, images_per_query=4)
    store = RunStore.open(tmp_path / "run")
    store.add_concepts([Concept(id=f"c{i}", name=f"concept {i}") for i in range(2)])
    brain = SimpleNamespace(sample=lambda m, word_scores=None: [Concept(id=f"c{i}", name=f"concept {i}") for i in range(m)])
    ctx = SimpleNamespace(config=config, brain=brain, store=store, descriptors=None)
    try:
        assert SampleStage().run(ctx, 0) == {"planned": 2}
        full, short = store.queries(iteration=0)
        store.finish_query(full["id"], [Hit(f"https://x/{i}", "openverse", "concept 0", i) for i in range(4)])
        store.finish_query(short["id"], [Hit("https://y/0", "openverse", "concept 1", 0)])
        assert SampleStage().run(ctx, 1) == {"planned": 1}  # concept 1 had no more results
        [again] = store.queries(iteration=1)
        assert again["concept_id"] == "c0" and again["skip"] == 4 and again["text"] == "concept 0"
        assert SampleStage().run(ctx, 1) == {"planned": 1}  # a crashed sample stage run again plans the same
        assert len(store.queries(iteration=1)) == 1
    finally:
        store.close()


def test_a_new_runs_brain_options_take_the_vocabularys_defaults_under_the_users_table():
    from ie.loop.sample import brain_options

    class Phrases:
        BRAIN_DEFAULTS = {"name_words": 0.5, "sigma_weight": 2.0}

    options = brain_options(Phrases(), 146_347, 256, {"sigma_weight": 1.5}, "gp")
    assert options["name_words"] == 0.5 and options["sigma_weight"] == 1.5 and options["policy"] == "gp"
    assert options["tiers"][0][0] > 0
    assert "name_words" not in brain_options(object(), 2880, 24, {}, "gp")  # a vocabulary without defaults


def test_the_sample_stage_hands_the_brain_the_words_of_the_rewarded_images_titles(tmp_path):
    import numpy as np

    from ie.api import DownloadOutcome, Hit, Outcome
    from ie.concepts import ConceptBrain

    config = ExploreConfig(target=str(tmp_path), engines=["openverse"], queries_per_iter=20, images_per_query=4)
    store = RunStore.open(tmp_path / "run")
    concepts = [Concept(id=f"{head}{i}", name=f"{head} kind{i}") for head in ("fox", "car", "tree") for i in range(30)]
    store.add_concepts(concepts)
    rewards: dict[str, float] = {}
    for n, (title, value) in enumerate([("red fox", 1.0), ("fox den", 0.9), ("fox cub", 0.8),
                                        ("blue car", 0.1), ("car park", 0.0), ("old car", 0.1)]):
        qid = store.add_query(0, concepts[n].id, f"q{n}", "openverse")
        hit = Hit(url=f"https://x/{n}.jpg", engine="openverse", query=f"q{n}", rank=0, title=title)
        store.finish_query(qid, [hit])
        image = store.add_image(f"image {n}".encode(), width=8, height=8, phash="0", iteration=0,
                                outcome=DownloadOutcome(hit.url, Outcome.OK))
        rewards[image.sha256] = value
    store.add_image_rewards(0, rewards, "knn")
    x = np.random.default_rng(0).normal(size=(len(concepts), 4)).astype(np.float32)
    brain = ConceptBrain(concepts, x, seed=0, options={"feedback_fraction": 1.0, "tiers": [[10, 0.9], [40, 0.05]]})
    brain.observe([c.id for c in concepts[:6]], [0.0] * 6, iteration=0)
    ctx = SimpleNamespace(config=config, brain=brain, store=store, descriptors=None)
    try:
        info = SampleStage().run(ctx, 1)
        assert list(info["feedback_words"])[0] == "fox"  # the best-rewarded images' word, kept with the mark
        drawn = [q["text"] for q in store.queries(iteration=1)]
        # the top tier (10 concepts, 90% of the mass) is all foxes, each drawn for sure; the other ten draws spread
        # over the other tiers (20 foxes among 80 names): about 12 foxes in all, where a third would be chance
        assert sum(text.startswith("fox") for text in drawn) >= 10
    finally:
        store.close()
