"""Feature extraction: :class:`ModelFeaturizer` implements :class:`ie.api.Featurizer` for a backbone.

Batched, no grad, channels_last (AMP on CUDA). Features are cached per (image key, featurizer ``id``) in
memory and, with ``cache_dir``, on disk as append-only shards ``<cache_dir>/<id>/part-*.pt``, so an image is
featurized once per checkpoint. The image key is the file's sha256: taken from the file name when it is
one (the run store names images ``<sha256>.jpg``), hashed from the bytes otherwise.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ie.api import atomic_write, choose_device

if TYPE_CHECKING:  # pragma: no cover
    import torch

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def image_key(path: Path) -> str:
    """The content sha256 of an image file (from its name when the name is one)."""
    stem = Path(path).stem
    if SHA256_RE.match(stem):
        return stem
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def eval_transform(image_size: int) -> Any:
    """Resize (short side to size * 8/7) + center crop + ImageNet normalisation, the usual linear-eval view."""
    from torchvision import transforms as T

    return T.Compose([
        T.Resize(int(round(image_size * 8 / 7))), T.CenterCrop(image_size), T.ToTensor(),
        T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


def extract_features(module: Any, paths: Sequence[Path], transform: Any, *, device: str, batch_size: int,
                     num_workers: int = 0, encode: Any = None,
                     on_batch: Callable[[int], None] | None = None) -> torch.Tensor:
    """L2-normalised float32 CPU features of ``paths`` (``encode(module, batch)`` defaults to ``module(batch)``);
    ``on_batch(n)`` after each batch of ``n`` images."""
    import contextlib

    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader

    from ie.learning.data import ImageFileDataset

    on_cuda = device.startswith("cuda")
    loader = DataLoader(ImageFileDataset(paths, transform), batch_size=batch_size, num_workers=num_workers,
                        pin_memory=on_cuda, shuffle=False)
    was_training = module.training
    module.eval()
    amp = torch.autocast("cuda", dtype=torch.float16) if on_cuda else contextlib.nullcontext()
    out = []
    try:
        with torch.inference_mode(), amp:
            for images, _ in loader:
                images = images.to(device, non_blocking=True, memory_format=torch.channels_last)
                feats = encode(module, images) if encode else module(images)
                out.append(F.normalize(feats.float(), dim=1).cpu())
                if on_batch is not None:
                    on_batch(len(images))
    finally:
        module.train(was_training)
    if not out:
        return torch.zeros(0, 0)
    return torch.cat(out)


class ModelFeaturizer:
    """:class:`ie.api.Featurizer` over a backbone; ``id`` must change whenever the weights change."""

    def __init__(self, backbone: Any, *, id: str, image_size: int, device: str = "auto", batch_size: int = 256,
                 cache_dir: Path | None = None, num_workers: int = 0, executor: Any = None, progress: bool = False):

        self.backbone, self.id, self.image_size = backbone, id, image_size
        self.device = choose_device(device)
        self.batch_size, self.num_workers = batch_size, num_workers
        self.executor = executor  # a remote one (Ray) featurizes batches on its workers
        self.cache_dir = Path(cache_dir) / re.sub(r"[^A-Za-z0-9._-]+", "_", id) if cache_dir else None
        self.transform = eval_transform(image_size)
        self._features: dict[str, torch.Tensor] = {}
        self._keys: dict[Path, str] = {}
        self._loaded = False
        self.computed = 0  # images run through the model by this object (tests and benchmarks read it)
        self.progress = progress  # a progress bar while features are computed

    def _load_disk_cache(self) -> None:
        import torch

        self._loaded = True
        if self.cache_dir is None or not self.cache_dir.is_dir():
            return
        for shard in sorted(self.cache_dir.glob("part-*.pt")):
            data = torch.load(shard, map_location="cpu", weights_only=True)
            self._features.update(zip(data["keys"], data["features"]))

    def _write_shard(self, keys: list[str], features: torch.Tensor) -> None:
        import torch

        assert self.cache_dir is not None
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        index = len(list(self.cache_dir.glob("part-*.pt")))
        path = self.cache_dir / f"part-{index:06d}-{os.getpid()}.pt"
        with atomic_write(path) as f:
            torch.save({"keys": keys, "features": features.clone()}, f)

    def _remote_features(self, paths: list[Path]) -> torch.Tensor:
        """One executor task per batch: the image bytes go out, the backbone once (a CPU copy), features back."""
        import copy

        import torch

        backbone = self.backbone if self.device == "cpu" else copy.deepcopy(self.backbone).cpu()
        batches = (
            [Path(p).read_bytes() for p in paths[i:i + self.batch_size]] for i in range(0, len(paths), self.batch_size)
        )
        return torch.cat(list(self.executor.map(featurize_blobs, batches, 4, context=(backbone, self.image_size))))

    def key(self, path: Path) -> str:
        path = Path(path)
        if path not in self._keys:
            self._keys[path] = image_key(path)
        return self._keys[path]

    def __call__(self, paths: Sequence[Path]) -> torch.Tensor:
        import torch

        if not self._loaded:
            self._load_disk_cache()
        keys = [self.key(p) for p in paths]
        todo: dict[str, Path] = {}
        for key, path in zip(keys, paths):
            if key not in self._features and key not in todo:
                todo[key] = Path(path)
        if todo:
            if self.executor is not None and self.executor.remote:
                feats = self._remote_features(list(todo.values()))
            else:
                from ie.progress import progress_bar

                with progress_bar(f"features ({self.id})", len(todo), enabled=self.progress) as bar:
                    feats = extract_features(self.backbone, list(todo.values()), self.transform, device=self.device,
                                             batch_size=self.batch_size, num_workers=self.num_workers,
                                             on_batch=bar.advance)
            new_keys = list(todo)
            self._features.update(zip(new_keys, feats))
            self.computed += len(new_keys)
            if self.cache_dir is not None:
                self._write_shard(new_keys, feats)
        if not keys:
            return torch.zeros(0, 0)
        return torch.stack([self._features[k] for k in keys])


def featurize_blobs(context: tuple[Any, int], blobs: Sequence[bytes]) -> torch.Tensor:
    """Features of encoded images under ``context = (backbone, image_size)``, as :class:`ModelFeaturizer`
    computes them (same transform, L2-normalised); on the worker's GPU when it has one."""
    import io

    import torch

    backbone, image_size = context
    device = choose_device("auto")
    module = backbone.to(device, memory_format=torch.channels_last)
    return extract_features(module, [io.BytesIO(b) for b in blobs], eval_transform(image_size), device=device,
                            batch_size=max(1, len(blobs)))
