"""Text embedders and the on-disk vocabulary embedding cache."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ie.api import Concept, IEError, TextEmbedder, Vocabulary, WeightsUnavailableError
from ie.concepts import cache_path, embed_vocabulary
from ie.host.manager import get_plugin_manager


def test_hashing_embedder_is_deterministic_normalised_and_similarity_aware():
    emb = get_plugin_manager().create("embedder", "hashing", {})
    texts = ["red panda (procyonid)", "giant panda (procyonid)", "violin (bowed stringed instrument)", ""]
    a = emb.embed(texts)
    assert a.shape == (4, 384) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a[:3], axis=1), 1.0, rtol=1e-5)
    assert not a[3].any()  # empty text: zero vector, no NaN
    np.testing.assert_array_equal(a, emb.embed(texts))
    np.testing.assert_array_equal(a[1:2], emb.embed(texts[1:2]))  # batch-independent
    assert a[0] @ a[1] > a[0] @ a[2] + 0.2
    other = get_plugin_manager().create("embedder", "hashing", {"dim": 128})
    assert other.embed(texts[:1]).shape == (1, 128) and other.cache_key != emb.cache_key
    # pinned values: the hash must not change across processes or releases (it names cached files)
    dog = emb.embed(["dog"])[0]  # " dog ": 3 + 2 + 1 n-grams -> 6 signed buckets of weight 1/sqrt(6)
    assert np.flatnonzero(dog)[:4].tolist() == [42, 59, 105, 277]
    np.testing.assert_allclose(dog[[42, 59, 105, 277]], np.array([-1, 1, 1, 1]) / np.sqrt(6), rtol=1e-4)


def test_minilm_without_weights_says_how_to_pass_them(tmp_path):
    with pytest.raises(WeightsUnavailableError, match="path"):
        get_plugin_manager().create("embedder", "minilm", {"path": str(tmp_path)})


def test_clip_text_without_weights_says_how_to_pass_them(tmp_path):
    with pytest.raises(WeightsUnavailableError, match="weights"):
        get_plugin_manager().create("embedder", "clip-text", {})
    with pytest.raises(WeightsUnavailableError, match="not found"):
        get_plugin_manager().create("embedder", "clip-text", {"weights": str(tmp_path / "none.pt")})


def test_minilm_cache_key_changes_with_every_setting_that_changes_the_numbers(tmp_path):
    """Embeddings cached with one backend, quantization or sequence cap are never served to another; settings that
    only change the speed (threads, workers, batch size) keep the key. Needs no weights: the key reads only the
    folder's config and weight-file sizes."""
    from ie_plugins.embedders.minilm import MODEL_NAME
    from ie_plugins.embedders.minilm_runtime import model_digest

    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    (tmp_path / "model.safetensors").write_bytes(b"0" * 10)

    def key(**options):
        return get_plugin_manager().create("embedder", "minilm", {"path": str(tmp_path), **options}).cache_key

    plain = key(backend="torch", quantize="none")
    assert plain == f"minilm-{MODEL_NAME}-{model_digest(tmp_path)}"  # the key of caches made before the options
    variants = [plain, key(backend="onnx", quantize="none"), key(backend="torch", quantize="int8"),
                key(backend="onnx", quantize="int8"), key(backend="onnx", quantize="int8-keep-ffn-out"),
                key(backend="onnx", quantize="int8-tensor"), key(backend="torch", quantize="none", max_seq_length=64),
                key(backend="torch", quantize="none", max_seq_length=128), key(backend="ctranslate2", quantize="none"),
                key(backend="ctranslate2", quantize="int8"), key()]
    assert len(set(variants[:-1])) == len(variants) - 1  # the defaults' key may equal one of the explicit ones
    assert key(backend="torch", quantize="none", threads=2, workers=3, batch_size=7) == plain
    vocab = ListVocabulary(["a", "b"])
    first, other = (get_plugin_manager().create("embedder", "minilm", {"path": str(tmp_path), **o})
                    for o in ({"quantize": "none"}, {"quantize": "int8"}))
    assert cache_path(vocab, first, tmp_path) != cache_path(vocab, other, tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"0" * 11)  # other weights: another key
    assert key(backend="torch", quantize="none") != plain
    with pytest.raises(IEError, match="quantize"):
        key(quantize="int4")
    with pytest.raises(IEError, match="ctranslate2 backend quantizes none or int8"):
        key(backend="ctranslate2", quantize="int8-keep-ffn-out")


