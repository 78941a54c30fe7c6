"""The loop end to end on the simulated web: stages, resume after kill -9, reports, export."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ie.loop.driver import STAGES, Explorer
from ie.store import RunStore

from ie.testing.configs import tiny_simweb_config as small_config


def _fingerprint(run: Path) -> dict[str, object]:
    store = RunStore.open(run)
    try:
        queries = store.query("SELECT engine, text, iteration FROM queries ORDER BY engine, text")
        dup_q = store.query("SELECT COUNT(*) - COUNT(DISTINCT engine || '|' || text) FROM queries")[0][0]
        return {
            "queries": [tuple(r) for r in queries],
            "images": sorted(r.sha256 for r in store.images()),
            "downloads": store.query("SELECT COUNT(*) FROM downloads")[0][0],
            "hits": store.query("SELECT COUNT(*) FROM hits")[0][0],
            "rewards": store.query("SELECT COUNT(*) FROM image_rewards")[0][0],
            "concept_rewards": store.query("SELECT COUNT(*) FROM concept_rewards")[0][0],
            "duplicate_queries": dup_q,
            "stages_done": store.query("SELECT COUNT(*) FROM stages WHERE status='done'")[0][0],
        }
    finally:
        store.close()


def test_one_run_every_stage_recorded(tmp_path, run_dir, monkeypatch):
    from ie.download import DedupeIndex

    seeded: list[int] = []  # how many kept images each download stage indexes (once each, not once per layer)
    real_seed = DedupeIndex.seed_from_store
    monkeypatch.setattr(DedupeIndex, "seed_from_store",
                        lambda self, hashes: real_seed(self, seeded.append(len(hashes := list(hashes))) or hashes))
    report = Explorer(small_config(keep_checkpoints=1), run_dir, progress=False).run()
    assert report.exists() and report.name == "index.html"
    fp = _fingerprint(run_dir)
    assert fp["stages_done"] == 2 * len(STAGES)
    assert fp["images"] and fp["rewards"] == len(fp["images"])
    assert fp["duplicate_queries"] == 0
    assert len(seeded) == 2 and seeded[0] == 0 and 0 < seeded[1] < len(fp["images"])  # one seeding an iteration
    store = RunStore.open(run_dir)
    counts = store.outcome_counts()
    assert counts.get("ok", 0) > 0 and sum(counts.values()) > counts["ok"]  # simweb serves broken URLs too
    assert "knn_top1" in store.metrics()[1]
    # simweb knows which served images are relevant: the reward's ROC AUC and the relevant share are recorded
    quality = [m for m in store.metrics().values() if "reward_auc" in m]
    assert quality and all(0.0 <= m["reward_auc"] <= 1.0 and 0.0 < m["relevant_image_share"] < 1.0 for m in quality)
    assert (run_dir / "metrics" / "metrics.csv").exists()
    assert (run_dir / "checkpoints" / "backbone_timm.pth").exists()
    # keep_checkpoints = 1: iteration 0's ~390 MB checkpoint went once iteration 1's was recorded
    assert sorted(d.name for d in (run_dir / "checkpoints").glob("iter*")) == ["iter001"]
    assert [r["iteration"] for r in store.query("SELECT iteration FROM checkpoints")] == [1]
    html = report.read_text()
    assert "download outcomes" in html and "leak guard" in html


def test_backbone_loads_in_timm(run_dir):
    import timm
    import torch

    Explorer(small_config(iterations=1), run_dir, progress=False).run()
    path = run_dir / "checkpoints" / "backbone_timm.pth"
    model = timm.create_model("resnet18", num_classes=0, pretrained=True, pretrained_cfg_overlay=dict(file=str(path)))
    saved = torch.load(path, map_location="cpu", weights_only=True)
    assert torch.equal(model.state_dict()["conv1.weight"], saved["conv1.weight"])


@pytest.mark.parametrize("fmt", ["imagefolder", "webdataset", "parquet"])
def test_export_formats(tmp_path, run_dir, fmt):
    from ie.outputs.export import export_run

    if not RunStore.exists(run_dir):
        Explorer(small_config(iterations=1), run_dir, progress=False).run()
    n = export_run(run_dir, tmp_path / fmt, fmt, min_reward=None)
    assert n > 0
    produced = list((tmp_path / fmt).rglob("*"))
    assert produced
    high = export_run(run_dir, tmp_path / f"{fmt}-high", fmt, min_reward=0.99)
    assert high < n


def test_existing_run_with_other_config_is_refused(run_dir):
    from ie.api import IEError

    from ie.loop.driver import StopRequested

    with pytest.raises(StopRequested):  # set up (the config is stored), then stopped by the budget
        Explorer(small_config(iterations=1, max_hours=1e-9), run_dir, progress=False).run()
    with pytest.raises(IEError, match="ie resume"):
        Explorer(small_config(iterations=1, seed=5), run_dir, progress=False)


def test_a_full_disk_stops_cleanly_and_resumes(run_dir, monkeypatch):
    """Low free space stops before the next stage; ENOSPC inside a stage stops without marking it; resume finishes."""
    import errno

    import ie.loop.driver
    from ie.loop.driver import StopRequested
    from ie.loop.train import TrainStage

    monkeypatch.setattr(ie.loop.driver, "_free_gb", lambda path: 0.25)
    with pytest.raises(StopRequested, match=r"only 0.25 GB free .*\(min_free_gb = 1.0\)"):
        Explorer(small_config(iterations=1), run_dir, progress=False).run()
    monkeypatch.undo()

    def full_disk(self, ctx, iteration):
        raise OSError(errno.ENOSPC, "No space left on device", str(run_dir / "checkpoints" / "step-0000001.pt.tmp"))

    monkeypatch.setattr(TrainStage, "run", full_disk)
    with pytest.raises(StopRequested, match="is full"):
        Explorer.resume(run_dir, progress=False).run()
    store = RunStore.open(run_dir)
    assert store.stage_done(0, "reward") and not store.stage_done(0, "train")
    store.close()
    monkeypatch.undo()

    assert Explorer.resume(run_dir, progress=False).run().exists()
    assert not list(run_dir.rglob("*.tmp"))


def _run_cli(run: Path, config: Path, fault: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, IE_FAULT=fault or "")
    cmd = [sys.executable, "-m", "ie", "explore", "--run", str(run), "--config", str(config)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def _write_config(path: Path, **overrides) -> Path:
    cfg = small_config(**overrides).to_dict()
    lines = []
    for key, value in cfg.items():
        if key != "options":
            lines.append(f"{key} = {json.dumps(value)}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_same_seed_same_run(tmp_path):
    """Two runs with one seed agree in everything the loop decides: network timing (download completion order,
    store writer threads) must not leak into training data order, rewards or the concepts drawn next."""
    runs = [tmp_path / "first", tmp_path / "second"]
    for run in runs:
        Explorer(small_config(), run, progress=False).run()
    fingerprints = [_fingerprint(run) for run in runs]
    assert fingerprints[0] == fingerprints[1]
    stores = [RunStore.open(run) for run in runs]
    try:
        rewards = [store.image_rewards() for store in stores]
        assert rewards[0].keys() == rewards[1].keys()
        assert all(rewards[1][sha] == pytest.approx(value, abs=1e-6) for sha, value in rewards[0].items())
        metrics = [store.metrics() for store in stores]
        assert metrics[0][1]["knn_top1"] == metrics[1][1]["knn_top1"]
    finally:
        for store in stores:
            store.close()


@pytest.mark.slow
def test_resume_after_kill9_at_every_stage(tmp_path, monkeypatch):
    # a port of this test's own: no other process's simweb server may answer for a killed one (after a kill past
    # the search stage, the resumed run must serve its hits' URLs itself)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        monkeypatch.setenv("IE_SIMWEB_PORT", str(probe.getsockname()[1]))
    config = _write_config(tmp_path / "ie.toml")
    reference = tmp_path / "reference"
    assert _run_cli(reference, config).returncode == 0
    expected = _fingerprint(reference)

    run = tmp_path / "crashed"
    faults = ["search:0:after-query", "reward:0:after-image-rewards", "estimate:0:after-observe",
              "train:0:after-fit", "checkpoint:0:after-record", "search:1:after-mark", "download:1:before-mark", "evaluate:1:before-mark"]
    for fault in faults:
        result = _run_cli(run, config, fault)
        assert result.returncode == -signal.SIGKILL, (fault, result.returncode, result.stderr[-2000:])
    # one more kill in the middle of a download stage, by the clock, as a user's kill -9 would land
    env = dict(os.environ, IE_FAULT="")
    proc = subprocess.Popen([sys.executable, "-m", "ie", "resume", str(run)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    db = run / "ie.sqlite"
    while time.time() < deadline and proc.poll() is None:
        with sqlite3.connect(db, timeout=30) as conn:
            busy = conn.execute("SELECT COUNT(*) FROM downloads WHERE iteration=1").fetchone()[0]
        if busy > 3:
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    final = subprocess.run([sys.executable, "-m", "ie", "resume", str(run)], capture_output=True, text=True,
                           env=env, timeout=600)
    assert final.returncode == 0, final.stderr[-2000:]
    got = _fingerprint(run)
    for key in expected:
        if got[key] != expected[key]:
            print("DIFF", key, sorted(set(map(str, got[key])) ^ set(map(str, expected[key])))[:20] if isinstance(got[key], list) else (got[key], expected[key]))
    assert got == expected
