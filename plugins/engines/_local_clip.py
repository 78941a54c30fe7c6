"""CLIP text-to-image ranking for the local engine (open_clip, local weights only, embeddings cached).

Imported only when the local engine runs in CLIP mode: torch and open_clip are heavy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ie.api import EngineUnavailableError, WeightsUnavailableError, atomic_write, clip_text_features, load_open_clip
from ie.api import cache_dir as shared_cache_dir


def cache_dir(options: Mapping[str, Any]) -> Path:
    if options.get("cache_dir"):
        return Path(str(options["cache_dir"])).expanduser()
    return shared_cache_dir("local-clip")


class ClipIndex:
    """Image embeddings of ``files`` (None entries are skipped) and text queries against them."""

    def __init__(self, options: Mapping[str, Any], files: Sequence[Path | None]):
        weights = Path(str(options["clip_weights"])).expanduser() if options["clip_weights"] else None
        if weights is None or not weights.is_file():
            raise WeightsUnavailableError(
                f"local: CLIP mode needs option clip_weights pointing at an open_clip checkpoint file (got {weights})"
            )
        self.arch = str(options["clip_model"])
        self.batch_size = int(options["batch_size"])
        self.device = str(options["device"])
        import torch

        self.files = [(i, f) for i, f in enumerate(files) if f is not None]
        if not self.files:
            raise EngineUnavailableError("local", "CLIP mode needs local image files (table rows with URLs cannot be embedded)")
        try:
            self.model, self.preprocess, self.tokenizer = load_open_clip(self.arch, str(weights), self.device)
        except WeightsUnavailableError as err:  # wrong arch/weights pair, corrupt file
            raise WeightsUnavailableError(f"local: cannot load {self.arch} from {weights}: {err}") from err
        self.torch = torch
        self.key = self._cache_key(weights)
        self.features = self._load_or_embed(cache_dir(options) / f"{self.key}.pt")

    def _cache_key(self, weights: Path) -> str:
        h = hashlib.sha256(f"{self.arch}|{weights.resolve()}|{weights.stat().st_size}|{weights.stat().st_mtime_ns}".encode())
        for _, f in self.files:
            st = f.stat() if f.exists() else None
            h.update(f"{f.resolve()}|{st.st_size if st else -1}|{st.st_mtime_ns if st else -1}\n".encode())
        return h.hexdigest()[:32]

    def _load_or_embed(self, cache: Path) -> Any:
        torch = self.torch
        if cache.is_file():
            try:
                return torch.load(cache, map_location="cpu", weights_only=True)
            except Exception:  # noqa: BLE001 - corrupt cache: embed again
                pass
        from PIL import Image

        chunks = []
        with torch.no_grad():
            for start in range(0, len(self.files), self.batch_size):
                batch = []
                for _, f in self.files[start : start + self.batch_size]:
                    try:
                        with Image.open(f) as im:
                            batch.append(self.preprocess(im.convert("RGB")))
                    except (OSError, ValueError):  # unreadable image: a zero vector never ranks high
                        batch.append(None)
                shape = next((b.shape for b in batch if b is not None), None)
                if shape is None:
                    chunks.append(torch.zeros(len(batch), 1))
                    continue
                stacked = torch.stack([b if b is not None else torch.zeros(shape) for b in batch]).to(self.device)
                feats = torch.nn.functional.normalize(self.model.encode_image(stacked).float(), dim=-1).cpu()
                feats[[i for i, b in enumerate(batch) if b is None]] = 0
                chunks.append(feats)
        width = max(c.shape[1] for c in chunks)
        features = torch.cat([c if c.shape[1] == width else torch.zeros(c.shape[0], width) for c in chunks])
        with atomic_write(cache) as fh:
            torch.save(features, fh)
        return features

    def rank(self, query: str, min_similarity: float = -1.0) -> list[int]:
        torch = self.torch
        text = clip_text_features(self.model, self.tokenizer, [query], self.device)[0]
        sims = self.features @ text
        order = torch.argsort(sims, descending=True).tolist()
        return [self.files[j][0] for j in order if float(sims[j]) > min_similarity]
