"""How ``minilm`` computes its embeddings: torch, ONNX Runtime or CTranslate2, fp32 or dynamic int8, a
sequence-length cap, batches of texts of similar length, and data-parallel workers.

Measured by ``benchmarks/embed_speed.py`` (texts/s beside sentence-transformers' own ``encode``, and the cosine and
top-10-neighbour agreement of each setting with the fp32 reference). The knobs:

* ``backend``: ``torch`` (sentence-transformers' module), ``onnx`` (the same BERT plus mean pooling and L2
  normalisation exported once with ``torch.onnx.export`` into a cache folder, run by onnxruntime) or
  ``ctranslate2`` (the BERT converted once by CTranslate2's own ``TransformersConverter``; pooling here).
* ``quantize``: ``none``; ``int8-tensor`` (dynamic int8, one scale per weight matrix: what a plain
  ``torch.ao.quantization.quantize_dynamic(model, {Linear})`` does); ``int8`` (one scale per output channel;
  in CTranslate2 its ``int8_float32``, whose activations get one scale per token, not per tensor, so every
  projection can be int8 within the quality bar); ``int8-keep-ffn-out`` (per channel, but the six feed-forward
  output projections stay fp32: their inputs, after GELU, have the outliers that per-tensor activation scales
  handle worst; torch and onnx only).
* ``max_seq_length``: tokens kept per text (the model's own cap is 256; WordNet texts have 24 on average).
* ``threads`` (intra-op threads of each worker) and ``workers`` (batches run side by side, each on its own
  thread): workers of one thread need no barrier between cores, so a core taken by another process slows them
  down by its share only, where one multi-threaded forward waits at every op for its slowest thread.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.util
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

BACKENDS = ("torch", "onnx", "ctranslate2")
QUANTIZE = ("none", "int8-tensor", "int8", "int8-keep-ffn-out")
SORTS = ("tokens", "chars", "none")
CTRANSLATE2_TYPES = {"none": "float32", "int8": "int8_float32"}  # our quantize -> its compute_type


def onnx_available() -> bool:
    """Whether the ``onnx`` backend can run here: onnxruntime, plus onnx for the one-off export and quantization."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def ctranslate2_available() -> bool:
    """Whether the ``ctranslate2`` backend can run here (its converter also needs transformers and torch, which
    sentence-transformers brings)."""
    return all(importlib.util.find_spec(name) is not None for name in ("ctranslate2", "transformers"))


def length_batches(lengths: Sequence[int], batch_size: int, sort: str = "tokens") -> list[np.ndarray]:
    """Index batches. ``sort``: ``tokens`` orders by token count first, so a batch pads to little; ``chars`` by
    characters (what sentence-transformers' ``encode`` does: 30-50% padding on WordNet's texts); ``none``."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {SORTS}, not {sort!r}")
    order = np.argsort(np.asarray(lengths), kind="stable") if sort != "none" else np.arange(len(lengths))
    return [order[lo: lo + batch_size] for lo in range(0, len(lengths), batch_size)]


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op threads set to ``n`` for the block and restored after (the process's setting is not ours).
    Left alone off the main thread: the setting is the whole process's, and a vocabulary embedded in the background
    (:mod:`ie.concepts.background`) must not change the threads of the training beside it."""
    if not n or threading.current_thread() is not threading.main_thread():
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _thread_nice() -> int:
    """The calling thread's nice value (Linux keeps one per thread; elsewhere the process's)."""
    try:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id() if sys.platform.startswith("linux") else 0)
    except (AttributeError, OSError):
        return 0


def _is_ffn_out(name: str) -> bool:
    """A BERT layer's feed-forward output projection (``encoder.layer.N.output.dense``)."""
    return name.endswith("output.dense") and "attention" not in name


def quantize_torch(module: Any, mode: str) -> Any:
    """``module`` with its Linear layers replaced by dynamic int8 ones (``mode`` as in :data:`QUANTIZE`)."""
    if mode == "none":
        return module
    import torch
    from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig

    qconfig = default_dynamic_qconfig if mode == "int8-tensor" else per_channel_dynamic_qconfig
    spec = {name: qconfig for name, sub in module.named_modules() if isinstance(sub, torch.nn.Linear)
            and not (mode == "int8-keep-ffn-out" and _is_ffn_out(name))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(module), spec)


def model_digest(model_path: Path) -> str:
    """12 hex digits of the model folder's config and weight-file sizes (another folder, another digest)."""
    h = hashlib.sha256()
    for name in ("config.json", "modules.json"):
        if (model_path / name).exists():
            h.update((model_path / name).read_bytes())
    for f in sorted(model_path.glob("*.safetensors")) + sorted(model_path.glob("*.bin")):
        h.update(f"{f.name}:{f.stat().st_size}".encode())
    return h.hexdigest()[:12]