@pytest.mark.slow
def test_minilm_settings_match_sentence_transformers(tmp_path):
    """Every backend's fp32 path is sentence-transformers' own encode (to float noise); every int8 default keeps
    each text's direction. The auto backend is the fastest one installed."""
    import torch
    from sentence_transformers import SentenceTransformer

    from ie_plugins.embedders.minilm import packaged_model_path

    texts = ["dog (canine): a domesticated carnivore", "puppy (dog): a young dog", "violin (bowed stringed "
             "instrument): a bowed stringed instrument that is the highest member of the violin family", "ox: cattle"]
    reference = SentenceTransformer(str(packaged_model_path()), device="cpu").encode(texts, normalize_embeddings=True)
    manager = get_plugin_manager()
    for backend in ("torch", "onnx", "ctranslate2"):
        fp32 = manager.create("embedder", "minilm", {"backend": backend, "quantize": "none", "workers": 2,
                                                    "batch_size": 2, "onnx_dir": str(tmp_path)})
        assert np.min(np.sum(fp32.embed(texts) * reference, axis=1)) > 0.99999, backend
    threads = torch.get_num_threads()
    torch.set_num_threads(3)  # not the one thread each embedding worker uses
    try:
        for backend in ("onnx", "ctranslate2"):
            default = manager.create("embedder", "minilm", {"backend": backend, "onnx_dir": str(tmp_path)})
            v = default.embed(texts)
            assert torch.get_num_threads() == 3, backend  # the training after it keeps its threads
            assert default.quantize != "none"
            assert v.shape == (4, 384) and np.min(np.sum(v * reference, axis=1)) > 0.98, backend
            np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-4)
    finally:
        torch.set_num_threads(threads)
    assert manager.create("embedder", "minilm", {}).settings()["backend"] == "ctranslate2"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priorities are Linux's")
def test_ctranslate2_computes_at_the_priority_of_the_thread_that_embeds(tmp_path):
    """CTranslate2 computes in threads of its own: a vocabulary embedded from a nice-19 background thread must
    compute at nice 19, and the run's own thread (which may not raise a thread's priority back) must not be
    served by those nice-19 threads afterwards."""
    def nices() -> dict[int, int]:
        found = {}
        for entry in Path("/proc/self/task").iterdir():
            with contextlib.suppress(OSError):  # a thread that ended meanwhile
                found[int(entry.name)] = os.getpriority(os.PRIO_PROCESS, int(entry.name))
        return found

    def cpu_ticks(tids) -> int:  # utime + stime (proc(5): fields 14 and 15) of those still running
        total = 0
        for tid in tids:
            with contextlib.suppress(OSError):
                total += sum(map(int, Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]))
        return total

    embedder = get_plugin_manager().create("embedder", "minilm", {"backend": "ctranslate2", "workers": 2,
                                                                  "onnx_dir": str(tmp_path)})
    texts = ["dog (canine): a domesticated carnivore", "ox: cattle", "violin (bowed stringed instrument): a bowed "
             "stringed instrument that is the highest member of the violin family"] * 100
    first = embedder.embed(texts)  # loads, with compute threads at this thread's priority
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < 19
    before, out = nices(), {}

    def background() -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        out["v"] = embedder.embed(texts)

    thread = threading.Thread(target=background)
    thread.start()
    thread.join()
    time.sleep(0.5)  # the background's short-lived threads (its batch pool) gone, a runtime's spinning over
    started = {tid for tid, nice in nices().items() if tid not in before and nice == 19}
    assert len(started) >= 2  # its compute threads, at nice 19, still there ...
    worked = cpu_ticks(started)
    assert worked >= 5  # ... did the background's work (~0.6 s of CPU here; 100 ticks a second)
    np.testing.assert_allclose(out["v"], first, atol=1e-5)
    np.testing.assert_allclose(embedder.embed(texts), first, atol=1e-5)  # this thread's turn again:
    assert cpu_ticks(started) - worked <= 2 + worked // 4  # not on the nice-19 threads (they would take ~worked)


@pytest.mark.slow
def test_minilm_packaged_weights_embed_384d():
    emb = get_plugin_manager().create("embedder", "minilm", {})
    v = emb.embed(["dog (canine): a domesticated carnivore", "puppy (dog): a young dog", "violin (instrument)"])
    assert v.shape == (3, 384) and emb.dim == 384
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2]


