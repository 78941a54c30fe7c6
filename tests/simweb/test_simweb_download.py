"""simweb exercises the downloader's failure paths and its leak guard (an integration test with ie.download)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ie.download import DedupeIndex, DownloadOptions, download_list
from ie_plugins.simweb.engine import SimWebEngine
from ie_plugins.simweb.target import SimWebTarget


def test_downloads_fail_as_designed_and_leaks_are_caught(tmp_path: Path) -> None:
    data = SimWebTarget({"name": "simweb", "cache_dir": tmp_path, "n_train": 1, "n_val": 1, "n_test": 4}).load()
    dedupe = DedupeIndex().add_leak_files([item.path for item in data.test])
    engine = SimWebEngine({"broken_rate": 0.2, "noise": 0.2})
    hits = engine.search("blue striped star", 60) + engine.search("red wavy pentagon on grass", 60)
    kinds = {hit.url: hit.extra["kind"] for hit in hits}
    results = download_list(list(kinds), DownloadOptions(allow_private_hosts=True, retries=0), dedupe=dedupe)
    outcomes = Counter((kinds[r.outcome.url], r.outcome.outcome.value) for r in results)
    assert outcomes[("leak", "leak")] == 2
    assert outcomes[("broken_404", "http_error")] + outcomes[("broken_500", "http_error")] >= 1
    assert outcomes[("broken_html", "not_image")] >= 1
    assert outcomes[("broken_truncated", "decode_error")] >= 1
    broken = sum(n for (kind, _), n in outcomes.items() if kind.startswith("broken"))
    assert broken == sum(n for (kind, outcome), n in outcomes.items() if kind.startswith("broken") and outcome != "ok")
    assert outcomes[("match", "ok")] >= 60
