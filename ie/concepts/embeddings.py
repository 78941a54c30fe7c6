"""On-disk cache of vocabulary embeddings: computed once per (vocabulary content, embedder), reused by every run."""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ie.api import TextEmbedder, Vocabulary, cache_dir, write_atomic


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


class EmbeddingStopped(Exception):
    """``embed_vocabulary`` was asked to stop (``should_stop``); what it had done is kept for the next call."""


def embed_vocabulary(
    vocabulary: Vocabulary,
    embedder: TextEmbedder,
    cache_dir: str | Path | None = None,
    batch_size: int = 1024,
    progress: Callable[[int, int], None] | None = None,
    flush_every: int = 8,
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Embeddings (float32, ``len(vocabulary) x embedder.dim``) of every concept's ``embed_text()``.

    Loaded from the cache when present (memory-mapped, read-only). Otherwise computed in batches
    (``progress(done, total)`` after each) into ``<file>.partial``, flushed with its count every ``flush_every``
    batches: an interrupted embedding (Ctrl-C, a crash) goes on where it stopped the next time. The finished file
    is renamed into place, so concurrent runs never see a partial one, and one process at a time computes it (the
    others wait, then load it). ``should_stop()`` true before a batch: flush and raise :class:`EmbeddingStopped`.
    """
    path = cache_path(vocabulary, embedder, cache_dir)
    if (cached := _load_cached(path, len(vocabulary))) is not None:
        return cached
    path.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(path.with_name(path.name + ".lock"), should_stop):
        if (cached := _load_cached(path, len(vocabulary))) is not None:  # another process finished it meanwhile
            return cached
        _compute(path, [c.embed_text() for c in vocabulary.concepts()], embedder, batch_size, progress, flush_every,
                 should_stop)
    return np.load(path, mmap_mode="r")


def _load_cached(path: Path, n: int) -> np.ndarray | None:
    if path.exists():
        arr = np.load(path, mmap_mode="r")
        if arr.shape[0] == n:
            return arr
    return None


@contextmanager
def _exclusive(lock: Path, should_stop: Callable[[], bool] | None) -> Iterator[None]:
    """One process or thread at a time computes a cache file (two would write one ``.partial``); the others wait
    here, then load what it wrote. ``fcntl.flock`` where there is one (POSIX); elsewhere no lock."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    with open(lock, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if should_stop is not None and should_stop():
                    raise EmbeddingStopped("another process is embedding this vocabulary") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _compute(path: Path, texts: list[str], embedder: TextEmbedder, batch_size: int,
             progress: Callable[[int, int], None] | None, flush_every: int,
             should_stop: Callable[[], bool] | None) -> None:
    shape = (len(texts), embedder.dim)
    partial, count_file = path.with_name(path.name + ".partial"), path.with_name(path.name + ".partial.count")
    done = 0
    try:
        out = np.lib.format.open_memmap(partial, mode="r+")
        if out.shape == shape and out.dtype == np.float32 and count_file.exists():
            done = min(int(count_file.read_text().strip() or 0), len(texts))
        else:
            raise ValueError("another vocabulary's partial file")
    except (OSError, ValueError):
        out = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float32, shape=shape)
        done = 0
    if progress is not None and done:
        progress(done, len(texts))
    try:
        for n, lo in enumerate(range(done, len(texts), batch_size), start=1):
            if should_stop is not None and should_stop():
                raise EmbeddingStopped(f"stopped after {done:,} of {len(texts):,} texts")
            out[lo: lo + batch_size] = embedder.embed(texts[lo: lo + batch_size])
            done = min(lo + batch_size, len(texts))
            if n % flush_every == 0 or done == len(texts):
                out.flush()  # the rows first, then the count that vouches for them
                write_atomic(count_file, str(done).encode())
            if progress is not None:
                progress(done, len(texts))
    except BaseException:  # Ctrl-C, a stop, the embedder failing: every finished row is kept for the next time
        out.flush()
        write_atomic(count_file, str(done).encode())
        raise
    finally:
        del out
    os.replace(partial, path)
    count_file.unlink(missing_ok=True)


def cache_progress(vocabulary: Vocabulary, embedder: TextEmbedder, cache_dir: str | Path | None = None) -> int:
    """How many of the vocabulary's embeddings are on disk: all of them once cached, the rows an interrupted
    embedding kept (its ``.partial.count``), else 0."""
    path = cache_path(vocabulary, embedder, cache_dir)
    if path.exists():
        return len(vocabulary)
    count = path.with_name(path.name + ".partial.count")
    if not path.with_name(path.name + ".partial").exists():
        return 0
    try:
        return min(int(count.read_text().strip() or 0), len(vocabulary))
    except (OSError, ValueError):
        return 0


def name_word_bags(names: Sequence[str], dim: int = 512) -> np.ndarray:
    """Each name's lowercase words as a hashed bag (``dim`` buckets, L2-normalised, float32): two names that share
    one of their two words have cosine 0.5. scikit-learn's HashingVectorizer (murmurhash: the same in every
    process and on every machine)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(n_features=dim, alternate_sign=False, norm="l2", token_pattern=r"[a-z0-9]+",
                                   lowercase=True)
    return vectorizer.transform(list(names)).astype(np.float32).toarray()  # float32 before densifying: half the peak
