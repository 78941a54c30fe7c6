"""The simulated world: concepts (colour x pattern x shape x background), target definitions and ground truth.

A world is fixed by its options (``seed``, ``n_concepts``, ``image_size``, ``target``); :func:`get_world` caches one
per option set, so the engine, the target and the vocabulary of one process share it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from ie.api import Concept, with_defaults
from ie_plugins.simweb.options import WORLD_OPTIONS
from ie_plugins.simweb.render import BACKGROUNDS, COLOURS, PATTERNS, SHAPES, Appearance, appearance_from_slug

VOCABULARY = "simweb"
ID_PREFIX = "sim:"
DEFAULT_TARGET = "blue-striped"
# Image index ranges: the engine serves indices below TRAIN_BASE; target splits use their own ranges.
TRAIN_BASE, VAL_BASE, TEST_BASE = 1_000_000, 2_000_000, 3_000_000


@dataclass(frozen=True)
class TargetDefinition:
    """A target: its classes (concept slugs) and the attributes that make any concept relevant to it."""

    name: str
    classes: tuple[str, ...]
    colours: frozenset[str]
    patterns: frozenset[str]
    description: str
    backgrounds: frozenset[str] = frozenset({"plain"})

    def relevant(self, appearance: Appearance) -> bool:
        return appearance.background in self.backgrounds and (
            appearance.colour in self.colours or appearance.pattern in self.patterns)


# Relevant concepts look like the target: its background and its colour or its pattern (any shape). This is what
# a visual reward can see; for blue-striped that is 190 of 2,880 concepts (6.6%): blue things and striped things
# on the plain background. The classes are a few of them.
TARGETS: dict[str, TargetDefinition] = {
    t.name: t
    for t in (
        TargetDefinition(
            "blue-striped",
            ("blue-striped-circle", "blue-striped-triangle", "blue-striped-square", "blue-striped-star",
             "blue-striped-hexagon", "blue-striped-crescent"),
            frozenset({"blue"}), frozenset({"striped"}),
            "blue striped shapes: six classes; relevant = blue or striped concepts on the plain background",
        ),
        TargetDefinition(
            "warm-dotted",
            ("red-dotted-circle", "red-dotted-square", "orange-dotted-star", "orange-dotted-ring"),
            frozenset({"red", "orange"}), frozenset({"dotted"}),
            "red and orange dotted shapes: four classes; relevant = red, orange or dotted on the plain background",
        ),
        TargetDefinition(
            "night-checkered",
            ("green-checkered-pentagon-at-night", "green-checkered-oval-at-night", "green-checkered-cross-at-night",
             "green-checkered-triangle-at-night", "green-checkered-ring-at-night"),
            frozenset({"green"}), frozenset({"checkered"}),
            "green checkered shapes in the night sky: five classes; relevant = green or checkered at night",
            frozenset({"night"}),
        ),
    )
}

_TOKEN = re.compile(r"[a-z]+")
_STOPWORDS = frozenset({"a", "an", "the", "on", "at", "of", "in"})  # ignored when matching by overlap


def tokens(text: str) -> list[str]:
    """Lower-case word tokens of a query or name."""
    return _TOKEN.findall(text.lower())


def describe(appearance: Appearance) -> Concept:
    """The vocabulary concept of one appearance, with a name, hypernym-like group and definition."""
    colour_family = COLOURS[appearance.colour][0]
    shape_family, shape_text = SHAPES[appearance.shape]
    suffix, background_text = BACKGROUNDS[appearance.background]
    name = " ".join(filter(None, [appearance.colour, appearance.pattern, appearance.shape, suffix]))
    group = f"{colour_family} {shape_family} figure"
    definition = (
        f"a {appearance.shape}, {shape_text}, coloured {appearance.colour} (a {colour_family} colour), "
        f"{PATTERNS[appearance.pattern][1]}, {background_text}"
    )
    return Concept(
        id=ID_PREFIX + appearance.slug,
        name=name,
        text=f"{name} ({group}): {definition}",
        vocabulary=VOCABULARY,
        hypernym=group,
        definition=definition,
    )


@lru_cache(maxsize=None)
def all_appearances() -> tuple[Appearance, ...]:
    """Every appearance of the full product, in a stable order (12 x 8 x 10 x 3 = 2,880)."""
    return tuple(
        Appearance(c, p, s, b) for c, p, s, b in itertools.product(COLOURS, PATTERNS, SHAPES, BACKGROUNDS)
    )


@dataclass(frozen=True)
class WorldConfig:
    """The options every simweb plugin shares."""

    seed: int = 0
    n_concepts: int = len(all_appearances())
    image_size: int = 64
    target: str = DEFAULT_TARGET

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> WorldConfig:
        options = with_defaults(WORLD_OPTIONS, options)
        seed = int(options.get("seed") or 0)  # a host key: the run's seed
        target = str(options["target"] or definition_of(options.get("target_spec")) or DEFAULT_TARGET)
        if target not in TARGETS:
            raise ValueError(f"simweb: unknown target {target!r}; choose one of {', '.join(sorted(TARGETS))}")
        image_size = int(options["image_size"])
        if not 8 <= image_size <= 1024:
            raise ValueError(f"simweb: image_size must be between 8 and 1024 pixels, not {image_size}")
        n = int(options["n_concepts"])
        return cls(
            seed=seed,
            n_concepts=max(len(TARGETS[target].classes), min(n, len(all_appearances()))),
            image_size=image_size,
            target=target,
        )


class World:
    """Concepts, the target definition and ground truth relevance of one configuration."""

    def __init__(self, config: WorldConfig):
        self.config = config
        self.definition = TARGETS[config.target]
        self.appearances = self._choose_appearances()
        self._by_slug = {a.slug: a for a in self.appearances}

    def _choose_appearances(self) -> tuple[Appearance, ...]:
        """Every appearance, or a seeded subset of ``n_concepts`` with all relevant ones (tiny worlds: the classes)."""
        everything = all_appearances()
        if self.config.n_concepts >= len(everything):
            return everything
        relevant = {i for i, a in enumerate(everything) if self.definition.relevant(a)}
        if len(relevant) * 20 > self.config.n_concepts:  # too small a world for all of them: keep the classes
            relevant = {i for i, a in enumerate(everything) if a.slug in self.definition.classes}
        others = [i for i, a in enumerate(everything) if i not in relevant]
        rng = np.random.default_rng([self.config.seed, 7919])
        rest = rng.choice(others, size=max(0, self.config.n_concepts - len(relevant)), replace=False)
        chosen = sorted(relevant | set(rest.tolist()))
        return tuple(everything[i] for i in chosen)

    # concepts --------------------------------------------------------------------------------
    @cached_property
    def concepts(self) -> tuple[Concept, ...]:
        return tuple(describe(a) for a in self.appearances)

    @cached_property
    def _concept_by_id(self) -> dict[str, Concept]:
        return {c.id: c for c in self.concepts}

    @cached_property
    def _index_by_name(self) -> dict[str, int]:
        return {c.name: i for i, c in enumerate(self.concepts)}

    @cached_property
    def _token_sets(self) -> list[frozenset[str]]:
        return [frozenset(tokens(c.name)) - _STOPWORDS for c in self.concepts]

    def concept(self, concept_id: str) -> Concept:
        return self._concept_by_id[concept_id]

    def appearance(self, concept_id: str) -> Appearance:
        return self._by_slug[slug_of(concept_id)]

    def __contains__(self, concept_id: object) -> bool:
        return isinstance(concept_id, str) and concept_id in self._concept_by_id

    def __len__(self) -> int:
        return len(self.appearances)

    def match(self, query: str) -> Concept | None:
        """The concept a query is about: exact name first, else most shared name tokens (ties: fewest extra
        tokens, then vocabulary order); None when the query shares no token with any concept."""
        normalised = " ".join(tokens(query))
        exact = self._index_by_name.get(normalised)
        if exact is not None:
            return self.concepts[exact]
        words = set(normalised.split()) - _STOPWORDS
        if not words:
            return None
        best, best_key = None, (0, 0)
        for i, names in enumerate(self._token_sets):
            overlap = len(words & names)
            key = (overlap, -len(names - words))
            if overlap and key > best_key:
                best, best_key = i, key
        return None if best is None else self.concepts[best]

    # ground truth ------------------------------------------------------------------------------
    def is_relevant(self, concept_id: str) -> bool:
        """Whether images of the concept belong to the target's domain (shares its colour and pattern)."""
        appearance = appearance_from_slug(slug_of(concept_id)) if concept_id.startswith(ID_PREFIX) else None
        return appearance is not None and self.definition.relevant(appearance)

    def relevant_concepts(self) -> list[Concept]:
        return [c for c in self.concepts if self.is_relevant(c.id)]

    def relevant_fraction(self) -> float:
        return len(self.relevant_concepts()) / len(self.concepts)

    def class_concepts(self) -> list[Concept]:
        """The target's classes, in label order."""
        return [describe(appearance_from_slug(slug)) for slug in self.definition.classes]  # type: ignore[arg-type]


