"""On-disk cache of vocabulary embeddings: computed once per (vocabulary content, embedder), reused by every run."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ie.api import TextEmbedder, Vocabulary, atomic_write, cache_dir


def default_cache_dir() -> Path:
    """``embeddings`` in the shared cache (:func:`ie.api.cache_dir`)."""
    return cache_dir("embeddings")


def cache_path(vocabulary: Vocabulary, embedder: TextEmbedder, cache_dir: str | Path | None = None) -> Path:
    """The file for this vocabulary's exact concept texts and this embedder's model."""
    h = hashlib.sha256()
    for c in vocabulary.concepts():
        h.update(c.id.encode("utf-8") + b"\0" + c.embed_text().encode("utf-8") + b"\n")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", embedder.cache_key)[:80]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", vocabulary.name or type(vocabulary).__name__)
    return Path(cache_dir or default_cache_dir()) / f"{name}-{len(vocabulary)}-{h.hexdigest()[:16]}-{safe}.npy"


def embed_vocabulary(
    vocabulary: Vocabulary,
    embedder: TextEmbedder,
    cache_dir: str | Path | None = None,
    batch_size: int = 1024,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Embeddings (float32, ``len(vocabulary) x embedder.dim``) of every concept's ``embed_text()``.

    Loaded from the cache when present (memory-mapped, read-only); otherwise computed in batches
    (``progress(done, total)`` after each) and written atomically (temp file + rename), so concurrent
    runs never see a partial file.
    """
    path = cache_path(vocabulary, embedder, cache_dir)
    if path.exists():
        arr = np.load(path, mmap_mode="r")
        if arr.shape[0] == len(vocabulary):
            return arr
    texts = [c.embed_text() for c in vocabulary.concepts()]
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for lo in range(0, len(texts), batch_size):
        out[lo: lo + batch_size] = embedder.embed(texts[lo: lo + batch_size])
        if progress is not None:
            progress(min(lo + batch_size, len(texts)), len(texts))
    with atomic_write(path) as fh:
        np.save(fh, out)
    return out
