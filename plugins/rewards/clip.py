"""CLIP as the reward model (``clip``), the paper's seed alternative. Two modes:

- ``mode="images"`` (default): the kNN rule of the ``knn`` reward in open_clip image-embedding space;
- ``mode="labels"``: the best image-text similarity to the target's class names under prompt templates.

Options: ``model`` ("RN50", or "local-dir:/folder"), ``pretrained`` ("openai", a local checkpoint file, or
"random" for tests), ``k`` (15), ``top_n`` (10), ``templates`` ("openai" | "simple"), ``device``,
``batch_size``. The passed featurizer is not used: CLIP embeds the images itself (memoised per path).
Offline without a local file this raises :class:`ie.api.WeightsUnavailableError` saying how to pass one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ie.api import Featurizer, IEError, RewardFunction, choose_device, hookimpl, load_open_clip
from ie.api import Option

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch


class CLIPReward(RewardFunction):
    name = "clip"

    OPTIONS = RewardFunction.OPTIONS + (
        Option("mode", str, "images", "images (kNN to the target in CLIP space) | labels (zero-shot to the class names)"),
        Option("k", int, 15, "neighbours in the target set"),
        Option("batch_size", int, 64, "images per CLIP forward pass"),
        Option("device", str, "auto", "auto | cpu | cuda"),
        Option("model", str, "RN50", "open_clip architecture"),
        Option("pretrained", str, "openai", "a pretrained tag or a local checkpoint file"),
        Option("templates", str, "openai", "zero-shot prompt templates: openai | simple"),
    )

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options)
        self.mode = str(self.options["mode"])
        if self.mode not in ("images", "labels"):
            raise IEError(f"clip reward: mode must be 'images' or 'labels', not {self.mode!r}")
        self.k = int(self.options["k"])
        self.batch_size = int(self.options["batch_size"])
        self._model: Any = None
        self._device = "cpu"
        self.reference: torch.Tensor | None = None  # target image features, or class text embeddings
        self._memo: dict[Path, torch.Tensor] = {}

    def _load(self) -> None:

        if self._model is None:
            self._device = choose_device(str(self.options["device"]))
            self._model, self._preprocess, self._tokenizer = load_open_clip(
                str(self.options["model"]), self.options["pretrained"], self._device)

    def embed_images(self, paths: Sequence[Path]) -> torch.Tensor:
        """L2-normalised CLIP image embeddings (batched, no grad, memoised per path)."""
        import torch
        import torch.nn.functional as F
        from PIL import Image

        self._load()
        todo = list(dict.fromkeys(Path(p) for p in paths if Path(p) not in self._memo))
        with torch.inference_mode():
            for start in range(0, len(todo), self.batch_size):
                batch = todo[start:start + self.batch_size]
                images = []
                for path in batch:
                    with Image.open(path) as image:
                        images.append(self._preprocess(image.convert("RGB")))
                feats = F.normalize(self._model.encode_image(torch.stack(images).to(self._device)).float(), dim=1)
                self._memo.update(zip(batch, feats.cpu()))
        return torch.stack([self._memo[Path(p)] for p in paths])

    def fit_target(self, target: Sequence[Path], featurizer: Featurizer, class_names: Sequence[str] = ()) -> None:
        self._load()
        if self.mode == "labels":
            from open_clip.zero_shot_classifier import build_zero_shot_classifier
            from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES, SIMPLE_IMAGENET_TEMPLATES

            if not class_names:
                raise IEError("clip reward in mode 'labels' needs the target's class names (a labeled target)")
            templates = SIMPLE_IMAGENET_TEMPLATES if self.options["templates"] == "simple" else OPENAI_IMAGENET_TEMPLATES
            names = [n.replace("_", " ") for n in class_names]
            self.reference = build_zero_shot_classifier(self._model, self._tokenizer, names, templates,
                                                        device=self._device).T.float().cpu()
        else:
            if not target:
                raise IEError("clip reward: the target has no images")
            self.reference = self.embed_images(target)

    def score(self, images: Sequence[Path], featurizer: Featurizer) -> np.ndarray:
        import numpy as np

        from ie_plugins.rewards._knn import topk_mean_similarity

        if self.reference is None:
            raise IEError("clip reward: call fit_target() before score()")
        if not images:
            return np.zeros(0, dtype=np.float64)
        feats = self.embed_images(images)
        k = 1 if self.mode == "labels" else self.k  # labels: similarity to the best-matching class
        return topk_mean_similarity(feats, self.reference, k)


@hookimpl
def ie_register_rewards(register: Any) -> None:
    register("clip", CLIPReward, help="CLIP reward: kNN in CLIP image space, or similarity to the class names")