def onnx_file(model_path: Path, mode: str, folder: Path) -> Path:
    """The ONNX export of ``model_path`` (quantized per ``mode``), made once into ``folder`` and reused."""
    fp32 = folder / f"minilm-{model_digest(model_path)}-fp32.onnx"
    if not fp32.exists():
        _export_onnx(model_path, fp32)
    if mode == "none":
        return fp32
    out = fp32.with_name(fp32.name.replace("-fp32", f"-{mode}"))
    if not out.exists():
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        graph = onnx.load(str(fp32))
        skip = [n.name for n in graph.graph.node if n.op_type == "MatMul" and mode == "int8-keep-ffn-out"
                and "/output/dense/" in n.name and "attention" not in n.name]
        tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
        logging.disable(logging.WARNING)  # its advice to pre-process the graph first (no gain measured here)
        try:
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8,
                             per_channel=mode != "int8-tensor", nodes_to_exclude=skip)
        finally:
            logging.disable(logging.NOTSET)
        os.replace(tmp, out)
    return out


def ctranslate2_folder(model_path: Path, folder: Path) -> Path:
    """The CTranslate2 conversion of ``model_path`` (fp32 weights; int8 is applied when loaded), made once."""
    out = folder / f"minilm-{model_digest(model_path)}-ctranslate2"
    if not (out / "model.bin").exists():
        import ctranslate2

        tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ctranslate2.converters.TransformersConverter(str(model_path)).convert(str(tmp), force=True)
        try:
            os.replace(tmp, out)
        except OSError:  # another process converted it meanwhile (a folder is not replaced once it has files)
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
            if not (out / "model.bin").exists():
                raise
    return out


