"""The concept distribution: GP reward estimator + the paper's sampler, with resumable state."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

import numpy as np

from ie.api import Concept
from ie.concepts.estimator import GPRewardEstimator, Hyper
from ie.config import CHOICES
from ie.concepts.embeddings import name_word_bags
from ie.concepts.feedback import NAME_SCORES, NameWords
from ie.concepts.sampler import DEFAULT_REST_MASS, DEFAULT_TIERS, concept_probabilities, draw, draw_systematic

DEFAULTS: dict[str, Any] = {
    # gp: the paper's GP + tiered softmax; random: uniform over untried concepts (baseline); no-gp: the paper's
    # ablation without the GP: rewards update only the queried concepts, the others keep the prior score
    "policy": "gp",
    "smr": 3.0,  # (max r - min r) / tau
    "tiers": [list(t) for t in DEFAULT_TIERS],  # [[end_rank, mass], ...]: top 250 -> 0.8, 250-1000 -> 0.1
    "rest_mass": DEFAULT_REST_MASS,  # ranks past the last tier
    "sigma_weight": 1.0,  # untried concepts score mu + sigma_weight * sigma
    # False: a tried concept stays in the draw at its observed mean reward, so one that paid off is searched again
    # (deeper results) until its reward falls; True: never re-draw one (the random policy always excludes them)
    "exclude_tried": False,
    # a tried concept scores its observed mean reward minus tried_penalty x sigma_weight x the GP's std there (the
    # pessimistic side, where untried ones get the optimistic mu + sigma): new concepts still come first while the
    # GP expects them to be as good, proven ones hold the top when it does not
    "tried_penalty": 2.0,
    # systematic: each concept is included with probability proportional to its mass, the count from each tier
    # within one of its share; successive: numpy's draws one after another (the count per tier varies binomially)
    "draw": "systematic",
    "label_fraction": 0.5,  # label-set mode: share of each draw taken from the label concepts
    "label_prune": 0.1,  # label-set mode: keep this share of the vocabulary, most similar to the labels
    "num_inducing": 512,
    "hyper_subset": 800,
    # the share of the GP's squared distances that comes from the words of the concepts' names (a hashed bag of
    # words, :func:`name_word_bags`) beside their text embeddings: concepts that share a word are near, as a
    # text-matching search engine finds them alike. 0: the paper's GP over the text embeddings alone
    "name_words": 0.0,
    "name_words_dim": 512,
    # the share of each draw (after the labels) taken by relevance feedback from the results' titles: concepts whose
    # name carries the words of the best-rewarded images' titles (:mod:`ie.concepts.feedback`), drawn by the same
    # tiered softmax over their feedback score; the rest from the GP. 0: the paper's draw, the GP alone
    "feedback_fraction": 0.5,
    # how a concept's name scores from its words' feedback scores: mean (of the name's scored words: a name must
    # match on several good words) or max (its best word)
    "feedback_name_score": "mean",
}
POLICIES = CHOICES["policy"]  # one list: the config checks it before a run
DRAWS = ("systematic", "successive")
# what a state saved before an option existed meant by it: an old run resumes as it began
LEGACY_OPTIONS: dict[str, Any] = {"tried_penalty": 0.0, "draw": "successive", "name_words": 0.0,
                                  "feedback_fraction": 0.0}
STATE_VERSION = 1
# the vocabulary's text embeddings, or a callable that returns them when they are first needed (they may still be
# computing in the background: the first draw is uniform and needs none)
EmbeddingSource = Union[np.ndarray, Callable[[], np.ndarray]]


def fingerprint(concepts: Sequence[Concept]) -> str:
    """A digest of the concept ids in order: a saved state only loads onto the same vocabulary."""
    h = hashlib.sha256()
    for c in concepts:
        h.update(c.id.encode("utf-8") + b"\0")
    return f"{len(concepts)}:{h.hexdigest()[:16]}"


class ConceptBrain:
    """Decides the next concepts to query (the paper's steps 1 and 6).

    ``ConceptBrain(concepts, embeddings, options=None, seed=0, label_ids=None, label_concepts=(),
    label_embeddings=None, meta=None)``: ``embeddings[i]`` is the (L2-normalised) text embedding of
    ``concepts[i]``, or ``embeddings`` is a callable that returns them, called the first time the GP needs them
    (:data:`EmbeddingSource`: a draw before any observation, uniform, needs none); ``options`` override
    :data:`DEFAULTS`. Label-set mode: the labels are either
    ``label_ids`` (concepts of the vocabulary) or extra ``label_concepts`` with their embeddings. The
    vocabulary is then pruned to the ``label_prune`` share most similar to any label (labels kept), and
    each draw takes ``label_fraction`` of its concepts from the labels (cycling through them in a seeded
    order; labels repeat across iterations, e.g. with new descriptors).

    * ``sample(m, word_scores=None) -> list[Concept]``: ``m`` concepts (without replacement from the vocabulary);
      with ``word_scores`` (:func:`ie.concepts.feedback.title_word_scores`), ``feedback_fraction`` of them are
      drawn by relevance feedback, the rest by the GP.
    * ``observe(concept_ids, rewards, iteration=None)``: record concept rewards (a repeated id keeps
      its mean reward); :attr:`observed_through` is the last iteration observed (-1 before any).
    * ``scores() -> (mu, sigma, prob)``: GP mean and std and the sampling probability of every concept
      in :attr:`concepts` (the pruned vocabulary, then the labels). Policy ``no-gp`` (the paper's ablation
      without the GP) has no posterior: every concept keeps the prior (mean and std of the observed rewards),
      only the tried ones are scored by their rewards, and they stay eligible (``exclude_tried`` is ignored:
      it would leave only concepts it knows nothing about, i.e. the random policy).
    * ``retire(concept_ids)``: never draw these again (their search is spent: it came back short or failed).
    * ``score() -> r``: observed mean reward (minus ``tried_penalty`` sigmas) for tried concepts, ``mu + sigma`` for
      the others.
    * ``to_state() -> dict`` (JSON-able) and ``ConceptBrain.from_state(state, concepts, embeddings, ...)``:
      observations, fitted hyperparameters, RNG state; a resumed brain samples what this one would have.
    ``meta`` is stored verbatim in the state (e.g. vocabulary and embedder names for ``ie concepts explain``).
    """

    def __init__(
        self,
        concepts: Sequence[Concept],
        embeddings: EmbeddingSource,
        options: Mapping[str, Any] | None = None,
        seed: int = 0,
        label_ids: Sequence[str] | None = None,
        label_concepts: Sequence[Concept] = (),
        label_embeddings: np.ndarray | None = None,
        meta: Mapping[str, Any] | None = None,
    ):
        if not callable(embeddings) and len(concepts) != len(embeddings):
            raise ValueError(f"{len(concepts)} concepts but {len(embeddings)} embeddings")
        unknown = set(options or {}) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown concept options {sorted(unknown)}; known: {sorted(DEFAULTS)}")
        self.options = {**DEFAULTS, **dict(options or {})}
        self.seed = int(seed)
        self.meta = dict(meta or {})
        self.vocab_fingerprint = fingerprint(concepts)
        if self.options["draw"] not in DRAWS:
            raise ValueError(f"unknown concept draw {self.options['draw']!r}; use {', '.join(DRAWS)}")
        if self.options["feedback_name_score"] not in NAME_SCORES:
            raise ValueError(f"concept option feedback_name_score must be one of {', '.join(NAME_SCORES)}, not "
                             f"{self.options['feedback_name_score']!r}")
        if self.options["policy"] not in POLICIES:
            raise ValueError(f"unknown concept policy {self.options['policy']!r}; use {', '.join(POLICIES)}")
        all_concepts = list(concepts)
        self._n_vocabulary = len(concepts)
        self._embeddings: np.ndarray | None = None
        self._source: EmbeddingSource = embeddings
        if label_concepts:
            if label_embeddings is None or len(label_embeddings) != len(label_concepts):
                raise ValueError("label-set mode needs one embedding per label concept")
            all_concepts += list(label_concepts)
        self._label_embeddings = None if label_embeddings is None else np.asarray(label_embeddings, dtype=np.float32)
        label_list = list(label_ids or []) + [c.id for c in label_concepts]
        position = {c.id: i for i, c in enumerate(all_concepts)}
        missing = [cid for cid in label_list if cid not in position]
        if missing:
            raise ValueError(f"label ids not in the vocabulary: {missing[:5]}")
        label_idx = np.array(list(dict.fromkeys(position[c] for c in label_list)), dtype=np.int64)
        self.label_ids = [all_concepts[i].id for i in label_idx]
        self.n_labels = len(label_idx)
        weight = float(self.options["name_words"])
        if not 0.0 <= weight < 1.0:
            raise ValueError(f"concept option name_words must be in [0, 1), not {weight}")
        keep = np.arange(len(concepts))
        if self.n_labels:  # which concepts are kept depends on the embeddings: they are needed now
            emb = self._vocabulary_embeddings()
            pruned = prune_by_labels(emb[: len(concepts)], emb[label_idx], float(self.options["label_prune"]))
            keep = np.setdiff1d(pruned, label_idx)
        self._order = np.concatenate([keep, label_idx]).astype(np.int64)  # the labels last
        self.concepts: list[Concept] = [all_concepts[i] for i in self._order]
        self.index = {c.id: i for i, c in enumerate(self.concepts)}
        self.observed_through = -1
        self.rng = np.random.default_rng(self.seed)
        self.tie_break = np.random.default_rng([self.seed, 7]).permutation(len(self.concepts))
        self.label_order = np.random.default_rng([self.seed, 11]).permutation(self.n_labels)
        self.label_cursor = 0
        self.obs_sum: dict[str, float] = {}
        self.obs_count: dict[str, int] = {}
        self.retired: set[str] = set()
        self.estimator = GPRewardEstimator(int(self.options["num_inducing"]), int(self.options["hyper_subset"]))
        self.hyper: Hyper | None = None  # last fitted hyperparameters (warm start of the next fit)
        self.fitted_on = -1  # number of observations the cached scores were computed from
        self._cache: tuple[np.ndarray, np.ndarray] | None = None
        self._name_words: NameWords | None = None

    @property
    def embeddings(self) -> np.ndarray:
        """The GP's inputs, one row per concept of :attr:`concepts`: the text embeddings (with the name-word bags
        beside them when ``name_words`` > 0). Asked of the embedding source the first time they are needed."""
        if self._embeddings is None:
            emb = self._vocabulary_embeddings()[self._order]
            weight = float(self.options["name_words"])
            if weight > 0:  # squared distances add: the kernel is the text kernel times a name-word kernel
                words = name_word_bags([c.name for c in self.concepts], int(self.options["name_words_dim"]))
                both = np.empty((len(words), emb.shape[1] + words.shape[1]), dtype=np.float32)
                np.multiply(emb, math.sqrt(1.0 - weight), out=both[:, : emb.shape[1]])
                np.multiply(words, math.sqrt(weight), out=both[:, emb.shape[1]:])
                emb = both
            self._embeddings = emb
        return self._embeddings

    def _vocabulary_embeddings(self) -> np.ndarray:
        """The vocabulary's embeddings with the extra label concepts' after them, from the source (once)."""
        if callable(self._source):
            self._source = np.asarray(self._source())
        emb = np.asarray(self._source, dtype=np.float32)
        if len(emb) != self._n_vocabulary:
            raise ValueError(f"{self._n_vocabulary} concepts but {len(emb)} embeddings")
        return emb if self._label_embeddings is None else np.concatenate([emb, self._label_embeddings])

    # observations -----------------------------------------------------------------------------
    def observe(self, concept_ids: Sequence[str], rewards: Sequence[float], iteration: int | None = None) -> None:
        if len(concept_ids) != len(rewards):
            raise ValueError("one reward per concept id")
        for cid, r in zip(concept_ids, rewards):
            if cid not in self.index:
                raise KeyError(f"unknown concept id {cid!r}")
            if not np.isfinite(r):
                continue
            self.obs_sum[cid] = self.obs_sum.get(cid, 0.0) + float(r)
            self.obs_count[cid] = self.obs_count.get(cid, 0) + 1
        if iteration is not None:
            self.observed_through = max(self.observed_through, int(iteration))
        self._cache = None

    def retire(self, concept_ids: Sequence[str]) -> None:
        """Leave ``concept_ids`` out of every later draw (e.g. a search that returned all it had)."""
        self.retired.update(c for c in concept_ids if c in self.index)

    def observed(self) -> tuple[np.ndarray, np.ndarray]:
        """(indices into :attr:`concepts`, mean rewards) of every observed concept, in a stable order."""
        ids = sorted(self.obs_sum, key=self.index.__getitem__)
        idx = np.array([self.index[c] for c in ids], dtype=np.int64)
        return idx, np.array([self.obs_sum[c] / self.obs_count[c] for c in ids])

    # estimation -------------------------------------------------------------------------------
    def _posterior(self) -> tuple[np.ndarray, np.ndarray]:
        if self._cache is None:
            idx, y = self.observed()
            n = len(self.concepts)
            if len(idx) == 0:
                self._cache = (np.zeros(n), np.ones(n))
            elif self.options["policy"] == "no-gp":
                # the ablation without the GP: no extrapolation through text similarity, every concept keeps the
                # prior of the standardised GP (mean and std of the observed rewards); score() puts the observed
                # rewards on the tried ones
                scale = float(y.std()) if len(y) > 1 and y.std() > 1e-12 else 1.0
                self._cache = (np.full(n, float(y.mean())), np.full(n, scale))
            else:
                reuse = self.hyper is not None and self.fitted_on == len(idx)
                self.estimator.fit(self.embeddings[idx], y, seed=self.seed, hyper=self.hyper,
                                   reoptimize=not reuse, init=self.hyper)
                self.hyper = self.estimator.hyper
                self.fitted_on = len(idx)
                self._cache = self.estimator.predict(self.embeddings)
        return self._cache

    def score(self) -> np.ndarray:
        """The concept score: untried ``mu + sigma_weight * sigma``; tried, the observed mean reward minus
        ``tried_penalty * sigma_weight * sigma`` (the paper's rule: ``tried_penalty = 0``)."""
        mu, sigma = self._posterior()
        weight = float(self.options["sigma_weight"])
        r = mu + weight * sigma
        idx, y = self.observed()
        # the penalty reads the GP's std at a tried concept; no-gp has no posterior, only the prior's std
        penalty = float(self.options["tried_penalty"]) if self.options["policy"] != "no-gp" else 0.0
        r[idx] = y - weight * penalty * sigma[idx]
        return r

    def eligible(self) -> np.ndarray:
        mask = np.ones(len(self.concepts), dtype=bool)
        policy = self.options["policy"]
        if (self.options["exclude_tried"] and policy != "no-gp") or policy == "random":  # no-gp knows only tried ones
            mask[self.observed()[0]] = False
        if self.retired:
            mask[[self.index[c] for c in self.retired]] = False
        if self.n_labels:
            mask[len(self.concepts) - self.n_labels:] = False  # labels are drawn by their own rule
        return mask

    def probabilities(self) -> np.ndarray:
        if self.options["policy"] == "random":
            mask = self.eligible()
            return mask / max(int(mask.sum()), 1)
        return concept_probabilities(self.score(), float(self.options["smr"]), self.options["tiers"],
                                     float(self.options["rest_mass"]), self.tie_break, self.eligible())

    def scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(mu, sigma, prob)`` over :attr:`concepts` (float64 arrays)."""
        mu, sigma = self._posterior()
        return mu.copy(), sigma.copy(), self.probabilities()

    # sampling ---------------------------------------------------------------------------------
    def sample(self, m: int, word_scores: Mapping[str, float] | None = None) -> list[Concept]:
        """Draw ``m`` concepts for the next iteration (advances the RNG; deterministic given the state and
        ``word_scores``)."""
        n_lab = int(round(m * float(self.options["label_fraction"]))) if self.n_labels else 0
        draw_fn = draw_systematic if self.options["draw"] == "systematic" else draw
        picked = [int(i) for i in self._feedback_draw(m - n_lab, word_scores or {}, draw_fn)]
        p = self.probabilities()
        p[picked] = 0.0
        picked += [int(i) for i in draw_fn(p, m - n_lab - len(picked), self.rng)]
        base = len(self.concepts) - self.n_labels
        for _ in range(n_lab):
            picked.append(base + int(self.label_order[self.label_cursor % self.n_labels]))
            self.label_cursor += 1
        return [self.concepts[i] for i in picked]

    @property
    def uses_feedback(self) -> bool:
        """Whether :meth:`sample` draws a share by relevance feedback (so its word scores are worth reading)."""
        return float(self.options["feedback_fraction"]) > 0 and self.options["policy"] != "random"

    def feedback_scores(self, word_scores: Mapping[str, float]) -> np.ndarray:
        """Each concept's relevance-feedback score from its name's words (``feedback_name_score``; ``-inf``: none)."""
        if self._name_words is None:
            self._name_words = NameWords([c.name for c in self.concepts])
        return self._name_words.scores(word_scores, str(self.options["feedback_name_score"]))

    def _feedback_draw(self, m: int, word_scores: Mapping[str, float], draw_fn: Any) -> np.ndarray:
        if not word_scores or m <= 0 or not self.uses_feedback:
            return np.zeros(0, dtype=np.int64)
        scores = self.feedback_scores(word_scores)
        eligible = self.eligible() & np.isfinite(scores)
        # a tried concept stays in this draw too (searched again, deeper): its own images count in its words' scores,
        # so one whose results were poor falls with them (measured on the clip-art web: leaving tried concepts out
        # kept 609 relevant images in 5 seeds instead of 743, last two iterations 28-46x random instead of 41-50x)
        n = min(int(round(m * float(self.options["feedback_fraction"]))), int(eligible.sum()))
        if n <= 0:
            return np.zeros(0, dtype=np.int64)
        p = concept_probabilities(np.where(eligible, scores, 0.0), float(self.options["smr"]), self.options["tiers"],
                                  float(self.options["rest_mass"]), self.tie_break, eligible)
        return draw_fn(p, n, self.rng)

    # state ------------------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """Everything needed to continue exactly: JSON-able (ints, floats, strings, lists, dicts)."""
        return {
            "version": STATE_VERSION,
            "seed": self.seed,
            "options": self.options,
            "meta": self.meta,
            "vocabulary": self.vocab_fingerprint,
            "labels": self.label_ids,
            "observed_through": self.observed_through,
            "observations": [[c, self.obs_sum[c], self.obs_count[c]] for c in sorted(self.obs_sum)],
            "hyper": None if self.hyper is None else vars(self.hyper).copy(),
            "fitted_on": self.fitted_on,
            "rng": self.rng.bit_generator.state,
            "label_cursor": self.label_cursor,
            "retired": sorted(self.retired),
        }

    @classmethod
    def from_state(
        cls,
        state: Mapping[str, Any],
        concepts: Sequence[Concept],
        embeddings: EmbeddingSource,
        label_concepts: Sequence[Concept] = (),
        label_embeddings: np.ndarray | None = None,
    ) -> ConceptBrain:
        """Rebuild a brain saved by :meth:`to_state` on the same vocabulary (checked by fingerprint).
        Label ids come from the state; pass ``label_concepts`` again if they were given as extra concepts."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported concept state version {state.get('version')!r}")
        if fingerprint(concepts) != state["vocabulary"]:
            raise ValueError(f"concept state belongs to vocabulary {state['vocabulary']}, not {fingerprint(concepts)}")
        extra = {c.id for c in label_concepts}
        label_ids = [cid for cid in state["labels"] if cid not in extra]
        options = {**LEGACY_OPTIONS, **state["options"]}
        brain = cls(concepts, embeddings, options, state["seed"], label_ids, label_concepts,
                    label_embeddings, state.get("meta"))
        if brain.label_ids != list(state["labels"]):
            raise ValueError("concept state was saved with other label concepts")
        brain.observed_through = int(state.get("observed_through", -1))
        for cid, total, count in state["observations"]:
            brain.obs_sum[cid], brain.obs_count[cid] = float(total), int(count)
        brain.hyper = Hyper(**state["hyper"]) if state.get("hyper") else None
        brain.fitted_on = int(state["fitted_on"])
        brain.rng.bit_generator.state = state["rng"]
        brain.label_cursor = int(state["label_cursor"])
        brain.retired = set(state.get("retired", []))
        return brain


def prune_by_labels(embeddings: np.ndarray, label_embeddings: np.ndarray, share: float) -> np.ndarray:
    """Indices (sorted) of the ``share`` of concepts with the highest max cosine similarity to a label."""
    sim = np.full(len(embeddings), -np.inf, dtype=np.float32)
    for lo in range(0, len(embeddings), 32768):
        sim[lo: lo + 32768] = (embeddings[lo: lo + 32768] @ label_embeddings.T).max(1)
    k = max(1, int(np.ceil(share * len(embeddings))))
    return np.sort(np.argpartition(-sim, k - 1)[:k])
