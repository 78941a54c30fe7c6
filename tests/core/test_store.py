from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ie.api import DownloadOutcome, Hit, Outcome
from ie.store import RunStore
from ie.store.reads import next_search_skip, search_spent, searched
from ie.store.schema import SCHEMA_VERSION


def test_schema_versioned_and_wal(tmp_path):
    store = RunStore.open(tmp_path)
    assert store.schema_version == SCHEMA_VERSION
    assert store.query("PRAGMA journal_mode")[0][0] == "wal"


def test_refuses_newer_schema(tmp_path):
    store = RunStore.open(tmp_path)
    store.query("UPDATE meta SET value='999' WHERE key='schema_version'")
    store.close()
    try:
        RunStore.open(tmp_path)
    except RuntimeError as err:
        assert "newer" in str(err)
    else:
        raise AssertionError("opened a store from the future")


def test_queries_are_idempotent_per_iteration_engine_and_text(ie_run_store):
    a = ie_run_store.add_query(0, "c", "red panda", "simweb")
    b = ie_run_store.add_query(0, "c", "red panda", "simweb")
    c = ie_run_store.add_query(0, "c", "red panda", "flickr")
    assert a == b != c
    assert ie_run_store.add_query(1, "c", "red panda", "simweb") not in (a, c)  # a later iteration: a new query
    assert not searched(ie_run_store, "simweb", "red panda")
    ie_run_store.finish_query(a, [Hit("http://x/1", "simweb", "red panda", 0)])
    assert searched(ie_run_store, "simweb", "red panda")
    assert [h["url"] for h in ie_run_store.hits(a)] == ["http://x/1"]


def test_a_search_repeated_in_a_later_iteration_goes_deeper_until_it_comes_back_short(ie_run_store):
    store = ie_run_store
    assert next_search_skip(store, "simweb", "red panda", 16, before_iteration=0) == 0
    a = store.add_query(0, "c", "red panda", "simweb")
    store.finish_query(a, [Hit(f"http://x/{i}", "simweb", "red panda", i) for i in range(16)])
    assert next_search_skip(store, "simweb", "red panda", 16, before_iteration=0) == 0  # the same iteration: not yet
    assert next_search_skip(store, "simweb", "red panda", 16, before_iteration=1) == 16
    b = store.add_query(1, "c", "red panda", "simweb", skip=16)
    assert b != a and store.add_query(1, "c", "red panda", "simweb", skip=16) == b  # idempotent per depth
    assert [q["skip"] for q in store.queries()] == [0, 16]
    store.finish_query(b, [Hit(f"http://x/{i}", "simweb", "red panda", i) for i in range(16, 20)])
    assert next_search_skip(store, "simweb", "red panda", 16, before_iteration=2) is None  # 4 of 16: nothing deeper
    c = store.add_query(0, "d", "snow leopard", "simweb")
    store.finish_query(c, [], error="EngineUnavailableError: down")
    assert next_search_skip(store, "simweb", "snow leopard", 16, before_iteration=1) is None  # failed: spent


@pytest.mark.parametrize("error", ["throttled: RateLimitedError: simweb: HTTP 429",
                                   "network: TransientEngineError: simweb: timed out",
                                   "quota: QuotaExceededError: simweb: daily limit",
                                   "paused: engine simweb sits out: quota", "RateLimitedError: simweb: HTTP 429"])
def test_a_search_that_failed_in_passing_is_searched_again_at_its_depth(ie_run_store, error):
    store = ie_run_store
    a = store.add_query(0, "c", "red panda", "simweb")
    store.finish_query(a, [Hit(f"http://x/{i}", "simweb", "red panda", i) for i in range(16)])
    b = store.add_query(1, "c", "red panda", "simweb", skip=16)
    store.finish_query(b, [], error=error)
    assert not search_spent("failed", 0, 16, error)
    assert next_search_skip(store, "simweb", "red panda", 16, before_iteration=2) == 16  # the same depth again
    c = store.add_query(2, "c", "red panda", "simweb", skip=16)
    assert c != b and store.queries(iteration=1)[0]["error"] == error  # the failure stays where it happened
    for permanent in ("auth: AuthError: simweb: refused", "malformed: MalformedResponseError: simweb: no list"):
        assert search_spent("failed", 0, 16, permanent)


