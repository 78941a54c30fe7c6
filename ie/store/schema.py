"""Versioned schema of the run store. Add a new entry to MIGRATIONS for every change; never edit old ones."""

from __future__ import annotations

import sqlite3
from pathlib import Path

MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated REAL)""",
        """CREATE TABLE stages (iteration INTEGER NOT NULL, stage TEXT NOT NULL, status TEXT NOT NULL,
               info TEXT, updated REAL, PRIMARY KEY (iteration, stage))""",
        """CREATE TABLE concepts (id TEXT PRIMARY KEY, name TEXT NOT NULL, text TEXT, vocabulary TEXT,
               synset TEXT)""",
        """CREATE TABLE queries (id INTEGER PRIMARY KEY, iteration INTEGER NOT NULL, concept_id TEXT NOT NULL,
               text TEXT NOT NULL, engine TEXT NOT NULL, descriptor TEXT, status TEXT NOT NULL,
               n_hits INTEGER, error TEXT, finished REAL, UNIQUE (engine, text))""",
        """CREATE TABLE hits (id INTEGER PRIMARY KEY, query_id INTEGER NOT NULL REFERENCES queries(id),
               url TEXT NOT NULL, rank INTEGER, engine TEXT, title TEXT, thumbnail_url TEXT, source_page TEXT,
               license TEXT, attribution TEXT, width INTEGER, height INTEGER, extra TEXT,
               UNIQUE (query_id, url))""",
        "CREATE INDEX hits_url ON hits (url)",
        """CREATE TABLE downloads (url TEXT PRIMARY KEY, outcome TEXT NOT NULL, reason TEXT,
               status_code INTEGER, bytes INTEGER, seconds REAL, sha256 TEXT, iteration INTEGER, finished REAL)""",
        "CREATE INDEX downloads_sha ON downloads (sha256)",
        """CREATE TABLE images (sha256 TEXT PRIMARY KEY, path TEXT NOT NULL, width INTEGER, height INTEGER,
               phash TEXT, bytes INTEGER, source_url TEXT, iteration INTEGER, created REAL)""",
        """CREATE TABLE image_rewards (sha256 TEXT NOT NULL, iteration INTEGER NOT NULL, reward_fn TEXT NOT NULL,
               value REAL NOT NULL, PRIMARY KEY (sha256, reward_fn))""",
        """CREATE TABLE concept_rewards (query_id INTEGER PRIMARY KEY REFERENCES queries(id),
               concept_id TEXT NOT NULL, iteration INTEGER NOT NULL, value REAL NOT NULL)""",
        """CREATE TABLE replay (sha256 TEXT PRIMARY KEY, iteration INTEGER NOT NULL)""",
        """CREATE TABLE checkpoints (iteration INTEGER NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,
               step INTEGER, created REAL, PRIMARY KEY (iteration, kind))""",
        """CREATE TABLE metrics (iteration INTEGER NOT NULL, key TEXT NOT NULL, value REAL,
               PRIMARY KEY (iteration, key))""",
    ],
    # transient failures are retried by later runs: attempts so far, and when the next may start (NULL: settled)
    2: [
        "ALTER TABLE downloads ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE downloads ADD COLUMN retry_after REAL",
    ],
    # the colour thumbnail that confirms perceptual-hash near-duplicates (ie.download.signature)
    3: ["ALTER TABLE images ADD COLUMN signature TEXT"],
    # a concept that paid off is searched again deeper: `skip` = results already fetched by the same (engine, text);
    # SQLite cannot change a UNIQUE constraint in place, so the table is rebuilt (foreign keys off: see _migrate)
    4: [
        """CREATE TABLE queries_v4 (id INTEGER PRIMARY KEY, iteration INTEGER NOT NULL, concept_id TEXT NOT NULL,
               text TEXT NOT NULL, engine TEXT NOT NULL, descriptor TEXT, status TEXT NOT NULL,
               n_hits INTEGER, error TEXT, finished REAL, skip INTEGER NOT NULL DEFAULT 0,
               UNIQUE (engine, text, skip))""",
        """INSERT INTO queries_v4 (id, iteration, concept_id, text, engine, descriptor, status, n_hits, error, finished)
               SELECT id, iteration, concept_id, text, engine, descriptor, status, n_hits, error, finished FROM queries""",
        "DROP TABLE queries",
        "ALTER TABLE queries_v4 RENAME TO queries",
    ],
    # a query that failed in passing (throttled, network, a paused engine) may be searched again at the same depth
    # in a later iteration, its failure kept where it happened: unique per iteration
    5: [
        """CREATE TABLE queries_v5 (id INTEGER PRIMARY KEY, iteration INTEGER NOT NULL, concept_id TEXT NOT NULL,
               text TEXT NOT NULL, engine TEXT NOT NULL, descriptor TEXT, status TEXT NOT NULL,
               n_hits INTEGER, error TEXT, finished REAL, skip INTEGER NOT NULL DEFAULT 0,
               UNIQUE (iteration, engine, text, skip))""",
        """INSERT INTO queries_v5 (id, iteration, concept_id, text, engine, descriptor, status, n_hits, error, finished,
               skip) SELECT id, iteration, concept_id, text, engine, descriptor, status, n_hits, error, finished, skip
               FROM queries""",
        "DROP TABLE queries",
        "ALTER TABLE queries_v5 RENAME TO queries",
    ],
}
SCHEMA_VERSION = max(MIGRATIONS)



def migrate_tables(c: sqlite3.Connection, db_path: Path) -> None:
    """Bring the schema of ``c`` (inside its transaction, foreign keys off) up to :data:`SCHEMA_VERSION`."""
    c.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    row = c.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise RuntimeError(f"{db_path} has schema v{version}, newer than this ie (v{SCHEMA_VERSION}); upgrade ie")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[target]:
            c.execute(statement)
    broken = c.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migrating {db_path} broke {len(broken)} references; nothing changed")
    c.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
