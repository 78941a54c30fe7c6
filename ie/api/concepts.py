"""Concept vocabularies, descriptors and text embedders."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ie.api.options import with_defaults
from ie.api.types import Concept

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


class Vocabulary(ABC):
    """Base class of vocabulary plugins. ``options`` is ``[options.vocabulary.<name>]`` plus, in label-set mode,
    ``class_names`` from the target."""

    name: ClassVar[str] = ""
    # concept-brain options (``[options.concepts.brain]`` keys) this vocabulary's concepts are best explored with;
    # the user's table wins. WordNet's: ``name_words`` (its names are phrases a text-matching engine matches)
    BRAIN_DEFAULTS: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, options: Mapping[str, Any] | None = None):
        self.options = with_defaults(getattr(type(self), "OPTIONS", None), options)

    @abstractmethod
    def concepts(self) -> Sequence[Concept]:
        """Every concept, in a stable order (load lazily and cache: vocabularies can be large)."""

    def __len__(self) -> int:
        return len(self.concepts())


class DescriptorProvider(ABC):
    """Proposes descriptor words for a concept ("baby" for "duck"), as in the paper's GPT-J descriptors."""

    name: ClassVar[str] = ""

    def __init__(self, options: Mapping[str, Any] | None = None):
        self.options = with_defaults(getattr(type(self), "OPTIONS", None), options)

    @abstractmethod
    def descriptors(self, concept: Concept, n: int) -> list[str]:
        """Up to ``n`` descriptor words or phrases for ``concept``."""


class TextEmbedder(ABC):
    """Base class of text-embedder plugins: strings -> L2-normalised float32 rows of width :attr:`dim`."""

    name: ClassVar[str] = ""

    def __init__(self, options: Mapping[str, Any] | None = None):
        self.options = with_defaults(getattr(type(self), "OPTIONS", None), options)

    @property
    @abstractmethod
    def dim(self) -> int: ...

    @property
    def cache_key(self) -> str:
        """Names the model, so vocabulary embeddings cached on disk are reused only by the same model."""
        return self.name

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray: ...
