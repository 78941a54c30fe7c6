"""``hashing``: a dependency-free text embedder (character n-gram feature hashing, numpy only).

Each text is lower-cased and padded with spaces; every character n-gram (n = 3, 4, 5 by default) is
hashed to one of ``dim`` buckets with a sign (the "hashing trick", as scikit-learn's
``HashingVectorizer(analyzer="char_wb")``), counts are square-rooted (sublinear tf) and rows L2-normalised.
Deterministic across processes and machines (a fixed polynomial hash, not Python's salted ``hash``).
Hand-written rather than scikit-learn so that the no-weights fallback needs numpy alone; the hashing is
vectorised over all n-grams of a batch at once (146,347 WordNet texts in a few seconds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ie.api import TextEmbedder, hookimpl
from ie.api import Option

_MULT = np.uint64(0x100000001B3)  # FNV-1a 64-bit prime
_MIX = np.uint64(0x9E3779B97F4A7C15)  # golden-ratio constant for the final mix


class HashingEmbedder(TextEmbedder):
    """Options: ``dim`` (384), ``ngrams`` ([3, 4, 5]), ``batch_size`` (4096)."""

    OPTIONS = (
        Option("dim", int, 384, "embedding width"),
        Option("ngrams", list, [3, 4, 5], "character n-gram lengths"),
        Option("batch_size", int, 4096, "texts per batch"),
    )


    name = "hashing"

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        self._dim = int(self.options["dim"])
        self.ngrams = tuple(int(n) for n in self.options["ngrams"])
        self.batch_size = int(self.options["batch_size"])
        if self._dim < 2 or not self.ngrams or min(self.ngrams) < 1:
            raise ValueError("hashing embedder: dim >= 2 and n-gram sizes >= 1 required")

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def cache_key(self) -> str:
        return f"hashing-v1-d{self._dim}-n{''.join(map(str, self.ngrams))}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for lo in range(0, len(texts), self.batch_size):
            out[lo: lo + self.batch_size] = self._embed_batch(texts[lo: lo + self.batch_size])
        return out

    def _embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        encoded = [(" " + t.lower() + " ").encode("utf-8") for t in texts]
        lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
        buf = np.frombuffer(b"".join(encoded), dtype=np.uint8).astype(np.uint64)
        doc = np.repeat(np.arange(len(encoded)), lengths)
        ends = np.cumsum(lengths)  # n-grams must not cross a text boundary
        counts = np.zeros(len(encoded) * self._dim, dtype=np.float64)
        with np.errstate(over="ignore"):  # uint64 wrap-around is the hash's modular arithmetic
            for n in self.ngrams:
                if len(buf) < n:
                    continue
                h = np.full(len(buf) - n + 1, np.uint64(0xCBF29CE484222325 + n))
                for k in range(n):
                    h = (h ^ buf[k: len(buf) - n + 1 + k]) * _MULT
                h = (h ^ (h >> np.uint64(29))) * _MIX
                h ^= h >> np.uint64(32)
                start = np.arange(len(h))
                ok = start + n <= ends[doc[: len(h)]]
                bucket = (h[ok] % np.uint64(self._dim)).astype(np.int64)
                sign = np.where((h[ok] >> np.uint64(63)) == 1, -1.0, 1.0)
                counts += np.bincount(doc[: len(h)][ok] * self._dim + bucket, weights=sign,
                                      minlength=len(counts))
        vec = counts.reshape(len(encoded), self._dim)
        vec = np.sign(vec) * np.sqrt(np.abs(vec))
        norms = np.linalg.norm(vec, axis=1, keepdims=True)
        return (vec / np.where(norms > 0, norms, 1.0)).astype(np.float32)


@hookimpl
def ie_register_embedders(register):  # type: ignore[no-untyped-def]
    register("hashing", HashingEmbedder, help="character n-gram hashing (no weights, numpy only)")
