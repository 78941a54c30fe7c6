"""The paper's reward (``knn``): an image's reward is the mean cosine similarity of its feature to its k = 15
nearest target features under the current model; a concept's reward is the mean of its query's top-10
image rewards. Options: ``k`` (15), ``top_n`` (10), ``chunk_size`` (4096), ``device`` ("cpu"), ``backend``
("torch" or "faiss"), ``center`` (False). Rewards are memoised per image until the next :meth:`fit_target` (new model), and the
featurizer caches features, so only new candidates are ever computed.

With background images (:meth:`KNNReward.fit_background`, which the run calls when ``reward_background`` is
on) the reward is contrasted with the web, by ``contrast``:

- ``"classifier"`` (default): the log-odds of a logistic regression that tells the target from the background
  (``_classifier.py``), a density ratio that weighs each feature by how much it sets the target apart. Start
  model, ROC AUC of relevant vs other images: simulated web 0.70-0.74 -> 0.80-0.83, clip-art web 0.85 -> 0.91.
- ``"knn"``: the kNN similarity to the target minus the similarity to the ``background_k`` (50) nearest
  background images (an image never counts itself), the correction for "hubs" that cross-domain retrieval makes
  (CSLS, Conneau et al. 2018); the ``background_drop`` most target-like share of the background is left out.
  Clip-art web 0.83 -> 0.92; on the simulated web it hurts after the first iterations.

Both answer what the plain kNN cannot: on the simulated web a striped shape on grass looks as much like a target
of striped shapes on a plain background as a relevant plain red striped one does, and on the clip-art web pies
outranked birds for an animals target (`benchmarks/reward_contrast.py`).

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
from ie_plugins.rewards._classifier import TargetVsWebClassifier

CONTRASTS = ("classifier", "knn")

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch


class KNNReward(RewardFunction):
    name = "knn"

    OPTIONS = RewardFunction.OPTIONS + (
        Option("k", int, 15, "neighbours in the target set (paper: 15)"),
        Option("chunk_size", int, 4096, "images scored per matrix product"),
        Option("device", str, "cpu", "where the similarity runs"),
        Option("backend", str, "torch", "torch | faiss"),
        Option("center", bool, False, "subtract the target mean before the cosine"),
        Option("background_k", int, 50, "neighbours among the background images, when the run gives them"),
        Option("background_drop", float, 0.25, "share of the background most similar to the target left out "
                                                "(contrast = knn)"),
        Option("contrast", str, "classifier", "with a background: classifier (target-vs-web log-odds) | knn"),
        Option("classifier_c", float, 1.0, "inverse regularisation of the target-vs-web logistic regression"),
        Option("seed", int, 0, "seed of the classifier's cross-fitting folds (the run's seed)"),
    )

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options)
        self.k = int(self.options["k"])
        self.chunk_size = int(self.options["chunk_size"])
        self.device = str(self.options["device"])
        self.backend = str(self.options["backend"])
        self.center = bool(self.options["center"])
        self._mean: torch.Tensor | None = None
        self.target_features: torch.Tensor | None = None
        self._featurizer_id: str | None = None
        self.background_k = int(self.options["background_k"])
        self.background_drop = float(self.options["background_drop"])
        self.contrast = str(self.options["contrast"])
        if self.contrast not in CONTRASTS:
            raise IEError(f"knn reward: contrast {self.contrast!r} is not one of {', '.join(CONTRASTS)}")
        self.classifier_c = float(self.options["classifier_c"])
        self.seed = int(self.options["seed"] or 0)
        self.background_features: torch.Tensor | None = None
        self.classifier: TargetVsWebClassifier | None = None
        self._background_index: dict[Path, int] = {}
        self._memo: dict[Path, float] = {}
        self.scored = 0  # images whose reward was computed (not memoised); tests read it

    def fit_target(self, target: Sequence[Path], featurizer: Featurizer, class_names: Sequence[str] = ()) -> None:
        if not target:
            raise IEError("knn reward: the target has no images")
        features = featurizer(list(target))
        if self.center:
            self._mean = features.mean(0, keepdim=True)
        self.target_features = self._prepare(features)
        self._featurizer_id = featurizer.id
        self.background_features, self.classifier, self._background_index = None, None, {}
        self._memo.clear()

    def fit_background(self, images: Sequence[Path], featurizer: Featurizer) -> None:
        """Contrast later rewards with these web images (after :meth:`fit_target`, same featurizer); fewer than
        two images leave the plain kNN reward."""
        if featurizer.id != self._featurizer_id:
            raise IEError("knn reward: fit_background() needs the featurizer of fit_target()")
        paths = list(dict.fromkeys(Path(p) for p in images))
        self.background_features, self.classifier, self._background_index = None, None, {}
        self._memo.clear()
        if len(paths) < 2:
            return
        import numpy as np
        import torch

        features = self._prepare(featurizer(paths))
        if self.contrast == "classifier":
            # every background image is a negative, target-like ones too: the balanced classifier tolerates the
            # few relevant ones a web sample holds, and leaving out the most target-like share would drop the
            # look-alikes (the target's traits in another context) that it most needs to learn from
            assert self.target_features is not None
            self.classifier = TargetVsWebClassifier(self.classifier_c, seed=self.seed).fit(
                self.target_features.double().numpy(), features.double().numpy())
            self._background_index = {p: i for i, p in enumerate(paths)}
            return
        # the web's own target-like images (the first iteration finds some) would cancel the reward of the very
        # images the run looks for: the background is the web minus its most target-like share
        similarity = self._target_similarity(features)
        keep = np.sort(np.argsort(similarity, kind="stable")[: max(2, round(len(paths) * (1 - self.background_drop)))])
        self.background_features = features[torch.as_tensor(keep, dtype=torch.long)]
        self._background_index = {paths[j]: i for i, j in enumerate(keep)}

    def _target_similarity(self, features: torch.Tensor) -> np.ndarray:
        """The paper's reward: mean similarity to the ``k`` nearest target features (features prepared)."""
        from ie_plugins.rewards._knn import topk_mean_similarity, topk_mean_similarity_faiss

        if self.backend == "faiss":
            return topk_mean_similarity_faiss(features, self.target_features, self.k)
        return topk_mean_similarity(features, self.target_features, self.k, self.chunk_size, self.device)

    def _prepare(self, features: torch.Tensor) -> torch.Tensor:
        if self._mean is None:
            return features
        import torch

        return torch.nn.functional.normalize(features - self._mean, dim=1)

    def rewards_for_features(self, features: torch.Tensor, paths: Sequence[Path] = ()) -> np.ndarray:
        """Rewards of already-computed (L2-normalised) candidate features; ``paths`` (same order) let a
        background image skip itself."""
        from ie_plugins.rewards._knn import topk_mean_similarity

        if self.target_features is None:
            raise IEError("knn reward: call fit_target() before score()")
        features = self._prepare(features)
        if self.classifier is not None:
            import numpy as np

            rows = np.array([self._background_index.get(Path(p), -1) for p in paths] if paths
                            else [-1] * len(features))
            return self.classifier.log_odds(features.double().numpy(), rows)
        rewards = self._target_similarity(features)
        if self.background_features is not None:
            own = [self._background_index.get(Path(p), -1) for p in paths] if paths else None
            rewards -= topk_mean_similarity(features, self.background_features, self.background_k,
                                            self.chunk_size, self.device, exclude=own)
        return rewards

    def score(self, images: Sequence[Path], featurizer: Featurizer) -> np.ndarray:
        import numpy as np

        if featurizer.id != self._featurizer_id:
            raise IEError(f"knn reward: fitted with featurizer {self._featurizer_id!r}, scoring with {featurizer.id!r}; "
                          f"call fit_target() again after the model changes")
        paths = [Path(p) for p in images]
        todo = list(dict.fromkeys(p for p in paths if p not in self._memo))
        if todo:
            self._memo.update(zip(todo, self.rewards_for_features(featurizer(todo), todo).tolist()))
            self.scored += len(todo)
        return np.array([self._memo[p] for p in paths], dtype=np.float64)


@hookimpl
def ie_register_rewards(register: Any) -> None:
    register("knn", KNNReward, help="mean cosine similarity to the k=15 nearest target images (the paper's reward)")