@pytest.mark.slow
def test_clip_text_loads_a_local_checkpoint(tmp_path):
    """A tiny open_clip architecture with random weights saved to disk, loaded back through the plugin."""
    import open_clip
    import torch

    cfg = {"embed_dim": 32, "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
           "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}  # noqa: E501
    (tmp_path / "ie-tiny-clip.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(tmp_path / "ie-tiny-clip.json")
    model = open_clip.create_model("ie-tiny-clip")
    torch.save(model.state_dict(), tmp_path / "tiny.pt")
    emb = get_plugin_manager().create("embedder", "clip-text", {"weights": str(tmp_path / "tiny.pt"), "model": "ie-tiny-clip"})
    v = emb.embed(["a dog", "a cat"])
    assert v.shape == (2, 32) == (2, emb.dim)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-4)


class CountingEmbedder(TextEmbedder):
    name = "counting"

    def __init__(self, key: str = "v1"):
        super().__init__({})
        self.calls = 0
        self.key = key

    @property
    def dim(self) -> int:
        return 4

    @property
    def cache_key(self) -> str:
        return f"counting-{self.key}"

    def embed(self, texts):
        self.calls += 1
        return np.array([[len(t), 1.0, 0.0, 0.0] for t in texts], dtype=np.float32)


class ListVocabulary(Vocabulary):
    name = "list"

    def __init__(self, names):
        super().__init__({})
        self._c = [Concept(id=n, name=n) for n in names]

    def concepts(self):
        return self._c


def test_vocabulary_embeddings_are_computed_once_and_reused(tmp_path):
    vocab, emb = ListVocabulary(["a", "bb", "ccc"]), CountingEmbedder()
    first = embed_vocabulary(vocab, emb, tmp_path, batch_size=2)
    assert emb.calls == 2 and first.shape == (3, 4) and first[2, 0] == 3
    again = embed_vocabulary(vocab, CountingEmbedder(), tmp_path)
    np.testing.assert_array_equal(first, again)
    assert cache_path(vocab, emb, tmp_path).exists() and not list(tmp_path.glob("*.tmp"))
    fresh = CountingEmbedder()
    embed_vocabulary(vocab, fresh, tmp_path)
    assert fresh.calls == 0  # served from disk
    other_model = CountingEmbedder("v2")
    embed_vocabulary(vocab, other_model, tmp_path)
    assert other_model.calls == 1  # another model: another file
    changed = CountingEmbedder()
    embed_vocabulary(ListVocabulary(["a", "bb", "cccc"]), changed, tmp_path)
    assert changed.calls == 1  # other concept texts: another file
    assert len(list(tmp_path.glob("*.npy"))) == 3


def test_an_interrupted_embedding_goes_on_where_it_stopped(tmp_path):
    """Ctrl-C during the (long) first embedding keeps the flushed batches: the next run embeds only the rest."""

    class Interrupted(CountingEmbedder):
        def embed(self, texts):
            if self.calls == 3:
                raise KeyboardInterrupt
            return super().embed(texts)

    names = [f"concept {'x' * i}" for i in range(10)]
    vocab = ListVocabulary(names)
    with pytest.raises(KeyboardInterrupt):
        embed_vocabulary(vocab, Interrupted(), tmp_path, batch_size=2, flush_every=1)
    assert not cache_path(vocab, CountingEmbedder(), tmp_path).exists()  # no half file under the final name
    seen: list[int] = []
    resumed = CountingEmbedder()
    out = embed_vocabulary(vocab, resumed, tmp_path, batch_size=2, flush_every=1,
                           progress=lambda done, total: seen.append(done))
    assert resumed.calls == 2 and seen == [6, 8, 10]  # 3 batches were kept; 2 left
    np.testing.assert_array_equal(out[:, 0], [len(n) for n in names])
    assert cache_path(vocab, resumed, tmp_path).exists() and not list(tmp_path.glob("*.partial*"))


def test_ctranslate2_conversion_that_loses_a_race_uses_the_winners(tmp_path, monkeypatch):
    """Two processes converting at once: the one that finishes second keeps the first one's folder, removes its
    own, and says nothing."""
    ctranslate2 = pytest.importorskip("ctranslate2")
    from ie_plugins.embedders.minilm_runtime import ctranslate2_folder, model_digest

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "bert"}')
    out = tmp_path / "cache" / f"minilm-{model_digest(model)}-ctranslate2"

    class Converter:
        def __init__(self, path: str):
            self.path = path

        def convert(self, where: str, force: bool = False) -> str:
            for folder, text in ((Path(where), "ours"), (out, "theirs")):  # the other process finishes first
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "model.bin").write_text(text)
            return where

    monkeypatch.setattr(ctranslate2.converters, "TransformersConverter", Converter)
    assert ctranslate2_folder(model, tmp_path / "cache") == out
    assert (out / "model.bin").read_text() == "theirs"
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [out.name]  # no temporary folder left