def test_a_version_3_store_migrates_with_its_queries_and_hits(tmp_path):
    import sqlite3

    from ie.store.schema import MIGRATIONS

    conn = sqlite3.connect(tmp_path / "ie.sqlite")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for version in (1, 2, 3):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
    conn.execute("INSERT INTO meta VALUES ('schema_version', '3')")
    conn.execute("INSERT INTO queries (id, iteration, concept_id, text, engine, status, n_hits) "
                 "VALUES (7, 0, 'c', 'red panda', 'simweb', 'done', 1)")
    conn.execute("INSERT INTO hits (query_id, url, rank) VALUES (7, 'http://x/1', 0)")
    conn.commit()
    conn.close()
    store = RunStore.open(tmp_path)
    assert store.schema_version == SCHEMA_VERSION
    [query] = store.queries()
    assert query["id"] == 7 and query["text"] == "red panda" and query["skip"] == 0 and query["n_hits"] == 1
    assert [h["url"] for h in store.hits(7)] == ["http://x/1"]
    assert store.query("PRAGMA foreign_keys")[0][0] == 1
    assert store.add_query(1, "c", "red panda", "simweb", skip=16) != 7
    store.close()


def test_images_content_addressed_and_atomic(ie_run_store):
    outcome = DownloadOutcome("http://x/1", Outcome.OK, bytes=3)
    rec = ie_run_store.add_image(b"abc", width=1, height=1, phash="0", source_url="http://x/1", iteration=0,
                                 outcome=outcome)
    assert rec.path == ie_run_store.images_dir / rec.sha256[:2] / f"{rec.sha256}.jpg"
    assert rec.path.read_bytes() == b"abc"
    assert not list(rec.path.parent.glob(".*tmp"))
    assert ie_run_store.downloaded_urls() == {"http://x/1"}
    again = ie_run_store.add_image(b"abc", width=1, height=1, phash="0", iteration=0)
    assert again.sha256 == rec.sha256 and len(ie_run_store.images()) == 1


def test_reconcile_removes_unrecorded_files_and_rows_without_files(tmp_path):
    store = RunStore.open(tmp_path)
    sha, orphan = store.write_image_file(b"written but never recorded")
    tmp = orphan.parent / f".{orphan.name}.123.tmp"
    tmp.write_bytes(b"partial")
    kept = store.add_image(b"kept", width=1, height=1, phash="0", outcome=DownloadOutcome("u1", Outcome.OK))
    lost = store.add_image(b"lost", width=1, height=1, phash="1", outcome=DownloadOutcome("u2", Outcome.OK))
    lost.path.unlink()
    store.close()
    store = RunStore.open(tmp_path)
    assert not orphan.exists() and not tmp.exists()
    assert [r.sha256 for r in store.images()] == [kept.sha256]
    assert store.downloaded_urls() == {"u1"}  # u2 will be downloaded again


WRITER = textwrap.dedent("""
    import sys, time
    from ie.store import RunStore
    from ie.api import DownloadOutcome, Outcome
    store = RunStore.open(sys.argv[1])
    mode = sys.argv[2]
    if mode == "hold":
        store.add_image(b"committed", width=1, height=1, phash="0", outcome=DownloadOutcome("ok", Outcome.OK))
        with store.transaction() as c:
            for i in range(5000):
                c.execute("INSERT INTO concepts (id, name) VALUES (?, ?)", (f"c{i}", "x"))
            print("in-transaction", flush=True)
            time.sleep(60)
    else:
        i = 0
        while True:
            data = f"{sys.argv[3]}-{i}".encode()
            q = store.add_query(0, "c", f"{sys.argv[3]}-{i}", "e")
            store.add_image(data, width=1, height=1, phash=str(i),
                            outcome=DownloadOutcome(f"{sys.argv[3]}/{i}", Outcome.OK))
            i += 1
            if mode != "forever" and i >= int(mode):
                break
        print("done", flush=True)
""")


def _spawn(tmp_path: Path, *args: str) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    return subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE, text=True)


def _assert_consistent(run: Path) -> RunStore:
    store = RunStore.open(run)
    assert store.integrity_ok()
    rows = {r.sha256 for r in store.images()}
    files = {p.stem for p in (run / "images").rglob("*") if p.is_file()}
    assert rows == files
    assert all(r.path.exists() for r in store.images())
    return store


