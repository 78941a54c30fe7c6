"""Run-wide de-duplication: exact (sha256), near-duplicate (perceptual hash) and the target leak guard."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ie.api import Outcome
from ie.download.signature import confirms_duplicate, is_degenerate


class HammingIndex:
    """Multi-index hashing over 64-bit hashes: "is anything within Hamming distance t of h?" fast at 100k+.

    Hand-written because no dependency offers it: split each hash into t+1 bit-chunks; by pigeonhole, any hash
    within distance t agrees with the query exactly on at least one chunk, so only the entries sharing a chunk
    value are compared. With t=6 and 100k random hashes that is ~100 popcounts per query (vs 100k brute force,
    and a BK-tree degrades towards brute force at such radii on 64 bits).
    """

    def __init__(self, threshold: int, bits: int = 64):
        if not 0 <= threshold < bits:
            raise ValueError("threshold must be in [0, bits)")
        self.threshold = threshold
        self.bits = bits
        n = threshold + 1
        edges = [round(i * bits / n) for i in range(n + 1)]
        self._chunks = [(lo, (1 << (hi - lo)) - 1) for lo, hi in zip(edges, edges[1:], strict=False)]
        self._tables: list[dict[int, list[tuple[int, int]]]] = [{} for _ in self._chunks]
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def add(self, h: int, key: int = -1) -> None:
        """Index hash ``h``; ``key`` comes back with it from :meth:`within`."""
        for table, (shift, mask) in zip(self._tables, self._chunks, strict=True):
            table.setdefault((h >> shift) & mask, []).append((h, key))
        self._n += 1

    def within(self, h: int) -> list[tuple[int, int]]:
        """(distance, key) of every entry within the threshold, nearest first."""
        found: dict[tuple[int, int], int] = {}
        for table, (shift, mask) in zip(self._tables, self._chunks, strict=True):
            for other, key in table.get((h >> shift) & mask, ()):
                d = (h ^ other).bit_count()
                if d <= self.threshold:
                    found[(other, key)] = d
        return sorted((d, key) for (_, key), d in found.items())

    def nearest(self, h: int) -> int | None:
        """Smallest Hamming distance to an entry if it is <= threshold, else None."""
        hits = self.within(h)
        return hits[0][0] if hits else None


class _SignedHashes:
    """Perceptual hashes with their colour signatures: a match counts only when the signatures confirm it."""

    def __init__(self, threshold: int):
        self.index = HammingIndex(threshold)
        self.entries: list[tuple[int, str | None]] = []

    def __len__(self) -> int:
        return len(self.index)

    def add(self, h: int, signature: str | None) -> None:
        self.index.add(h, len(self.entries))
        self.entries.append((h, signature))

    def match(self, h: int, signature: str | None) -> int | None:
        """Hamming distance of the nearest confirmed near-duplicate, or None.

        With signatures on both sides they must confirm the match. Without (an image stored by an older ie), the
        hash decides alone unless either hash is degenerate: then it is never a near-duplicate.
        """
        for d, key in self.index.within(h):
            other_h, other_signature = self.entries[key]
            if signature is not None and other_signature is not None:
                if confirms_duplicate(signature, other_signature):
                    return d
            elif not is_degenerate(h, signature) and not is_degenerate(other_h, other_signature):
                return d
        return None


@dataclass
class DedupeIndex:
    """Exact and near-duplicate index for one run, plus the leak index of the target's held-out images.

    Check-and-add is atomic (a lock), so concurrent downloads of the same picture admit exactly one.
    ``leaks`` counts the leak hits seen in this process (the paper's Table 4 audit).
    """

    phash_threshold: int = 4
    leak_threshold: int = 8
    shas: set[str] = field(default_factory=set)
    leak_shas: set[str] = field(default_factory=set)
    leaks: int = 0
    seeded_from: set[str] = field(default_factory=set)  # run dirs already loaded by download_to_store

    def __post_init__(self) -> None:
        self._near = _SignedHashes(self.phash_threshold) if self.phash_threshold >= 0 else None
        self._leak = _SignedHashes(self.leak_threshold)
        self._lock = threading.Lock()

    # seeding ---------------------------------------------------------------------------------
    def add(self, sha256s: Iterable[str], phash: str | None, signature: str | None = None) -> None:
        with self._lock:
            self.shas.update(s for s in sha256s if s)
            if phash and self._near is not None:
                self._near.add(int(phash, 16), signature)

    def seed_from_store(self, hashes: Iterable[tuple[str, str | None, str | None]]) -> DedupeIndex:
        """Seed from ``RunStore.image_hashes()`` (sha256, perceptual hash, colour signature) on resume."""
        for sha, phash, signature in hashes:
            self.add([sha], phash, signature)
        return self

    def add_leak_hashes(self, hashes: Iterable[tuple[str | None, str | None, str | None]]) -> DedupeIndex:
        """(raw sha256, perceptual hash, colour signature) of the target's test/val images."""
        with self._lock:
            for sha, phash, signature in hashes:
                if sha:
                    self.leak_shas.add(sha)
                if phash:
                    self._leak.add(int(phash, 16), signature)
        return self

    def add_leak_files(self, paths: Iterable[str | Path], hash_kind: str = "phash") -> DedupeIndex:
        """Hash the target's held-out image files (same decode path as downloads) into the leak index."""
        from ie.download.validate import ImageOptions, hash_file

        opts = ImageOptions(min_size=1, max_aspect=1e9, hash_kind=hash_kind)
        return self.add_leak_hashes(h for h in (hash_file(str(p), opts) for p in paths) if h)

    @property
    def n_leak_images(self) -> int:
        return len(self._leak)

    def __len__(self) -> int:
        return len(self.shas)

    # checking --------------------------------------------------------------------------------
    def check_and_add(self, sha256: str, raw_sha256: str, phash: str,
                      signature: str | None = None) -> tuple[Outcome, str]:
        """OK (and remember the image), or LEAK / DUPLICATE / NEAR_DUPLICATE with a reason.

        A perceptual-hash match is confirmed by the colour ``signature`` (:mod:`ie.download.signature`).
        """
        h = int(phash, 16)
        with self._lock:
            if raw_sha256 in self.leak_shas or sha256 in self.leak_shas:
                self.leaks += 1
                return Outcome.LEAK, "leak_exact"
            d = self._leak.match(h, signature) if len(self._leak) else None
            if d is not None:
                self.leaks += 1
                return Outcome.LEAK, f"leak_hamming_{d}"
            if sha256 in self.shas or raw_sha256 in self.shas:
                return Outcome.DUPLICATE, "duplicate"
            if self._near is not None:
                d = self._near.match(h, signature)
                if d is not None:
                    return Outcome.NEAR_DUPLICATE, f"near_duplicate_hamming_{d}"
                self._near.add(h, signature)
            self.shas.update((sha256, raw_sha256))
            return Outcome.OK, "ok"
