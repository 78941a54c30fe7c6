"""The simweb vocabulary: every concept of the simulated world."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from ie.api import Concept, Vocabulary
from ie_plugins.simweb.options import WORLD_OPTIONS
from ie_plugins.simweb.world import World, get_world


class SimWebVocabulary(Vocabulary):
    """All world concepts (2,880 by default) in a stable order. Options: ``seed``, ``n_concepts``, ``target``."""

    name: ClassVar[str] = "simweb"
    OPTIONS = WORLD_OPTIONS

    @property
    def world(self) -> World:
        """The world of these options (see :func:`~ie_plugins.simweb.world.get_world`)."""
        return get_world(self.options)

    def concepts(self) -> Sequence[Concept]:
        return self.world.concepts