def slug_of(concept_id: str) -> str:
    return concept_id[len(ID_PREFIX):] if concept_id.startswith(ID_PREFIX) else concept_id


def definition_of(target_spec: str | None) -> str | None:
    """The definition a run's ``--target`` names (``simweb:warm-dotted`` -> ``warm-dotted``), else ``None``. The host
    gives every plugin the run's target in full as option ``target_spec``, so engines and vocabularies whose own
    options name no ``target`` follow it in any process of a cluster."""
    if target_spec and target_spec.startswith("simweb:") and target_spec.split(":", 1)[1] in TARGETS:
        return target_spec.split(":", 1)[1]
    return None


@lru_cache(maxsize=16)
def _cached_world(config: WorldConfig) -> World:
    return World(config)


def get_world(options: Mapping[str, Any] | None = None) -> World:
    """The (cached) world of an options mapping: ``seed``, ``n_concepts``, ``image_size``, ``target`` (default: the
    run's, from the host option ``target_spec``, else ``blue-striped``)."""
    return _cached_world(WorldConfig.from_options(options))


def is_relevant(concept_id: str, options: Mapping[str, Any] | None = None) -> bool:
    """Ground truth: is ``concept_id`` relevant to the target of ``options`` (default target ``blue-striped``)."""
    return get_world(options).is_relevant(concept_id)


def relevant_concepts(options: Mapping[str, Any] | None = None) -> list[Concept]:
    """Ground truth: every relevant concept of the world of ``options``."""
    return get_world(options).relevant_concepts()


def class_names(options: Mapping[str, Any] | None = None) -> Sequence[str]:
    return [c.name for c in get_world(options).class_concepts()]
