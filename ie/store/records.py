"""What the run store returns, one typed record per table (``TypedDict``: rows read as ``row["column"]``, and a type
checker knows each column). Columns added by later migrations are part of the record."""

from __future__ import annotations

from typing import TypedDict


class StageRecord(TypedDict):
    iteration: int
    stage: str
    status: str  # "done"
    info: str | None  # JSON of what the stage reported
    updated: float | None


class QueryRecord(TypedDict):
    id: int
    iteration: int
    concept_id: str
    text: str
    engine: str
    descriptor: str | None
    status: str  # "planned" | "done" | "failed"
    n_hits: int | None
    error: str | None
    finished: float | None
    skip: int  # results of the same (engine, text) fetched by earlier searches


class HitRecord(TypedDict):
    id: int
    query_id: int
    url: str
    rank: int | None
    engine: str | None
    title: str | None
    thumbnail_url: str | None
    source_page: str | None
    license: str | None
    attribution: str | None
    width: int | None
    height: int | None
    extra: str | None  # JSON


class ConceptRewardRecord(TypedDict):
    query_id: int
    concept_id: str
    iteration: int
    value: float


class CheckpointRecord(TypedDict):
    iteration: int
    kind: str
    path: str
    step: int | None
    created: float | None


__all__ = ["CheckpointRecord", "ConceptRewardRecord", "HitRecord", "QueryRecord", "StageRecord"]