def _export_onnx(model_path: Path, out: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)

    class Pooled(torch.nn.Module):  # BERT, mean over the unmasked tokens, L2 norm: what the ST modules do
        def __init__(self, bert: Any):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(h.dtype)
            return torch.nn.functional.normalize((h * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)

    enc = st.tokenizer(["a dog (canine): a domesticated carnivore", "b"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Pooled(st[0].model).eval(), tuple(enc[n] for n in names), str(tmp), input_names=names,
                          output_names=["embedding"], opset_version=17, dynamo=False,
                          dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, "embedding": {0: "batch"}})
    os.replace(tmp, out)


class Runner:
    """Embeds texts with one setting of the knobs above; rows are L2-normalised float32."""

    def __init__(self, model_path: str | Path, *, backend: str = "torch", quantize: str = "none",
                 max_seq_length: int | None = None, threads: int | None = None, workers: int = 1,
                 onnx_dir: str | Path | None = None, device: str = "cpu"):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        if quantize not in QUANTIZE:
            raise ValueError(f"quantize must be one of {QUANTIZE}, not {quantize!r}")
        self.path, self.backend, self.quantize = Path(model_path), backend, quantize
        self.threads, self.workers = threads, max(1, int(workers))
        from sentence_transformers import SentenceTransformer

        self.st = SentenceTransformer(str(self.path), device=device, local_files_only=True)
        self.max_seq_length = int(max_seq_length or self.st.max_seq_length)
        self.st.max_seq_length = self.max_seq_length
        self.session: Any = None
        self._tokenizer_lock = threading.Lock()
        self._rust_tokenizer: Any = None
        self.pad_id = int(self.st.tokenizer.pad_token_id or 0)
        self._encoders: dict[int, Any] = {}
        self._encoders_lock = threading.Lock()
        if backend == "torch":
            self.st[0].model = quantize_torch(self.st[0].model, quantize)
        elif backend == "ctranslate2":
            if quantize not in CTRANSLATE2_TYPES:
                raise ValueError(f"the ctranslate2 backend quantizes {' or '.join(CTRANSLATE2_TYPES)}, not {quantize!r}")
            from ie.api import cache_dir

            self.ct2_path = ctranslate2_folder(self.path, Path(onnx_dir) if onnx_dir else cache_dir("models", "minilm"))
            self.encoder()  # loads now: a broken conversion fails here, not in the first batch
        else:
            import onnxruntime as ort

            from ie.api import cache_dir

            path = onnx_file(self.path, quantize, Path(onnx_dir) if onnx_dir else cache_dir("models", "minilm"))
            options = ort.SessionOptions()
            options.intra_op_num_threads = int(threads or 0)  # 0: onnxruntime's default (one per core)
            options.inter_op_num_threads = 1
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def encoder(self) -> Any:
        """The CTranslate2 encoder for the calling thread's priority. Its ``workers`` compute threads are its own,
        started when it loads, and take the priority of the thread that loads it (Linux): a vocabulary embedded in
        a nice-19 background thread (:mod:`ie.concepts.background`) computes at nice 19, and the run's own thread,
        which may not raise a thread's priority back, gets threads of its own priority (a load takes ~0.1 s)."""
        nice = _thread_nice()
        with self._encoders_lock:
            if nice not in self._encoders:
                import ctranslate2
                import torch

                threads = torch.get_num_threads()
                try:
                    self._encoders[nice] = ctranslate2.Encoder(
                        str(self.ct2_path), device="cpu", compute_type=CTRANSLATE2_TYPES[self.quantize],
                        inter_threads=self.workers, intra_threads=int(self.threads or 1))
                finally:  # loading sets this thread's OpenMP threads to intra_threads: training would run on one
                    if torch.get_num_threads() != threads:
                        torch.set_num_threads(threads)
            return self._encoders[nice]

    @property
    def dim(self) -> int:
        get = getattr(self.st, "get_embedding_dimension", None) or self.st.get_sentence_embedding_dimension
        return int(get())

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, cut at ``max_seq_length``, unpadded: the transformers tokenizer's own ids, from
        its Rust tokenizer called directly (a copy set to truncate, no padding): half the time of the wrapper,
        whose per-call setup and conversions cost ~2% of the whole embedding while both cores wait."""
        with self._tokenizer_lock:  # a fast tokenizer is not safe to call from two threads at once
            if self._rust_tokenizer is None:
                from tokenizers import Tokenizer

                self._rust_tokenizer = Tokenizer.from_str(self.st.tokenizer.backend_tokenizer.to_str())
                self._rust_tokenizer.no_padding()
                self._rust_tokenizer.enable_truncation(self.max_seq_length)
            return [e.ids for e in self._rust_tokenizer.encode_batch(list(texts), add_special_tokens=True)]

    def encode_batch(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        """One batch of token ids, padded to its longest, through BERT, mean pooling and L2 normalisation."""
        if self.backend == "ctranslate2":  # it pads by itself; the mask only pools
            hidden = np.asarray(self.encoder().forward_batch([list(row) for row in ids]).last_hidden_state,
                                dtype=np.float32)
            lengths = np.array([len(row) for row in ids], dtype=np.float32)
            weights = (np.arange(hidden.shape[1])[None, :] < lengths[:, None]).astype(np.float32)
            pooled = np.einsum("btd,bt->bd", hidden, weights) / np.maximum(lengths[:, None], 1e-9)
            return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        width = max(len(row) for row in ids)
        input_ids = np.full((len(ids), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)], mask[i, : len(row)] = row, 1
        feed = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
        if self.session is not None:
            return np.asarray(self.session.run(None, {i.name: feed[i.name] for i in self.session.get_inputs()})[0],
                              dtype=np.float32)
        import torch

        with torch.inference_mode():
            features = {k: torch.from_numpy(v).to(self.st.device) for k, v in feed.items()}
            vecs = torch.nn.functional.normalize(self.st(features)["sentence_embedding"], p=2, dim=1)
        return vecs.float().cpu().numpy()

    def embed(self, texts: Sequence[str], batch_size: int = 32, sort: str = "tokens", part: int = 256) -> np.ndarray:
        """L2-normalised embeddings of ``texts``, in their order. With several workers the texts are tokenized
        ``part`` at a time and each part's batches (longest first) go to the workers at once, so they start after
        the first part is tokenized rather than the whole call (tokenizing is ~3% of the time, both cores idle)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not len(texts):
            return out
        step = part if self.workers > 1 else len(texts)

        def one(ids: list[list[int]], idx: np.ndarray, lo: int) -> None:
            out[lo + idx] = self.encode_batch([ids[i] for i in idx])

        with torch_threads(self.threads if self.backend == "torch" else None), \
                ThreadPoolExecutor(self.workers, thread_name_prefix="minilm") as pool:
            futures = []
            try:
                for lo in range(0, len(texts), step):
                    chunk = texts[lo: lo + step]
                    ids = self.tokenize(chunk)
                    lengths = [len(t) for t in chunk] if sort == "chars" else [len(row) for row in ids]
                    for idx in length_batches(lengths, batch_size, sort)[::-1]:  # a call ends on short batches
                        if self.workers == 1:
                            one(ids, idx, lo)
                        else:
                            futures.append(pool.submit(one, ids, idx, lo))
                for future in futures:
                    future.result()
            except BaseException:  # Ctrl-C or a failed batch: drop the queued batches, not run them
                for future in futures:
                    future.cancel()
                raise
        return out
