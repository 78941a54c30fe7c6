"""The simweb vocabulary: every concept of the simulated world."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ie.api import Concept, Vocabulary
from ie_plugins.simweb.world import World, get_world


class SimWebVocabulary(Vocabulary):
    """All world concepts (2,880 by default) in a stable order. Options: ``seed``, ``n_concepts``, ``target``."""

    name: ClassVar[str] = "simweb"

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        self.world: World = get_world(self.options)

    def concepts(self) -> Sequence[Concept]:
        return self.world.concepts
