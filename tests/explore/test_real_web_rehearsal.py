"""The real-web rehearsal, offline: `ie explore --target FOLDER --engine flickr` as a user runs it, against a
loopback Flickr that answers in its documented shape from a folder of images (tests/explore/flickr_double.py), with
throttling, a spent quota and a dead spell of the image host in the middle. Two iterations; what reaches the store,
the report and the export is checked: WordNet concepts embedded by MiniLM, hits with licences and creators, kept
images and their rewards, the engine paused and back, failures recorded by outcome, the key stored nowhere."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from ie.store import RunStore
from tests.explore.flickr_double import FlickrDouble

pytestmark = pytest.mark.slow

KEY = "rehearsal-key-0123456789abcdef"


def _picture(path: Path, colour: tuple[int, int, int], shape: str, rng: random.Random) -> None:
    image = Image.new("RGB", (48, 48), tuple(max(0, min(255, c + rng.randint(-20, 20))) for c in (200, 200, 190)))
    draw = ImageDraw.Draw(image)
    x, y, r = rng.randint(12, 36), rng.randint(12, 36), rng.randint(8, 12)
    box = (x - r, y - r, x + r, y + r)
    (draw.ellipse if shape == "disc" else draw.rectangle)(box, fill=colour)
    image.save(path, "JPEG", quality=90)


def _folders(root: Path) -> tuple[Path, list[Path]]:
    """A target of red discs and blue squares; a web of 60 pictures, half like the target, half not."""
    rng = random.Random(0)
    target = root / "target"
    for label, colour, shape in (("red_disc", (200, 30, 30), "disc"), ("blue_square", (30, 40, 200), "square")):
        (target / label).mkdir(parents=True)
        for i in range(10):
            _picture(target / label / f"{i}.jpg", colour, shape, rng)
    web = root / "web"
    web.mkdir()
    kinds = [((200, 30, 30), "disc"), ((30, 40, 200), "square"), ((30, 160, 40), "disc"), ((220, 200, 30), "square")]
    pool = []
    for i in range(60):
        colour, shape = kinds[i % 4]
        _picture(web / f"w{i:03d}.jpg", colour, shape, rng)
        pool.append(web / f"w{i:03d}.jpg")
    return target, pool


def _ie(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ie", *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=900)


def test_a_real_engine_run_offline_with_throttling_a_spent_quota_and_a_dead_spell(tmp_path: Path) -> None:
    target, pool = _folders(tmp_path)
    flickr = FlickrDouble(pool, KEY)
    env = {**os.environ, "FLICKR_API_KEY": KEY, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "IE_CACHE_DIR": str(tmp_path / "cache")}
    # the loopback image host; a CPU's training budget
    (tmp_path / "ie.toml").write_text("allow_private_hosts = true\nbatch_size = 8\nmax_steps_per_iter = 2\n")
    run = tmp_path / "runs" / "flickr"
    try:
        done = _ie("explore", "--run", str(run), "--target", str(target), "--engine", "flickr", "--ssl", "mocov3",
                   "--iterations", "2", "--queries-per-iter", "8", "--images-per-query", "6", "--image-size", "64",
                   "--license", "cc0,by,by-sa", "--seed", "0",
                   "-o", f"engine.flickr.base_url={flickr.url}/services/rest/", "-o", "engine.flickr.max_retry_after=1",
                   "-o", "engine.flickr.rate_per_second=50", "-o", "vocabulary.wordnet.limit=1500",
                   env=env, cwd=tmp_path)
    finally:
        flickr.close()
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Traceback" not in output and KEY not in output

    store = RunStore.open(run)
    try:
        # the real defaults followed the real engine: WordNet concepts (the first 1,500), embedded by MiniLM
        config = store.get_state("config")
        assert (config["vocab"], config["embedder"]) == ("wordnet", "minilm")
        concepts = store.query("SELECT vocabulary, COUNT(*) FROM concepts GROUP BY vocabulary")
        assert [tuple(r) for r in concepts] == [("wordnet", 1500)]
        wordnet_names = {r[0] for r in store.query("SELECT name FROM concepts")}
        queries = store.queries()
        assert {q["text"] for q in queries} <= wordnet_names  # nothing simulated was sent

        # Flickr was asked as its documents say, with the run's licence families as its licence ids
        searches = [r for r in flickr.requests if int(r.get("per_page", 0)) > 1]
        assert searches and all(r["method"] == "flickr.photos.search" and r["format"] == "json"
                                and set(r["license"].split(",")) == {"9", "4", "11", "5", "12"} for r in searches)

        # failures recorded by outcome: two throttled, the quota, queries paused while it lasted; none spent
        from ie.outputs.summary import query_outcomes

        first = query_outcomes(store, 0)
        assert first.get("failed (throttled)") == 2 and first.get("failed (quota)", 0) >= 1, first
        assert first.get("hits", 0) >= 2 and sum(first.values()) == len(store.queries(iteration=0))
        # the quota reset during the run: the engine is back in iteration 1, every query answered
        assert query_outcomes(store, 1) == {"hits": len(store.queries(iteration=1))}
        assert "engines back in use (their quota reset): flickr" in output
        assert not store.get_state("engine_paused_until") and not store.get_state("disabled_engines")

        # hits carry licence, creator and source page; no All Rights Reserved hit reached the store
        hits = store.query("SELECT license, attribution, source_page FROM hits")
        assert hits and all(h[0] in ("CC BY 2.0", "CC0 1.0", "CC BY-SA 2.0", "CC BY 4.0") for h in hits)
        assert all(h[1].startswith("Creator ") and h[2].startswith("https://www.flickr.com/photos/") for h in hits)

        # the image host's dead spell is retried through; a picture whose host stays down is recorded with its
        # reason, to be tried again by a later session; every other picture is kept or deduplicated
        failed = store.query("SELECT url, status_code, reason, retry_after FROM downloads WHERE outcome != 'ok'")
        assert failed and all(int(url.rsplit("/w", 1)[1][:3]) % 9 == 4 for url, *_ in failed)
        assert all(code == 503 and reason and retry_after for _, code, reason, retry_after in failed)
        assert flickr.image_calls > store.query("SELECT COUNT(*) FROM downloads")[0][0]  # the retries
        kept = {i: store.query("SELECT COUNT(*) FROM images WHERE iteration = ?", (i,))[0][0] for i in (0, 1)}
        assert kept[0] >= 5 and kept[1] >= 5, kept
        rewarded = store.query("SELECT COUNT(*) FROM image_rewards")[0][0]
        assert rewarded >= kept[0] + kept[1]
        concept_rewards = {r["query_id"] for r in store.concept_rewards()}
        answered = {q["id"] for q in queries if q["status"] == "done" and q["n_hits"]}
        assert concept_rewards and concept_rewards <= answered  # a failed query taught the GP nothing
    finally:
        store.close()
    assert KEY.encode() not in (run / "ie.sqlite").read_bytes()  # secrets are never stored

    report = run / "report" / "index.html"
    assert report.is_file() and "flickr" in report.read_text()
    exported = _ie("export", str(run), "--out", str(tmp_path / "export"), "--license", "cc0,by", env=env, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in (tmp_path / "export" / "metadata.jsonl").read_text().splitlines()]
    assert rows and all(r["license_family"] in ("cc0", "by") and r["creator"].startswith("Creator ")
                        and r["source_page"].startswith("https://www.flickr.com/photos/") and r["license_url"]
                        for r in rows)
    assert all((tmp_path / "export" / r["path"]).is_file() for r in rows)
