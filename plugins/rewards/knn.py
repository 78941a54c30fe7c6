"""The paper's reward (``knn``): an image's reward is the mean cosine similarity of its feature to its k = 15
nearest target features under the current model; a concept's reward is the mean of its query's top-10
image rewards. Options: ``k`` (15), ``top_n`` (10), ``chunk_size`` (4096), ``device`` ("cpu"), ``backend``
("torch" or "faiss"), ``center`` (False). Rewards are memoised per image until the next :meth:`fit_target` (new model), and the
featurizer caches features, so only new candidates are ever computed.

``center=True`` subtracts the target's mean feature from both sides before the cosine. For a trained model
(the paper starts from MoCo-v3 ImageNet weights) this changes little; for a random or barely trained
backbone, whose post-ReLU features share one dominant direction (every cosine is ~0.99), it is what makes
the rewards discriminate. The offline demo (random init) turns it on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ie.api import Featurizer, IEError, RewardFunction, hookimpl
from ie.api import Option

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch


class KNNReward(RewardFunction):
    name = "knn"

    OPTIONS = (
        Option("k", int, 15, "neighbours in the target set (paper: 15)"),
        Option("chunk_size", int, 4096, "images scored per matrix product"),
        Option("device", str, "cpu", "where the similarity runs"),
        Option("backend", str, "torch", "torch | faiss"),
        Option("center", bool, False, "subtract the target mean before the cosine"),
        Option("top_n", int, 10, "a concept's reward: mean of its top-n image rewards"),
    )

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options)
        self.k = int(self.options.get("k", 15))
        self.chunk_size = int(self.options.get("chunk_size", 4096))
        self.device = str(self.options.get("device", "cpu"))
        self.backend = str(self.options.get("backend", "torch"))
        self.center = bool(self.options.get("center", False))
        self._mean: torch.Tensor | None = None
        self.target_features: torch.Tensor | None = None
        self._featurizer_id: str | None = None
        self._memo: dict[Path, float] = {}
        self.scored = 0  # images whose reward was computed (not memoised); tests read it

    def fit_target(self, target: Sequence[Path], featurizer: Featurizer, class_names: Sequence[str] = ()) -> None:
        if not target:
            raise IEError("knn reward: the target has no images")
        features = featurizer(list(target))
        if self.center:
            import torch

            self._mean = features.mean(0, keepdim=True)
            features = torch.nn.functional.normalize(features - self._mean, dim=1)
        self.target_features = features
        self._featurizer_id = featurizer.id
        self._memo.clear()

    def rewards_for_features(self, features: torch.Tensor) -> np.ndarray:
        """Rewards of already-computed (L2-normalised) candidate features."""
        from ie_plugins.rewards._knn import topk_mean_similarity, topk_mean_similarity_faiss

        if self.target_features is None:
            raise IEError("knn reward: call fit_target() before score()")
        if self._mean is not None:
            import torch

            features = torch.nn.functional.normalize(features - self._mean, dim=1)
        if self.backend == "faiss":
            return topk_mean_similarity_faiss(features, self.target_features, self.k)
        return topk_mean_similarity(features, self.target_features, self.k, self.chunk_size, self.device)

    def score(self, images: Sequence[Path], featurizer: Featurizer) -> np.ndarray:
        import numpy as np

        if featurizer.id != self._featurizer_id:
            raise IEError(f"knn reward: fitted with featurizer {self._featurizer_id!r}, scoring with {featurizer.id!r}; "
                          f"call fit_target() again after the model changes")
        paths = [Path(p) for p in images]
        todo = list(dict.fromkeys(p for p in paths if p not in self._memo))
        if todo:
            self._memo.update(zip(todo, self.rewards_for_features(featurizer(todo)).tolist()))
            self.scored += len(todo)
        return np.array([self._memo[p] for p in paths], dtype=np.float64)


@hookimpl
def ie_register_rewards(register: Any) -> None:
    register("knn", KNNReward, help="mean cosine similarity to the k=15 nearest target images (the paper's reward)")
