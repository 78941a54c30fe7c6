"""The run store: SQLite schema and migrations, the run store and every query by name."""

from ie.store.records import CheckpointRecord, ConceptRewardRecord, HitRecord, QueryRecord, StageRecord
from ie.store.recovery import free_disk
from ie.store.run_store import DB_NAME, RunStore

__all__ = ["CheckpointRecord", "ConceptRewardRecord", "DB_NAME", "HitRecord", "QueryRecord", "RunStore", "StageRecord",
           "free_disk"]
