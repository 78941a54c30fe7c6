"""The run store: SQLite schema and migrations, the run store and every query by name."""

from ie.store.run_store import DB_NAME, RunStore, free_disk

__all__ = ["DB_NAME", "RunStore", "free_disk"]
