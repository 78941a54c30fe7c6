"""Relevance feedback from the words of the results: which words do the target-like images' titles carry?

A text-matching engine (Flickr, Openverse, Wikimedia, a BM25 index over captions) finds an image by the words of
its title, tags or caption, not by what the concept means. So the images a run has already scored say which words
lead to the target: a word's score is the mean reward of the images whose hit titles contain it, shrunk towards
the mean of all scored images by ``shrink`` pseudo-images (one lucky image does not make a word), and a concept
scores the mean of the scored words of its name (what the engine is asked): a name must match on several good
words where several carry meaning ("teal striped hexagon"), and scores its one known word where one does. This is
Rocchio's relevance feedback (1971), written here in a few lines because it needs the run's own rewards and
titles, which no library holds.

Measured (``benchmarks/concept_reward_rules.py``; ``benchmarks/RESULTS.md``, "The paper's concept reward, and
relevance feedback from result titles"): on the clip-art web, after the first iteration's uniform draw, the 256
untried concepts with the best feedback score are 54-91% relevant in every run, where the GP's next draw was
0-11%; on the simulated web the mean of a name's words puts 92-100% relevant concepts in the top 24, its best
word 29-38%.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

WORD = re.compile(r"[^\W_]+")  # \w without "_": file-name titles ("red_fox.jpg") split into words
SHRINK = 3.0  # pseudo-images at the overall mean: a word seen on 3 images moves halfway to their mean
MIN_IMAGES = 2  # a word on fewer scored images says nothing yet
NAME_SCORES = ("mean", "max")  # how a name scores from its words: their mean, or its best word


def words(text: str | None) -> set[str]:
    """The lowercase words of ``text`` (runs of letters and digits, of any script)."""
    return set(WORD.findall((text or "").lower()))


def title_word_scores(images: Iterable[tuple[str, float]], shrink: float = SHRINK,
                      min_images: int = MIN_IMAGES) -> dict[str, float]:
    """Word -> shrunk mean reward of the images whose titles contain it. ``images``: (all of one image's hit
    titles joined, its reward), one pair per image; a word counts once per image."""
    pairs = [(words(title), float(reward)) for title, reward in images if np.isfinite(reward)]
    if not pairs:
        return {}
    overall = float(np.mean([reward for _, reward in pairs]))
    total: dict[str, float] = {}
    count: dict[str, int] = {}
    for found, reward in pairs:
        for word in found:
            total[word] = total.get(word, 0.0) + reward
            count[word] = count.get(word, 0) + 1
    return {word: (total[word] + shrink * overall) / (count[word] + shrink)
            for word in total if count[word] >= min_images}


class NameWords:
    """The words of each concept name, indexed once: ``scores(word_scores, how)`` gives every concept the mean (or
    the best) score of its name's scored words (``-inf`` where none of them has a score)."""

    def __init__(self, names: Sequence[str]):
        self.n = len(names)
        self.by_word: dict[str, list[int]] = {}
        for i, name in enumerate(names):
            for word in words(name):
                self.by_word.setdefault(word, []).append(i)

    def scores(self, word_scores: Mapping[str, float], how: str = "mean") -> np.ndarray:
        """``how``: ``mean`` of a name's scored words (a name must match on several good words), or ``max``, its
        best word."""
        if how not in NAME_SCORES:
            raise ValueError(f"how must be one of {', '.join(NAME_SCORES)}, not {how!r}")
        best = np.full(self.n, -np.inf)
        total, count = np.zeros(self.n), np.zeros(self.n)
        for word, score in word_scores.items():
            idx = self.by_word.get(word)
            if not idx:
                continue
            if how == "max":
                np.maximum.at(best, idx, float(score))
            else:
                np.add.at(total, idx, float(score))
                np.add.at(count, idx, 1.0)
        return best if how == "max" else np.where(count > 0, total / np.maximum(count, 1.0), -np.inf)
