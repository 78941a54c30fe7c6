"""Per engine, licences travel from its recorded reply (tests/engines/replies) through the store to the export:
every exported image carries the licence, its family and URL, the creator and the source page its hit had;
`--license` keeps only the families asked; an engine whose API carries no licence (Google, LAION) exports
images counted as unknown, and a licence filter drops them."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ie.api import Concept, DownloadOutcome, Outcome
from ie.outputs.export import export_run
from ie.outputs.licences import licence_key
from ie.store import RunStore
from ie_plugins.engines.flickr import FlickrEngine
from ie_plugins.engines.google import GoogleEngine
from ie_plugins.engines.laion import LaionEngine
from ie_plugins.engines.openverse import OpenverseEngine
from ie_plugins.engines.wikimedia import WikimediaEngine
from tests.engines.test_recorded_replies import SECRETS, recorded


def _engine(name: str, url: str) -> Any:
    if name == "flickr":
        return FlickrEngine({"base_url": url + "/services/rest/", "secrets": {"FLICKR_API_KEY": "test-key"}})
    if name == "openverse":
        return OpenverseEngine({"base_url": url})
    if name == "wikimedia":
        return WikimediaEngine({"base_url": url + "/w/api.php", "contact": "ops@example.org"})
    if name == "google":
        return GoogleEngine({"base_url": url + "/", "today": "2026-06-01",
                             "secrets": {"GOOGLE_API_KEY": "test-key", "GOOGLE_CSE_ID": "test-cx"}})
    return LaionEngine({"url": url + "/knn-service", "index": "laion5B-L-14"})


@pytest.mark.parametrize("name", ["flickr", "openverse", "wikimedia", "google", "laion"])
def test_licences_travel_from_each_engine_to_the_export(name, json_server, tmp_path: Path, monkeypatch) -> None:
    for variable in SECRETS:
        monkeypatch.delenv(variable, raising=False)
    reply, _ = recorded(name)
    server = json_server(lambda request: reply)
    engine = _engine(name, server.url)
    with contextlib.closing(engine):
        hits = engine.search("red panda", 3)
    assert hits

    store = RunStore.open(tmp_path / "run")
    store.add_concepts([Concept(id="c-panda", name="red panda")])
    store.finish_query(store.add_query(0, "c-panda", "red panda", name), hits)
    rewards = {}
    for i, hit in enumerate(hits):
        buffer = io.BytesIO()
        Image.new("RGB", (16, 16), (60 * i, 20, 20)).save(buffer, "JPEG")
        image = store.add_image(buffer.getvalue(), width=16, height=16, phash=str(i), iteration=0,
                                source_url=hit.url, outcome=DownloadOutcome(hit.url, Outcome.OK))
        rewards[image.sha256] = 1.0 - i / 10
    store.add_image_rewards(0, rewards, "knn")
    store.close()

    assert export_run(tmp_path / "run", tmp_path / "all", "imagefolder") == len(hits)
    rows = [json.loads(line) for line in (tmp_path / "all" / "metadata.jsonl").read_text().splitlines()]
    by_url = {row["url"]: row for row in rows}
    for hit in hits:
        row = by_url[hit.url]
        assert (row["license"], row["creator"], row["source_page"], row["engine"]) == (
            hit.license, hit.attribution, hit.source_page, name)
        assert row["license_family"] == licence_key(hit.license)
        if hit.extra.get("license_url"):  # the engine's own (Openverse, Wikimedia) is the one exported
            assert row["license_url"] == hit.extra["license_url"]
        elif row["license_family"] not in (None, "arr", "pdm"):  # a CC licence or tool: its canonical URL
            assert row["license_url"].startswith("https://creativecommons.org/")

    families = {row["license_family"] for row in rows} - {None}
    if not families:  # an API with no licences (Google, LAION): a filter keeps nothing it cannot vouch for
        assert name in ("google", "laion")
        assert export_run(tmp_path / "run", tmp_path / "free", "imagefolder", licences=frozenset({"cc0", "by"})) == 0
        return
    keep = sorted(families)[:1]
    kept = export_run(tmp_path / "run", tmp_path / "some", "imagefolder", licences=frozenset(keep))
    assert kept == sum(row["license_family"] in keep for row in rows) >= 1
