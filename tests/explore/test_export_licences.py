"""Licences travel from the hit to every export: licence, its family and URL, creator, source page, engine;
`ie export --license` keeps only what a user may reuse; paths are relative to the export."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from PIL import Image

from ie.api import Concept, DownloadOutcome, Hit, IEError, Outcome
from ie.outputs.export import export_run
from ie.outputs.licences import licence_key, licence_url, parse_licence_filter
from ie.store import RunStore

HITS = [  # as Flickr, Openverse and Wikimedia report them
    ("flickr", "CC BY 2.0", "Ann Example", 0.9),
    ("openverse", "CC0 1.0", "Bo Example", 0.8),
    ("wikimedia", "CC BY-SA 4.0", "Cy Example", 0.7),
    ("flickr", "All Rights Reserved", "Di Example", 0.6),
    ("flickr", None, None, 0.5),
]


@pytest.fixture
def run(tmp_path: Path) -> Path:
    store = RunStore.open(tmp_path / "run")
    store.add_concepts([Concept(id="c-panda", name="red panda")])
    qid = store.add_query(0, "c-panda", "red panda", "flickr")
    hits = [Hit(url=f"https://img.example/{i}.jpg", engine=engine, query="red panda", rank=i, license=licence,
                attribution=creator, source_page=f"https://example.org/photo/{i}")
            for i, (engine, licence, creator, _) in enumerate(HITS)]
    store.finish_query(qid, hits)
    rewards = {}
    for i, (hit, (*_, reward)) in enumerate(zip(hits, HITS)):
        buffer = io.BytesIO()
        Image.new("RGB", (16, 16), (40 * i, 10, 10)).save(buffer, "JPEG")
        image = store.add_image(buffer.getvalue(), width=16, height=16, phash=str(i), iteration=0,
                                source_url=hit.url, outcome=DownloadOutcome(hit.url, Outcome.OK))
        rewards[image.sha256] = reward
    store.add_image_rewards(0, rewards, "knn")
    store.close()
    return tmp_path / "run"


def test_every_format_carries_licence_creator_and_source_page(run: Path, tmp_path: Path) -> None:
    assert export_run(run, tmp_path / "folder", "imagefolder") == 5
    rows = [json.loads(line) for line in (tmp_path / "folder" / "metadata.jsonl").read_text().splitlines()]
    first = rows[0]
    assert first["license"] == "CC BY 2.0" and first["license_family"] == "by"
    assert first["license_url"] == "https://creativecommons.org/licenses/by/2.0/"
    assert first["creator"] == "Ann Example" and first["source_page"] == "https://example.org/photo/0"
    assert first["engine"] == "flickr" and first["url"] == "https://img.example/0.jpg"
    assert all(not Path(r["path"]).is_absolute() and (tmp_path / "folder" / r["path"]).is_file() for r in rows)
    assert rows[-1]["license"] is None and rows[-1]["license_family"] is None  # unknown stays unknown

    export_run(run, tmp_path / "wds", "webdataset")
    with tarfile.open(next((tmp_path / "wds").glob("*.tar"))) as tar:
        metas = [json.load(tar.extractfile(m)) for m in tar.getmembers() if m.name.endswith(".json")]
        names = set(tar.getnames())
    assert {m["creator"] for m in metas} >= {"Ann Example", "Bo Example", "Cy Example"}
    assert all(m["path"] in names for m in metas)

    import pyarrow.parquet as pq

    export_run(run, tmp_path / "pq", "parquet")
    table = pq.read_table(tmp_path / "pq" / "images.parquet").to_pydict()
    assert table["license_url"][1] == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert table["source_page"][2] == "https://example.org/photo/2" and "path" not in table


def test_licence_filter_keeps_only_reusable_images(run: Path, tmp_path: Path) -> None:
    keep = parse_licence_filter("cc0,pdm,by,by-sa")
    assert export_run(run, tmp_path / "free", "imagefolder", licences=keep) == 3
    rows = [json.loads(line) for line in (tmp_path / "free" / "metadata.jsonl").read_text().splitlines()]
    assert sorted(r["license_family"] for r in rows) == ["by", "by-sa", "cc0"]
    with pytest.raises(IEError, match="unknown licence 'cc-by'"):
        parse_licence_filter("cc-by")


@pytest.mark.parametrize("name, family, url", [
    ("CC BY-NC-SA 2.0", "by-nc-sa", "https://creativecommons.org/licenses/by-nc-sa/2.0/"),
    ("Public Domain Mark 1.0", "pdm", "https://creativecommons.org/publicdomain/mark/1.0/"),
    ("PDM 1.0", "pdm", "https://creativecommons.org/publicdomain/mark/1.0/"),
    ("CC0", "cc0", "https://creativecommons.org/publicdomain/zero/1.0/"),
    ("Public domain", "pdm", None),
    ("CC BY-SA 3.0", "by-sa", "https://creativecommons.org/licenses/by-sa/3.0/"),
    ("All Rights Reserved", "arr", None),
    ("GFDL", None, None),
])
def test_licence_names_of_the_engines_map_to_families_and_urls(name: str, family: str | None, url: str | None):
    assert licence_key(name) == family and licence_url(name) == url


def test_summary_and_report_count_images_by_licence_unknown_included(run: Path) -> None:
    from rich.console import Console

    from ie.outputs.licences import licence_counts
    from ie.outputs.report import write_report
    from ie.outputs.summary import print_iteration_summary
    from ie.store.reads import kept_image_licences

    store = RunStore.open(run)
    assert licence_counts(kept_image_licences(store, 0)) == {"by": 1, "cc0": 1, "by-sa": 1, "arr": 1, "unknown": 1}
    console = Console(record=True, width=200)
    print_iteration_summary(console, store, 0, {"queries": 1, "images_kept": 5})
    text = console.export_text()
    assert "licences of kept images" in text and "unknown 1" in text
    store.close()
    html = write_report(run).read_text()
    assert "licences of kept images" in html and "<td>unknown</td><td>1</td>" in html


def test_summary_counts_queries_by_outcome_and_they_add_up(tmp_path: Path) -> None:
    from ie.outputs.summary import query_outcomes

    store = RunStore.open(tmp_path / "q")
    for i, (hits, error) in enumerate([(2, None), (0, None), (0, "QuotaExceededError: flickr: daily limit"),
                                       (0, "TransientEngineError: flickr: HTTP 502"), (1, None)]):
        qid = store.add_query(0, f"c{i}", f"query {i}", "flickr")
        store.finish_query(qid, [Hit(url=f"https://x/{i}/{k}.jpg", engine="flickr", query="q", rank=k)
                                 for k in range(hits)], error)
    store.add_query(0, "c9", "query 9", "flickr")
    counts = query_outcomes(store, 0)
    # the second error is as runs before outcomes wrote it: named by its class, counted by its outcome
    assert counts == {"hits": 2, "empty": 1, "failed (quota)": 1, "failed (network)": 1,
                      "planned": 1}
    assert sum(counts.values()) == len(store.queries(iteration=0))
    store.close()
