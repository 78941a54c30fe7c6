"""The run store: one SQLite database (WAL) plus content-addressed image files.

``runs/<name>/ie.sqlite`` holds every concept, query, hit, download outcome, image, reward, iteration
stage and checkpoint; ``runs/<name>/images/ab/<sha256>.<ext>`` holds the images, written atomically
(temp file + fsync + rename) *before* their row is committed. On open, files without rows (a crash
between rename and commit) are removed and rows without files are dropped with their download
outcome, so the URL is fetched again: the store and the folder always agree.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

from ie.api import Concept, DownloadOutcome, Hit, IEError, ImageRecord, Outcome, RetryPolicy, write_atomic
from ie.api.types import TRANSIENT_OUTCOMES, TRANSIENT_STATUS
from ie.store.records import CheckpointRecord, ConceptRewardRecord, HitRecord, QueryRecord, StageRecord
from ie.store.recovery import reconcile
from ie.store.schema import SCHEMA_VERSION, migrate_tables

DB_NAME = "ie.sqlite"


class RunStore:
    """All persistent state of one run. Thread-safe; several processes may write (SQLite locking)."""

    def __init__(self, run_dir: Path, conn: sqlite3.Connection):
        self.run_dir = run_dir
        self.images_dir = run_dir / "images"
        self._conn = conn
        self._lock = threading.RLock()
        self._lock_file: IO[str] | None = None  # run_dir/.lock, held (shared) while the store is open

    # opening ---------------------------------------------------------------------------------
    @classmethod
    def open(cls, run_dir: str | Path, *, reconcile: bool = True) -> RunStore:
        run_dir = Path(run_dir)
        if run_dir.exists() and not run_dir.is_dir():
            raise IEError(f"{run_dir} is a file, not a run directory: pass another --run (a folder)")
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise IEError(f"cannot create the run directory {run_dir}: {err.strerror}") from None
        if not os.access(run_dir, os.W_OK):
            raise IEError(f"the run directory {run_dir} is not writable: pass another --run or fix its permissions")
        conn = sqlite3.connect(run_dir / DB_NAME, timeout=60, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=60000")
        store = cls(run_dir, conn)
        store._migrate()
        # Every open store holds a shared lock on run_dir/.lock. Reconciling deletes files that have no
        # row yet, which is only safe when no other process is between writing a file and committing it:
        # so reconcile only when the exclusive lock can be had, then downgrade to shared.
        store._lock_file = lock = open(run_dir / ".lock", "a+")  # noqa: SIM115 - held for the store's lifetime
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if reconcile:
                store.reconcile()
        except BlockingIOError:
            pass
        fcntl.flock(lock, fcntl.LOCK_SH)
        return store

    @staticmethod
    def exists(run_dir: str | Path) -> bool:
        return (Path(run_dir) / DB_NAME).exists()

    @classmethod
    def require(cls, run_dir: str | Path) -> None:
        """An error that says how to start a run unless ``run_dir`` holds one (nothing is opened or created)."""
        if not cls.exists(run_dir):
            raise IEError(f"{run_dir} is not a run directory (no {DB_NAME}); start one with "
                          f"`ie explore --run {run_dir}`")

    @classmethod
    def open_existing(cls, run_dir: str | Path, *, reconcile: bool = False) -> RunStore:
        """The store of a run that exists; otherwise the error of :meth:`require`."""
        cls.require(run_dir)
        return cls.open(run_dir, reconcile=reconcile)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            lock_file, self._lock_file = self._lock_file, None
            if lock_file is not None:
                lock_file.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``: one writer at a time, all or nothing."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _migrate(self) -> None:
        # SQLite's recipe for rebuilding a table: foreign keys off outside the transaction, checked before commit
        self._conn.execute("PRAGMA foreign_keys=OFF")
        try:
            self._migrate_tables()
        finally:
            self._conn.execute("PRAGMA foreign_keys=ON")

    def _migrate_tables(self) -> None:
        with self.transaction() as c:
            migrate_tables(c, self.run_dir / DB_NAME)

    @property
    def schema_version(self) -> int:
        return int(self.query("SELECT value FROM meta WHERE key='schema_version'")[0][0])

    # run metadata and resumable state --------------------------------------------------------
    def set_state(self, key: str, value: Any) -> None:
        """Store a JSON-able value (run config, sampler state, ...)."""
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO state (key, value, updated) VALUES (?, ?, ?)",
                      (key, json.dumps(value), time.time()))

    def get_state(self, key: str, default: Any = None) -> Any:
        rows = self.query("SELECT value FROM state WHERE key=?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def stage_done(self, iteration: int, stage: str) -> bool:
        rows = self.query("SELECT status FROM stages WHERE iteration=? AND stage=?", (iteration, stage))
        return bool(rows) and rows[0][0] == "done"

    def mark_stage(self, iteration: int, stage: str, status: str = "done", info: dict[str, Any] | None = None,
                   state: dict[str, Any] | None = None) -> None:
        """Record a stage's status; ``state`` values are saved in the same transaction (all or nothing)."""
        with self.transaction() as c:
            for key, value in (state or {}).items():
                c.execute("INSERT OR REPLACE INTO state (key, value, updated) VALUES (?, ?, ?)",
                          (key, json.dumps(value), time.time()))
            c.execute(
                "INSERT INTO stages (iteration, stage, status, info, updated) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(iteration, stage) DO UPDATE SET status=excluded.status, info=excluded.info, "
                "updated=excluded.updated",
                (iteration, stage, status, json.dumps(info or {}), time.time()),
            )

    def stage_info(self, iteration: int, stage: str) -> dict[str, Any]:
        """What a finished stage reported (its ``info``: counts, steps, ...); empty if it has not run."""
        rows = self.query("SELECT info FROM stages WHERE iteration=? AND stage=?", (iteration, stage))
        return json.loads(rows[0][0] or "{}") if rows else {}

    def stages(self) -> list[StageRecord]:
        return [cast(StageRecord, dict(r)) for r in self.query("SELECT * FROM stages ORDER BY iteration, updated")]

    # concepts, queries, hits ----------------------------------------------------------------
    def add_concepts(self, concepts: Iterable[Concept]) -> None:
        rows = [(c.id, c.name, c.text, c.vocabulary, c.synset) for c in concepts]
        with self.transaction() as c:
            c.executemany("INSERT OR IGNORE INTO concepts (id, name, text, vocabulary, synset) VALUES (?,?,?,?,?)", rows)

    def add_query(self, iteration: int, concept_id: str, text: str, engine: str, descriptor: str | None = None,
                  skip: int = 0) -> int:
        """Insert a planned query (idempotent per (iteration, engine, text, skip)); returns its id. ``skip``: results
        of the same search already fetched (a concept searched again goes deeper)."""
        with self.transaction() as c:
            c.execute(
                "INSERT OR IGNORE INTO queries (iteration, concept_id, text, engine, descriptor, status, skip) "
                "VALUES (?, ?, ?, ?, ?, 'planned', ?)",
                (iteration, concept_id, text, engine, descriptor, skip),
            )
            return int(c.execute("SELECT id FROM queries WHERE iteration=? AND engine=? AND text=? AND skip=?",
                                 (iteration, engine, text, skip)).fetchone()[0])

    def finish_query(self, query_id: int, hits: Sequence[Hit], error: str | None = None) -> None:
        """Record a query's hits and status in one transaction (so a crash never half-records it)."""
        with self.transaction() as c:
            c.executemany(
                "INSERT OR IGNORE INTO hits (query_id, url, rank, engine, title, thumbnail_url, source_page, license, "
                "attribution, width, height, extra) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [(query_id, h.url, h.rank, h.engine, h.title, h.thumbnail_url, h.source_page, h.license,
                  h.attribution, h.width, h.height, json.dumps(h.extra)) for h in hits],
            )
            c.execute("UPDATE queries SET status=?, n_hits=?, error=?, finished=? WHERE id=?",
                      ("failed" if error else "done", len(hits), error, time.time(), query_id))

    def queries(self, iteration: int | None = None, status: str | None = None) -> list[QueryRecord]:
        sql, params = "SELECT * FROM queries WHERE 1=1", list[Any]()
        if iteration is not None:
            sql, params = sql + " AND iteration=?", params + [iteration]
        if status is not None:
            sql, params = sql + " AND status=?", params + [status]
        return [cast(QueryRecord, dict(r)) for r in self.query(sql + " ORDER BY id", params)]

    def replan_queries(self, query_ids: Sequence[int]) -> None:
        """Put failed queries back to ``planned`` (their engine could not answer; a resume searches them again)."""
        with self.transaction() as c:
            c.executemany("UPDATE queries SET status='planned', n_hits=NULL, error=NULL, finished=NULL "
                          "WHERE id=? AND status='failed'", [(q,) for q in query_ids])

    def hits(self, query_id: int) -> list[HitRecord]:
        return [cast(HitRecord, dict(r)) for r in self.query("SELECT * FROM hits WHERE query_id=? ORDER BY rank",
                                                              (query_id,))]

    # downloads and images -------------------------------------------------------------------
    def iteration_hit_urls(self, iteration: int) -> list[tuple[str, str]]:
        """(url, engine) of every hit of ``iteration``'s queries, in query then rank order (repeats kept)."""
        return [(r[0], r[1]) for r in self.query(
            "SELECT h.url, h.engine FROM hits h JOIN queries q ON q.id = h.query_id WHERE q.iteration=? "
            "ORDER BY q.id, h.rank", (iteration,))]

    def query_image_shas(self, query_id: int) -> list[str]:
        """The distinct kept images (sha256) that query ``query_id``'s hits downloaded to."""
        return [r[0] for r in self.query(
            "SELECT DISTINCT d.sha256 FROM hits h JOIN downloads d ON d.url = h.url "
            "WHERE h.query_id=? AND d.sha256 IS NOT NULL", (query_id,))]

    def query_download_failures(self, query_id: int) -> tuple[int, int]:
        """(transient failures, all recorded downloads) of query ``query_id``'s hits: a timeout, connection or DNS
        error, or an HTTP 408/425/429/5xx is transient (:attr:`ie.api.DownloadOutcome.transient`)."""
        statuses = ",".join(str(s) for s in sorted(TRANSIENT_STATUS))
        outcomes = ",".join(f"'{o.value}'" for o in sorted(TRANSIENT_OUTCOMES, key=lambda o: o.value))
        row = self.query(
            "SELECT SUM(CASE WHEN d.outcome IN (" + outcomes + ") OR (d.outcome = 'http_error' AND d.status_code IN ("
            + statuses + ")) THEN 1 ELSE 0 END), COUNT(*) FROM hits h JOIN downloads d ON d.url = h.url "
            "WHERE h.query_id=?", (query_id,))[0]
        return int(row[0] or 0), int(row[1] or 0)

    def image_count(self) -> int:
        return int(self.query("SELECT COUNT(*) FROM images")[0][0])

    def downloaded_urls(self, now: float | None = None) -> set[str]:
        """URLs not to fetch now: settled ones (kept, or failed for good) and transient failures still backing off."""
        now = time.time() if now is None else now
        return {r[0] for r in self.query("SELECT url FROM downloads WHERE retry_after IS NULL OR retry_after > ?",
                                         (now,))}

    def pending_retries(self) -> int:
        """Transient failures that a later run will try again."""
        return int(self.query("SELECT COUNT(*) FROM downloads WHERE retry_after IS NOT NULL")[0][0])

    def download_attempts(self, url: str) -> int:
        rows = self.query("SELECT attempts FROM downloads WHERE url=?", (url,))
        return int(rows[0][0]) if rows else 0

    def record_download(self, outcome: DownloadOutcome, iteration: int | None = None,
                        retry: RetryPolicy = RetryPolicy()) -> None:
        with self.transaction() as c:
            self._insert_download(c, outcome, iteration, retry)

    def _insert_download(self, c: sqlite3.Connection, o: DownloadOutcome, iteration: int | None,
                         retry: RetryPolicy = RetryPolicy()) -> None:
        """Record a URL's outcome once; only a transient failure (``retry_after`` set) is ever replaced, by the
        outcome of its next attempt."""
        row = c.execute("SELECT attempts, retry_after FROM downloads WHERE url=?", (o.url,)).fetchone()
        if row is not None and row[1] is None:
            return  # settled: kept, or failed for good
        attempts, now = (1 if row is None else int(row[0]) + 1), time.time()
        retry_after = retry.retry_after(attempts, now) if o.transient else None
        c.execute(
            "INSERT OR REPLACE INTO downloads (url, outcome, reason, status_code, bytes, seconds, sha256, iteration, "
            "finished, attempts, retry_after) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (o.url, Outcome(o.outcome).value, o.reason, o.status_code, o.bytes, o.seconds, o.sha256, iteration,
             now, attempts, retry_after),
        )

    def image_path(self, sha256: str, ext: str = "jpg") -> Path:
        return self.images_dir / sha256[:2] / f"{sha256}.{ext}"

    def write_image_file(self, data: bytes, ext: str = "jpg") -> tuple[str, Path]:
        """Write ``data`` content-addressed and atomically; returns (sha256, path). Idempotent."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.image_path(sha, ext)
        if not path.exists():
            write_atomic(path, data, fsync=True)
        return sha, path

    def add_image(
        self,
        data: bytes,
        *,
        width: int,
        height: int,
        phash: str,
        signature: str | None = None,
        source_url: str | None = None,
        iteration: int | None = None,
        ext: str = "jpg",
        outcome: DownloadOutcome | None = None,
        retry: RetryPolicy = RetryPolicy(),
    ) -> ImageRecord:
        """Write the file, then record the image (and, if given, its URL's outcome) in one transaction."""
        sha, path = self.write_image_file(data, ext)
        if outcome is not None and outcome.sha256 != sha:
            outcome = dataclasses.replace(outcome, sha256=sha)
        with self.transaction() as c:
            c.execute(
                "INSERT OR IGNORE INTO images (sha256, path, width, height, phash, bytes, source_url, iteration, "
                "created, signature) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (sha, str(path.relative_to(self.run_dir)), width, height, phash, len(data), source_url, iteration,
                 time.time(), signature),
            )
            if outcome is not None:
                self._insert_download(c, outcome, iteration, retry)
        return ImageRecord(sha, path, width, height, phash, len(data), source_url)

    def images(self, iteration: int | None = None) -> list[ImageRecord]:
        """Kept images by iteration, then sha256: an order that depends on the content alone, not on which
        download finished first (training and scoring read this list, so a rerun computes the same)."""
        sql, params = "SELECT * FROM images", tuple[Any, ...]()
        if iteration is not None:
            sql, params = sql + " WHERE iteration=?", (iteration,)
        return [self._image(r) for r in self.query(sql + " ORDER BY iteration, sha256", params)]

    def image_hashes(self) -> list[tuple[str, str | None, str | None]]:
        """(sha256, perceptual hash, colour signature) of every image, to seed the dedupe index on resume."""
        return [(r[0], r[1], r[2]) for r in self.query("SELECT sha256, phash, signature FROM images")]

    def _image(self, r: sqlite3.Row) -> ImageRecord:
        return ImageRecord(r["sha256"], self.run_dir / r["path"], r["width"], r["height"], r["phash"], r["bytes"],
                           r["source_url"])

    def outcome_counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.query("SELECT outcome, COUNT(*) FROM downloads GROUP BY outcome")}

    # rewards, replay, checkpoints -----------------------------------------------------------
    def add_image_rewards(self, iteration: int, rewards: dict[str, float], reward_fn: str) -> None:
        with self.transaction() as c:
            c.executemany("INSERT OR IGNORE INTO image_rewards (sha256, iteration, reward_fn, value) VALUES (?,?,?,?)",
                          [(sha, iteration, reward_fn, float(v)) for sha, v in rewards.items()])

    def image_rewards(self, iteration: int | None = None) -> dict[str, float]:
        sql, params = "SELECT sha256, value FROM image_rewards", tuple[Any, ...]()
        if iteration is not None:
            sql, params = sql + " WHERE iteration=?", (iteration,)
        return {r[0]: r[1] for r in self.query(sql, params)}

    def add_concept_rewards(self, iteration: int, rewards: Sequence[tuple[int, str, float]]) -> None:
        """(query_id, concept_id, reward) triples."""
        with self.transaction() as c:
            c.executemany("INSERT OR IGNORE INTO concept_rewards (query_id, concept_id, iteration, value) VALUES (?,?,?,?)",
                          [(q, cid, iteration, float(v)) for q, cid, v in rewards])

    def concept_rewards(self, iteration: int | None = None) -> list[ConceptRewardRecord]:
        """Every concept reward (by iteration, then query), or one iteration's in the order they were added."""
        if iteration is None:
            rows = self.query("SELECT * FROM concept_rewards ORDER BY iteration, query_id")
        else:
            rows = self.query("SELECT * FROM concept_rewards WHERE iteration=? ORDER BY rowid", (iteration,))
        return [cast(ConceptRewardRecord, dict(r)) for r in rows]

    def add_to_replay(self, iteration: int, shas: Iterable[str]) -> None:
        with self.transaction() as c:
            c.executemany("INSERT OR IGNORE INTO replay (sha256, iteration) VALUES (?, ?)", [(s, iteration) for s in shas])

    def replay(self) -> list[ImageRecord]:
        return [self._image(r) for r in self.query(
            "SELECT i.* FROM replay r JOIN images i USING (sha256) ORDER BY r.iteration, i.sha256")]

    def add_checkpoint(self, iteration: int, path: Path, step: int, kind: str = "model") -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO checkpoints (iteration, kind, path, step, created) VALUES (?,?,?,?,?)",
                      (iteration, kind, str(path), step, time.time()))

    def forget_checkpoints(self, iterations: Iterable[int], kind: str = "model") -> None:
        """Drop the rows of checkpoints whose files are being pruned (the newest one is never among them)."""
        with self.transaction() as c:
            c.executemany("DELETE FROM checkpoints WHERE iteration=? AND kind=?", [(i, kind) for i in iterations])

    def latest_checkpoint(self, kind: str = "model") -> CheckpointRecord | None:
        rows = self.query("SELECT * FROM checkpoints WHERE kind=? ORDER BY iteration DESC LIMIT 1", (kind,))
        return cast(CheckpointRecord, dict(rows[0])) if rows else None

    def add_metrics(self, iteration: int, metrics: dict[str, float]) -> None:
        with self.transaction() as c:
            c.executemany("INSERT OR REPLACE INTO metrics (iteration, key, value) VALUES (?,?,?)",
                          [(iteration, k, float(v)) for k, v in metrics.items()])

    def metrics(self) -> dict[int, dict[str, float]]:
        out: dict[int, dict[str, float]] = {}
        for r in self.query("SELECT iteration, key, value FROM metrics ORDER BY iteration"):
            out.setdefault(r[0], {})[r[1]] = r[2]
        return out

    # crash recovery -------------------------------------------------------------------------
    def reconcile(self) -> dict[str, int]:
        """Make files and rows agree after a crash; returns what was fixed (:func:`ie.store.recovery.reconcile`)."""
        return reconcile(self)

    def integrity_ok(self) -> bool:
        return bool(self.query("PRAGMA integrity_check")[0][0] == "ok")
