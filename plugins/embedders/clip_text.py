"""``clip-text``: the text tower of an open_clip model, when CLIP weights are available locally.

Options: ``weights`` (a local checkpoint file, required: nothing is downloaded), ``model`` (an open_clip
architecture name, default "ViT-B-32"), ``device`` ("cpu"), ``batch_size`` (256). Without weights the
factory raises :class:`ie.api.WeightsUnavailableError` saying how to pass them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ie.api import Option, TextEmbedder, WeightsUnavailableError, clip_text_features, hookimpl, load_open_clip

_HOW = ("set [embedders.clip-text] weights = '/path/to/open_clip_checkpoint.bin' (and model = '<open_clip "
        "architecture>', default ViT-B-32), or use the embedders 'minilm' or 'hashing'")


class ClipTextEmbedder(TextEmbedder):
    name = "clip-text"
    OPTIONS = (
        Option("weights", str, None, "a local open_clip checkpoint file (required offline)"),
        Option("model", str, "ViT-B-32", "the open_clip architecture of the checkpoint"),
        Option("device", str, "cpu", "where the text tower runs: cpu | cuda"),
        Option("batch_size", int, 256, "texts per forward pass"),
    )

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        weights = self.options["weights"]
        if not weights:
            raise WeightsUnavailableError(f"clip-text: no CLIP weights configured; {_HOW}")
        self.weights = Path(weights).expanduser()
        if not self.weights.is_file():
            raise WeightsUnavailableError(f"clip-text: weights file {self.weights} not found; {_HOW}")
        self.arch = str(self.options["model"])
        self.device = str(self.options["device"])
        self.batch_size = int(self.options["batch_size"])
        self._model: Any = None
        self._tokenizer: Any = None
        self._dim: int | None = None

    def _load(self) -> None:
        if self._model is not None:
            return
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            self._model, _, self._tokenizer = load_open_clip(self.arch, str(self.weights), self.device)
        except WeightsUnavailableError as err:  # wrong file or architecture: say so, with the fix
            raise WeightsUnavailableError(f"clip-text: cannot load {self.arch} from {self.weights}: {err}; {_HOW}") from err

    @property
    def dim(self) -> int:
        if self._dim is None:
            import open_clip

            cfg = open_clip.get_model_config(self.arch)
            if cfg is None:
                raise WeightsUnavailableError(f"clip-text: unknown open_clip architecture {self.arch!r}; {_HOW}")
            self._dim = int(cfg["embed_dim"])
        return self._dim

    @property
    def cache_key(self) -> str:
        st = self.weights.stat()
        digest = hashlib.sha256(f"{self.weights.resolve()}:{st.st_size}:{int(st.st_mtime)}".encode()).hexdigest()[:12]
        return f"clip-text-{self.arch}-{digest}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        feats = clip_text_features(self._model, self._tokenizer, texts, self.device, self.batch_size)
        return feats.numpy().astype(np.float32)


@hookimpl
def ie_register_embedders(register):  # type: ignore[no-untyped-def]
    register("clip-text", ClipTextEmbedder, help="open_clip text tower (option weights: a local checkpoint)")
