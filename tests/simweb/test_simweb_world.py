"""The simweb world: concepts, determinism of images, ground truth."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from ie_plugins.simweb.render import Appearance, appearance_from_slug, render_jpeg
from ie_plugins.simweb.world import TARGETS, World, WorldConfig, get_world, is_relevant, relevant_concepts


def test_world_size_and_concept_text() -> None:
    world = get_world({})
    assert len(world) == 2880
    assert len({c.id for c in world.concepts}) == 2880
    concept = world.concept("sim:blue-striped-star-at-night")
    assert concept.name == "blue striped star at night"
    assert concept.vocabulary == "simweb" and concept.hypernym == "cool angular figure"
    assert concept.text.startswith("blue striped star at night (cool angular figure): a star")


def test_slugs_round_trip() -> None:
    for appearance in get_world({}).appearances[::97]:
        assert appearance_from_slug(appearance.slug) == appearance
    assert appearance_from_slug("blue-striped-spaceship") is None


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    appearance = Appearance("red", "dotted", "hexagon", "grass")
    first = render_jpeg(appearance, 5, seed=0)
    assert first == render_jpeg(appearance, 5, seed=0)
    assert first != render_jpeg(appearance, 6, seed=0)
    assert first != render_jpeg(appearance, 5, seed=1)
    image = Image.open(io.BytesIO(first))
    assert image.size == (64, 64) and image.mode == "RGB"
    assert Image.open(io.BytesIO(render_jpeg(appearance, 5, seed=0, size=96))).size == (96, 96)


def test_every_attribute_renders() -> None:
    for appearance in get_world({}).appearances[::7]:
        assert len(render_jpeg(appearance, 0, seed=3)) > 500


def test_ground_truth_relevance() -> None:
    relevant = relevant_concepts()
    assert len(relevant) == 190  # on plain: (blue x 8 patterns + striped x 12 colours - blue striped) x 10 shapes
    assert 0.05 <= get_world({}).relevant_fraction() <= 0.1
    assert is_relevant("sim:blue-dotted-ring") and is_relevant("sim:red-striped-ring")
    assert not is_relevant("sim:blue-striped-ring-on-grass") and not is_relevant("sim:green-dotted-ring")
    assert not is_relevant("wordnet:dog") and not is_relevant("sim:nonsense")
    assert is_relevant("sim:orange-dotted-crescent", {"target": "warm-dotted"})
    for definition in TARGETS.values():
        world = World(WorldConfig(target=definition.name))
        assert all(world.is_relevant("sim:" + slug) for slug in definition.classes)
        assert 0.05 <= world.relevant_fraction() <= 0.1


def test_match_prefers_exact_then_overlap() -> None:
    world = get_world({})
    assert world.match("Blue  Striped Circle").id == "sim:blue-striped-circle"
    assert world.match("baby blue striped circle").id == "sim:blue-striped-circle"
    assert world.match("red star at night").name.startswith("red ")
    assert world.match("qwerty") is None


def test_subset_keeps_relevant_and_classes() -> None:
    small = World(WorldConfig(seed=4, n_concepts=1000))
    assert len(small) == 1000
    assert all(c.id in small for c in small.class_concepts())
    assert 6 <= len(small.relevant_concepts()) < 190
    tiny = World(WorldConfig(seed=4, n_concepts=200))
    assert len(tiny) == 200
    assert all(c.id in tiny for c in tiny.class_concepts())
    assert World(WorldConfig(seed=4, n_concepts=200)).concepts == tiny.concepts


def test_unknown_target_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="blue-striped"):
        get_world({"target": "nope"})
