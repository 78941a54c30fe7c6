"""Named read queries for what a run shows people (summary, report, export, ``ie concepts``): the only SQL
outside :mod:`ie.store.run_store`, kept in the store package like every other query."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ie.api import Concept
from ie.store.run_store import RunStore


def top_concepts(store: RunStore, iteration: int | None = None, limit: int = 5) -> list[tuple[str, float]]:
    """(concept name, reward) of the best-rewarded queries, of one iteration or of the whole run."""
    sql = ("SELECT c.name, r.value FROM concept_rewards r JOIN concepts c ON c.id = r.concept_id "
           + ("WHERE r.iteration=? " if iteration is not None else "") + "ORDER BY r.value DESC LIMIT ?")
    params = (iteration, limit) if iteration is not None else (limit,)
    return [(row[0], row[1]) for row in store.query(sql, params)]


def failed_download_count(store: RunStore, iteration: int) -> int:
    return int(store.query("SELECT COUNT(*) FROM downloads WHERE iteration=? AND outcome != 'ok'", (iteration,))[0][0])


def concept_best_images(store: RunStore, concept_name: str, limit: int) -> list[tuple[Path, float]]:
    """The best-rewarded images (path relative to the run, reward) that queries of ``concept_name`` found."""
    rows = store.query(
        "SELECT DISTINCT i.path, r.value FROM concepts c JOIN queries q ON q.concept_id = c.id "
        "JOIN hits h ON h.query_id = q.id JOIN downloads d ON d.url = h.url JOIN images i ON i.sha256 = d.sha256 "
        "JOIN image_rewards r ON r.sha256 = i.sha256 WHERE c.name = ? ORDER BY r.value DESC LIMIT ?",
        (concept_name, limit))
    return [(Path(r[0]), float(r[1])) for r in rows]


def engine_totals(store: RunStore) -> list[tuple[str, int, int, int]]:
    """Per engine: queries, hits, failed queries."""
    rows = store.query("SELECT engine, COUNT(*), SUM(n_hits), SUM(status='failed') FROM queries GROUP BY engine")
    return [(r[0], int(r[1]), int(r[2] or 0), int(r[3] or 0)) for r in rows]


@dataclass(frozen=True)
class RewardedImage:
    """A kept, rewarded image with where it came from: the first hit that downloaded to it (its engine, licence,
    creator and source page) and a concept that found it."""

    sha256: str
    path: str  # relative to the run directory
    source_url: str | None
    reward: float
    concept: str | None
    license: str | None
    creator: str | None
    source_page: str | None
    engine: str | None
    license_url: str | None = None  # as the engine gave it (Openverse, Wikimedia), when it did


def rewarded_images(store: RunStore) -> list[RewardedImage]:
    """Every rewarded image, best first, with its provenance (:class:`RewardedImage`)."""
    rows = store.query(
        "SELECT i.sha256, i.path, i.source_url, r.value, "
        "(SELECT c.name FROM downloads d JOIN hits h ON h.url = d.url JOIN queries q ON q.id = h.query_id "
        " JOIN concepts c ON c.id = q.concept_id WHERE d.sha256 = i.sha256 LIMIT 1), "
        "(SELECT h.id FROM downloads d JOIN hits h ON h.url = d.url WHERE d.sha256 = i.sha256 ORDER BY h.id LIMIT 1) "
        "FROM images i JOIN image_rewards r ON r.sha256 = i.sha256 ORDER BY r.value DESC, i.sha256")
    hit_ids = [r[5] for r in rows if r[5] is not None]
    hits: dict[int, tuple[str | None, str | None, str | None, str | None, str | None]] = {}
    for start in range(0, len(hit_ids), 500):
        chunk = hit_ids[start:start + 500]
        for h in store.query(f"SELECT id, license, attribution, source_page, engine, "
                             f"json_extract(extra, '$.license_url') FROM hits WHERE id IN "
                             f"({','.join('?' * len(chunk))})", tuple(chunk)):
            hits[int(h[0])] = (h[1], h[2], h[3], h[4], h[5])
    out = []
    nothing: tuple[str | None, str | None, str | None, str | None, str | None] = (None, None, None, None, None)
    for r in rows:
        license_, creator, page, engine, url = hits.get(r[5], nothing) if r[5] is not None else nothing
        out.append(RewardedImage(r[0], r[1], r[2], float(r[3]), r[4], license_, creator, page, engine, url))
    return out


def kept_image_licences(store: RunStore, iteration: int | None = None) -> list[str | None]:
    """The licence of each kept image (of one iteration, or of the run), as its first hit reported it (None:
    the engine gave none)."""
    where = "WHERE i.iteration=? " if iteration is not None else ""
    rows = store.query(
        "SELECT (SELECT h.license FROM downloads d JOIN hits h ON h.url = d.url WHERE d.sha256 = i.sha256 "
        "ORDER BY h.id LIMIT 1) FROM images i " + where, (iteration,) if iteration is not None else ())
    return [r[0] for r in rows]


def stored_concepts(store: RunStore) -> list[Concept]:
    """The run's vocabulary as it was stored, in its original order."""
    rows = store.query("SELECT id, name, text, vocabulary, synset FROM concepts ORDER BY rowid")
    return [Concept(id=r[0], name=r[1], text=r[2] or "", vocabulary=r[3] or "", synset=r[4]) for r in rows]