def test_sigkill_mid_transaction_leaves_consistent_store(tmp_path):
    run = tmp_path / "run"
    proc = _spawn(tmp_path, str(run), "hold")
    assert proc.stdout.readline().strip() == "in-transaction"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = _assert_consistent(run)
    assert store.query("SELECT COUNT(*) FROM concepts")[0][0] == 0  # the open transaction vanished
    assert store.downloaded_urls() == {"ok"}  # the committed one survived


def test_sigkill_during_busy_writes_then_reopen(tmp_path):
    run = tmp_path / "run"
    RunStore.open(run).close()
    proc = _spawn(tmp_path, str(run), "forever", "w")
    time.sleep(1.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = _assert_consistent(run)
    assert len(store.images()) > 0
    assert len(store.downloaded_urls()) == len(store.images())


def test_two_processes_write_at_once(tmp_path):
    run = tmp_path / "run"
    RunStore.open(run).close()
    procs = [_spawn(tmp_path, str(run), "150", tag) for tag in ("a", "b")]
    for p in procs:
        assert p.wait(timeout=120) == 0
    store = _assert_consistent(run)
    assert len(store.images()) == 300
    assert store.query("SELECT COUNT(*) FROM queries")[0][0] == 300


def test_state_and_stages_roundtrip(ie_run_store):
    ie_run_store.set_state("concepts", {"rng": [1, 2, 3]})
    assert ie_run_store.get_state("concepts") == {"rng": [1, 2, 3]}
    assert ie_run_store.get_state("missing", 7) == 7
    assert not ie_run_store.stage_done(0, "search")
    ie_run_store.mark_stage(0, "search")
    assert ie_run_store.stage_done(0, "search")


def test_atomic_write_on_a_full_disk_raises_enospc_and_leaves_nothing(tmp_path, monkeypatch):
    """torch.save through atomic_write turns a full disk into OSError(ENOSPC) (torch's own file writer raises an
    opaque RuntimeError), and neither the temp file nor a partial target remains. The temp file is pointed at
    /dev/full, which fails every write with ENOSPC."""
    import errno
    import os
    import tempfile

    import torch

    from ie.api import atomic_write

    target = tmp_path / "step-0000001.pt"

    def full_disk_mkstemp(dir, prefix, suffix):
        link = Path(dir) / f"{prefix}full{suffix}"
        link.symlink_to("/dev/full")
        return os.open(link, os.O_WRONLY), str(link)

    monkeypatch.setattr(tempfile, "mkstemp", full_disk_mkstemp)
    with pytest.raises(OSError) as info:
        with atomic_write(target) as f:
            torch.save({"weights": torch.zeros(100_000)}, f)
    assert info.value.errno == errno.ENOSPC
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    monkeypatch.undo()

    with atomic_write(target) as f:
        torch.save({"weights": torch.ones(3)}, f)
    assert torch.load(target)["weights"].tolist() == [1.0, 1.0, 1.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-0000001.pt"]


def test_atomic_writes_of_one_path_from_many_threads_never_mix(tmp_path):
    """Concurrent writers of the same file each write their own temp file: the result is one writer's whole
    content, and no temp file is left (a fixed temp name would interleave or lose writes)."""
    from concurrent.futures import ThreadPoolExecutor

    from ie.api import write_atomic

    target = tmp_path / "shared.bin"
    payloads = [bytes([i]) * 200_000 for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda data: write_atomic(target, data), payloads))
    assert target.read_bytes() in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["shared.bin"]


def test_run_events_have_a_closed_set_of_kinds(tmp_path):
    """Observers get a contract a type checker sees: RunEvent.kind is a Literal, and an unknown kind is refused."""
    from ie.api import EVENT_KINDS, RunEvent

    assert "stage_finished" in EVENT_KINDS and len(EVENT_KINDS) == 7
    assert RunEvent("stage_finished", tmp_path, 0, {"stage": "search"}).data["stage"] == "search"
    with pytest.raises(ValueError, match="unknown run event kind 'stage_done'"):
        RunEvent("stage_done", tmp_path)  # type: ignore[arg-type]


def test_store_rows_are_typed_records(ie_run_store):
    qid = ie_run_store.add_query(0, "c1", "red panda", "simweb")
    (query,) = ie_run_store.queries(iteration=0)
    assert isinstance(query, dict) and query["id"] == qid and query["status"] == "planned"
    assert ie_run_store.latest_checkpoint() is None
