"""The local engine: a folder or a caption table, BM25 (and CLIP with local weights), served over loopback."""

from __future__ import annotations

import csv
import json

import httpx
import pytest
from PIL import Image

from ie.api import EngineUnavailableError, WeightsUnavailableError
from ie.testing.engine_contract import EngineContract
from ie_plugins.engines.local import LocalEngine


def write_image(path, color=(200, 60, 30), size=(48, 32)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "photos"
    for i in range(12):
        write_image(root / "red_panda" / f"img_{i:02d}.jpg")
    for i in range(4):
        write_image(root / "dogs" / f"dog-{i}.png", (20, 20, 200))
    return root


class TestLocalContract(EngineContract):
    engine_name = "local"
    corpus_size = 12

    @pytest.fixture
    def backend(self, folder):
        return folder

    def engine_options(self, backend):
        return {"path": str(backend)}


@pytest.fixture
def engine(folder):
    e = LocalEngine({"path": str(folder)})
    yield e
    e.close()


def test_hits_are_served_over_loopback_http(engine):
    assert LocalEngine.serves_private_urls is True
    hits = engine.search("dog", 10)
    assert len(hits) == 4 and all(h.url.startswith("http://127.0.0.1:") for h in hits)
    response = httpx.get(hits[0].url)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert Image.open(__import__("io").BytesIO(response.content)).size == (48, 32)
    assert httpx.head(hits[0].url).status_code == 200


def test_server_serves_only_indexed_files(engine, folder):
    (folder / "secret.txt").write_text("no")
    base = engine.search("dog", 1)[0].url.split("/f/")[0]
    for path in ("/f/999/x.jpg", "/f/../secret.txt", "/secret.txt", "/f/abc/x", "/"):
        assert httpx.get(base + path).status_code == 404, path


def test_close_stops_the_server(folder):
    engine = LocalEngine({"path": str(folder)})
    url = engine.search("dog", 1)[0].url
    engine.close()
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=2)


def test_hits_found_by_an_earlier_engine_answer_after_serve(folder):
    """What ``ie resume`` after the search stage needs: a new engine over the same path serves on the port the
    first one used (derived from the path), once the download stage calls ``serve()``."""
    first = LocalEngine({"path": str(folder)})
    url = first.search("dog", 1)[0].url
    first.close()
    again = LocalEngine({"path": str(folder)})
    try:
        with pytest.raises(httpx.TransportError):
            httpx.get(url, timeout=2)  # nothing serves it until the engine is asked to
        again.serve()
        assert httpx.get(url, timeout=5).status_code == 200
    finally:
        again.close()


def test_a_taken_port_falls_back_to_a_free_one(folder):
    first, second = LocalEngine({"path": str(folder)}), LocalEngine({"path": str(folder)})
    try:
        urls = [e.search("dog", 1)[0].url for e in (first, second)]
        assert urls[0] != urls[1] and all(httpx.get(u, timeout=5).status_code == 200 for u in urls)
    finally:
        first.close()
        second.close()


def test_sidecar_captions_and_bm25_order(tmp_path):
    root = tmp_path / "c"
    write_image(root / "a.jpg").with_suffix(".txt").write_text("a red panda sleeping in a red tree")
    write_image(root / "b.jpg").with_suffix(".json").write_text(json.dumps({"caption": "a panda bear"}))
    write_image(root / "c.jpg")  # caption from the file name: "c"
    engine = LocalEngine({"path": str(root)})
    hits = engine.search("red panda", 10)
    assert [h.title for h in hits] == ["a red panda sleeping in a red tree", "a panda bear"]
    assert engine.search("c", 5)[0].title == "c"


def test_csv_table_with_urls_and_relative_paths(tmp_path):
    write_image(tmp_path / "imgs" / "x.jpg")
    table = tmp_path / "corpus.csv"
    with table.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["url", "caption"])
        writer.writerow(["https://example.org/panda.jpg", "red panda on a branch"])
        writer.writerow(["imgs/x.jpg", "red fox"])
        writer.writerow(["", "empty row"])
    engine = LocalEngine({"path": str(table)})
    hits = engine.search("red", 10)
    assert {h.url.split(":")[0] for h in hits} == {"https", "http"} and len(hits) == 2
    web = next(h for h in hits if h.url.startswith("https"))
    assert web.url == "https://example.org/panda.jpg" and web.source_page == web.url
    local = next(h for h in hits if h.url.startswith("http://127.0.0.1"))
    assert httpx.get(local.url).status_code == 200
    engine.close()


def test_parquet_table(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = tmp_path / "t.parquet"
    pq.write_table(pa.table({"path": ["https://e.org/1.jpg", "https://e.org/2.jpg"], "text": ["cat", "dog"]}), table)
    assert [h.url for h in LocalEngine({"path": str(table)}).search("dog", 5)] == ["https://e.org/2.jpg"]


def test_table_without_url_column(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("caption\nred panda\n")
    with pytest.raises(EngineUnavailableError, match="url"):
        LocalEngine({"path": str(table)})


def test_path_is_required(monkeypatch, tmp_path):
    monkeypatch.delenv("IE_LOCAL_PATH", raising=False)
    with pytest.raises(EngineUnavailableError, match="path"):
        LocalEngine({})
    with pytest.raises(EngineUnavailableError, match="does not exist"):
        LocalEngine({"path": str(tmp_path / "nope")})


def test_clip_mode_needs_weights(folder):
    engine = LocalEngine({"path": str(folder), "mode": "clip"})
    with pytest.raises(WeightsUnavailableError, match="clip_weights"):
        engine.search("red panda", 3)


@pytest.mark.slow
def test_clip_mode_with_tiny_random_weights(folder, tmp_path):
    """A tiny open_clip config with random weights: checks the plumbing and the embedding cache, not quality."""
    import open_clip
    import torch

    config_dir = tmp_path / "cfg"
    config_dir.mkdir()
    (config_dir / "ie-test-tiny-clip.json").write_text(json.dumps({
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    }))
    open_clip.add_model_config(config_dir)
    weights = tmp_path / "tiny.pt"
    torch.save(open_clip.create_model("ie-test-tiny-clip").state_dict(), weights)
    options = {"path": str(folder), "clip_weights": str(weights), "clip_model": "ie-test-tiny-clip",
               "cache_dir": str(tmp_path / "cache")}
    hits = LocalEngine(options).search("red panda", 20)
    assert len(hits) == 16 and [h.rank for h in hits] == list(range(16))  # CLIP ranks every local image
    assert len(list((tmp_path / "cache").glob("*.pt"))) == 1
    again = LocalEngine(options)
    assert [h.title for h in again.search("red panda", 20)] == [h.title for h in hits]  # from the cache
