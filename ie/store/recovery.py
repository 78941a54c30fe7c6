"""Crash recovery of a run store: files and rows made to agree, and the free disk space a run checks."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol


class _Store(Protocol):  # what reconcile needs of a RunStore (a Protocol: no import back into run_store)
    run_dir: Path
    images_dir: Path

    def query(self, sql: str, params: Any = ...) -> list[sqlite3.Row]: ...

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...


def free_disk(path: Path) -> tuple[Path, float]:
    """The nearest existing folder at or above ``path`` and the free space of its disk, in GB."""
    probe = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    return probe, shutil.disk_usage(probe).free / 1e9


def reconcile(store: _Store) -> dict[str, int]:
    """Make files and rows agree after a crash: temp files and files without a row (written, never committed)
    are removed; rows whose file is gone are dropped with their download outcome, so the URL is fetched again.
    Returns what was fixed."""
    fixed = {"temp_files": 0, "orphan_files": 0, "missing_files": 0}
    if store.images_dir.exists():
        known = {r[0] for r in store.query("SELECT path FROM images")}
        for path in store.images_dir.rglob("*"):
            if not path.is_file():
                continue
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)
                fixed["temp_files"] += 1
            elif str(path.relative_to(store.run_dir)) not in known:
                path.unlink(missing_ok=True)  # written, never committed: its URL is not recorded either
                fixed["orphan_files"] += 1
    missing = [r[0] for r in store.query("SELECT sha256, path FROM images") if not (store.run_dir / r[1]).exists()]
    if missing:
        with store.transaction() as c:
            for sha in missing:
                c.execute("DELETE FROM downloads WHERE sha256=?", (sha,))
                for table in ("image_rewards", "replay", "images"):
                    c.execute(f"DELETE FROM {table} WHERE sha256=?", (sha,))
        fixed["missing_files"] = len(missing)
    return fixed
