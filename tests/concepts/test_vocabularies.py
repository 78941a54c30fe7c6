"""Vocabulary and descriptor plugins."""

from __future__ import annotations

import pytest

from ie.api import Concept, PluginError, WeightsUnavailableError
from ie.host.manager import get_plugin_manager


def test_wordnet_has_the_papers_146347_concepts():
    vocab = get_plugin_manager().create("vocabulary", "wordnet", {})
    concepts = vocab.concepts()
    assert len(vocab) == 146347
    assert len({c.id for c in concepts}) == 146347
    assert len({c.synset for c in concepts}) == 82115
    dog = next(c for c in concepts if c.id == "wn:n02084071:dog")
    assert dog.synset == "n02084071" and dog.hypernym == "canine" and dog.vocabulary == "wordnet"
    assert dog.text.startswith("dog (canine): a member of the genus Canis")
    assert '"the dog barked all night"' not in dog.text  # examples are not part of the definition
    panda = next(c for c in concepts if c.id == "wn:n02509815:red_panda")
    assert panda.name == "red panda" and panda.text.startswith("red panda (procyonid): ")
    assert concepts[0].text.startswith("entity: ")  # the root has no hypernym


def test_wordnet_licence_ships_next_to_the_data():
    from importlib.resources import files

    notice = files("ie_plugins.vocabularies.data").joinpath("LICENSE-WordNet").read_text()
    assert "WordNet 3.0 Copyright 2006 by Princeton University" in notice


def test_file_vocabulary_txt_and_csv(tmp_path):
    txt = tmp_path / "c.txt"
    txt.write_text("# my concepts\nred panda\n\nsnow leopard\tbig cat of the mountains\nred panda\n")
    concepts = get_plugin_manager().create("vocabulary", "file", {"path": str(txt)}).concepts()
    assert [c.name for c in concepts] == ["red panda", "snow leopard"]
    assert concepts[1].text == "snow leopard: big cat of the mountains" and concepts[0].text == "red panda"
    csv = tmp_path / "c.csv"
    csv.write_text('name,description\n"duck, mallard",a wild duck\ngoose,\n')
    concepts = get_plugin_manager().create("vocabulary", "file", {"path": str(csv)}).concepts()
    assert [(c.id, c.text) for c in concepts] == [("file:duck, mallard", "duck, mallard: a wild duck"),
                                                   ("file:goose", "goose")]
    with pytest.raises(PluginError, match="path"):
        get_plugin_manager().create("vocabulary", "file", {})
    with pytest.raises(PluginError, match="no such file"):
        get_plugin_manager().create("vocabulary", "file", {"path": str(tmp_path / "nope.txt")}).concepts()


def test_labels_vocabulary_with_category():
    vocab = get_plugin_manager().create(
        "vocabulary", "labels", {"class_names": ["rose", "sunflower", "pink_primrose"], "category": "flower"})
    assert [c.name for c in vocab.concepts()] == ["rose flower", "sunflower", "pink primrose flower"]
    assert vocab.concepts()[0].text == "rose (flower)" and vocab.concepts()[0].id == "label:0:rose"
    plain = get_plugin_manager().create("vocabulary", "labels", {"class_names": "cat,dog"})
    assert [c.name for c in plain.concepts()] == ["cat", "dog"]
    with pytest.raises(PluginError, match="class_names"):
        get_plugin_manager().create("vocabulary", "labels", {})


def test_adjective_descriptors_are_deterministic_diverse_and_registered():
    provider = get_plugin_manager().create("descriptors", "adjectives", {})
    duck = Concept(id="wn:n01846331:duck", name="duck")
    words = provider.descriptors(duck, 5)
    assert len(words) == len(set(words)) == 5
    assert words == get_plugin_manager().create("descriptors", "adjectives", {}).descriptors(duck, 5)
    assert provider.descriptors(Concept(id="x", name="goose"), 5) != words
    assert get_plugin_manager().create("descriptors", "adjectives", {"salt": "2"}).descriptors(duck, 5) != words
    red = provider.descriptors(Concept(id="r", name="red panda"), 30)
    assert "red" not in red


def test_llm_descriptors_need_a_model_path_and_parse_first_words():
    from ie_plugins.vocabularies.adjectives import parse_completions

    with pytest.raises(WeightsUnavailableError, match="model_path"):
        get_plugin_manager().create("descriptors", "llm", {})
    duck = Concept(id="d", name="duck")
    assert parse_completions([" fluffy.\nThe", " Fluffy", " duck", "  baby duck", "!!"], duck, 5) == ["fluffy", "baby"]