def searched(store: RunStore, engine: str, text: str) -> bool:
    """Whether (``engine``, ``text``) was searched at any depth (done or failed)."""
    rows = store.query("SELECT status FROM queries WHERE engine=? AND text=?", (engine, text))
    return any(row[0] in ("done", "failed") for row in rows)


# what a failed query's error starts with -> its outcome; the class names are how runs before outcomes wrote them
_OLD_ERROR_NAMES = {"AuthError": "auth", "QuotaExceededError": "quota", "RateLimitedError": "throttled",
                    "TransientEngineError": "network", "EngineUnavailableError": "unavailable",
                    "MalformedResponseError": "malformed", "EngineError": "error", "engine disabled": "paused"}
# failures that pass: the query may be searched again later and its concept is not spent (ie.api.errors.passing)
PASSING_FAILURES = frozenset({"quota", "throttled", "network", "paused"})


def failure_kind(error: str | None) -> str:
    """A failed query's outcome (auth, quota, throttled, network, paused, unavailable, malformed, error) from its
    recorded error, which starts with it."""
    head = (error or "error").split(":", 1)[0].strip()
    return _OLD_ERROR_NAMES.get(head, head)


def search_spent(status: str, n_hits: int | None, limit: int, error: str | None = None) -> bool:
    """Whether a search has nothing deeper to give: it returned fewer than the ``limit`` it asked, or failed for
    good (a failure in passing, such as throttling or a paused engine, spends nothing)."""
    if status == "failed":
        return failure_kind(error) not in PASSING_FAILURES
    return status == "done" and (n_hits or 0) < limit


def next_search_skip(store: RunStore, engine: str, text: str, limit: int, before_iteration: int) -> int | None:
    """Where a new search of (``engine``, ``text``) with ``limit`` results starts, given the searches of the
    iterations before ``before_iteration``: past the results of those that answered (each returned its full
    ``limit``), 0 if none; None when the search is spent (an earlier one returned fewer results or failed for
    good). A search that failed in passing is searched again at its depth."""
    rows = store.query("SELECT status, n_hits, error FROM queries WHERE engine=? AND text=? AND iteration<?",
                       (engine, text, before_iteration))
    if any(search_spent(row[0], row[1], limit, row[2]) for row in rows):
        return None
    return int(sum(row[0] == "done" for row in rows)) * limit


def titled_image_rewards(store: RunStore, through_iteration: int | None = None) -> list[tuple[str, float]]:
    """(the titles of all of an image's hits, joined; its reward) for every rewarded image some hit titled: what
    relevance feedback (:mod:`ie.concepts.feedback`) learns words from; ``through_iteration``: as the run knew it
    then (hits of queries and rewards of that iteration or before)."""
    sql = ("SELECT DISTINCT d.sha256, h.title FROM hits h JOIN downloads d ON d.url = h.url JOIN queries q "
           "ON q.id = h.query_id WHERE d.sha256 IS NOT NULL AND h.title IS NOT NULL AND h.title != ''")
    params: tuple[Any, ...] = ()
    if through_iteration is not None:
        sql, params = sql + " AND q.iteration <= ?", (through_iteration,)
    titles: dict[str, list[str]] = {}
    for sha, title in store.query(sql, params):
        titles.setdefault(sha, []).append(title)
    rewards = {sha: value for sha, value in store.query("SELECT sha256, value FROM image_rewards" + (
        " WHERE iteration <= ?" if through_iteration is not None else ""), params)}
    return [(" ".join(sorted(titles[sha])), rewards[sha]) for sha in sorted(titles) if sha in rewards]


__all__ = ["PASSING_FAILURES", "RewardedImage", "concept_best_images", "engine_totals", "failed_download_count",
           "failure_kind", "kept_image_licences", "next_search_skip", "rewarded_images", "search_spent", "searched", "stored_concepts", "titled_image_rewards", "top_concepts"]
