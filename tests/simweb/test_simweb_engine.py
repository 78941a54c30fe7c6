"""The simweb engine: paging, noise, broken URLs, leaks, ground truth."""

from __future__ import annotations

from collections import Counter

import pytest

from ie.api import SearchEngine
from ie_plugins.simweb.engine import SimWebEngine
from ie_plugins.simweb.world import TEST_BASE


@pytest.fixture(scope="module")
def engine() -> SimWebEngine:
    return SimWebEngine({"seed": 0})


def test_engine_declares_itself(engine: SimWebEngine) -> None:
    assert isinstance(engine, SearchEngine)
    assert engine.name == "simweb" and engine.serves_private_urls and engine.max_per_page == 50


def test_paging_is_consistent_and_deterministic(engine: SimWebEngine) -> None:
    first, second = engine.search_page("red striped square", 1, 50), engine.search_page("red striped square", 2, 50)
    assert len(first.hits) == len(second.hits) == 50 and first.has_more
    big = engine.search("red striped square", 120)
    assert [h.url for h in big[:100]] == [h.url for h in first.hits + second.hits]
    assert [h.rank for h in big] == list(range(120))
    assert len({h.url for h in big}) == 120
    again = SimWebEngine({"seed": 0}).search("red striped square", 120)
    assert [h.url for h in again] == [h.url for h in big]
    other_seed = SimWebEngine({"seed": 1}).search("red striped square", 120)
    assert [h.url for h in other_seed] != [h.url for h in big]
    last = engine.search_page("red striped square", 10, 50)
    assert len(last.hits) == 50 and not last.has_more  # results_per_query = 500
    assert engine.search_page("red striped square", 11, 50).hits == []


def test_noise_and_broken_shares(engine: SimWebEngine) -> None:
    kinds: Counter[str] = Counter()
    for concept in engine.world.concepts[5::97]:
        for hit in engine.search(concept.name, 100):
            kinds[hit.extra["kind"].split("_")[0]] += 1
            if hit.extra["kind"] == "match":
                assert hit.extra["concept"] == concept.id
                assert concept.name in hit.title
    total = sum(kinds.values())
    assert abs(kinds["noise"] / total - 0.25) < 0.04
    assert abs(kinds["broken"] / total - 0.05) < 0.02
    assert abs(kinds["match"] / total - 0.70) < 0.04


def test_options_change_the_mix() -> None:
    clean = SimWebEngine({"noise": 0.0, "broken_rate": 0.0, "leaks_per_query": 0})
    assert {h.extra["kind"] for h in clean.search("blue striped circle", 100)} == {"match"}
    with pytest.raises(ValueError):
        SimWebEngine({"noise": 0.9, "broken_rate": 0.2})


def test_target_class_queries_leak_test_images(engine: SimWebEngine) -> None:
    leaks = [h for h in engine.search("blue striped circle", 100) if h.extra["kind"] == "leak"]
    assert len(leaks) == 2
    assert all(h.url.endswith(f"/img/blue-striped-circle/{TEST_BASE + i}.jpg") for i, h in enumerate(leaks))
    assert not [h for h in engine.search("blue striped circle on grass", 100) if h.extra["kind"] == "leak"]


def test_relevance_ground_truth(engine: SimWebEngine) -> None:
    assert engine.relevance("blue striped circle") > 0.6
    assert engine.relevance("baby blue striped ring") > 0.6
    assert engine.relevance("red dotted circle") < 0.1 and engine.relevance("blue striped ring at night") < 0.1
    assert engine.relevance("qwerty") == 0.0 and engine.search("qwerty", 10) == []
    assert engine.is_relevant_query("blue dotted hexagon")
    assert not engine.is_relevant_query("blue striped hexagon on grass")
    hits = engine.search("blue striped oval", 60)
    assert any(h.extra["relevant"] for h in hits) and not all(h.extra["relevant"] for h in hits)


def test_answer_all_gives_every_query_a_full_page_deterministically() -> None:
    strict, answering = SimWebEngine({"seed": 0}), SimWebEngine({"seed": 0, "answer_all": True})
    assert strict.search("statute of limitations", 20) == []  # shares no word with the world: nothing, as by default
    hits = answering.search("statute of limitations", 20)
    assert len(hits) == 20 and hits == SimWebEngine({"seed": 0, "answer_all": True}).search("statute of limitations", 20)
    assert len({h.extra["concept"] for h in answering.search("three-card monte", 20)} - {None}) >= 1
    # a query that matches keeps its own concept
    assert answering.search("blue striped star", 5) == strict.search("blue striped star", 5)
