"""Evaluation on a labeled target: kNN accuracy, linear probe, and the paper's CLIP oracle (incl. zero-shot).

- kNN: k = 20, cosine similarity, votes weighted by exp(sim / 0.07) (the InstDisc / DINO protocol).
- Linear probe: sklearn logistic regression on frozen standardised features; C picked on the val split
  (a deterministic 20% of train when the target has none), then refit on train + val and scored on test.
- CLIP oracle: ``evaluate_model("clip:RN50", ...)`` uses any open_clip model's image features for the same
  probes and adds zero-shot accuracy from the class names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ie.api import Featurizer, IEError, TargetData, choose_device, load_open_clip

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch

DEFAULT_CS = (0.01, 0.1, 1.0, 10.0, 100.0)
CLIP_PREFIX = "clip:"


def knn_accuracy(train_feats: torch.Tensor, train_labels: Sequence[int] | torch.Tensor, test_feats: torch.Tensor,
                 test_labels: Sequence[int] | torch.Tensor, k: int = 20, temperature: float = 0.07,
                 chunk_size: int = 1024) -> float:
    """Top-1 accuracy of temperature-weighted cosine kNN votes (features need not be normalised)."""
    import torch
    import torch.nn.functional as F

    train = F.normalize(torch.as_tensor(train_feats).float(), dim=1)
    test = F.normalize(torch.as_tensor(test_feats).float(), dim=1)
    y_train = torch.as_tensor(train_labels).long()
    y_test = torch.as_tensor(test_labels).long()
    if len(test) == 0:
        raise IEError("kNN accuracy needs test images")
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    k = min(k, len(train))
    correct = 0
    for start in range(0, len(test), chunk_size):
        sims, idx = (test[start:start + chunk_size] @ train.T).topk(k, dim=1)
        votes = torch.zeros(len(sims), num_classes)
        votes.scatter_add_(1, y_train[idx], (sims / temperature).exp())
        correct += int((votes.argmax(1) == y_test[start:start + chunk_size]).sum())
    return correct / len(test)


def _split_for_validation(n: int, labels: np.ndarray, fraction: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    rng = np.random.default_rng(0)
    order = rng.permutation(n)
    cut = max(1, int(round(n * fraction)))
    return order[cut:], order[:cut]


def linear_probe(train_feats: Any, train_labels: Sequence[int], test_feats: Any, test_labels: Sequence[int],
                 val_feats: Any = None, val_labels: Sequence[int] | None = None, Cs: Sequence[float] = DEFAULT_CS,
                 max_iter: int = 1000) -> float:
    """Test accuracy of a logistic regression on frozen features, C chosen on val then refit on train + val."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, y_train = np.asarray(train_feats, dtype=np.float32), np.asarray(train_labels)
    x_test, y_test = np.asarray(test_feats, dtype=np.float32), np.asarray(test_labels)
    if val_feats is None or val_labels is None or len(val_labels) == 0:
        fit_idx, val_idx = _split_for_validation(len(y_train), y_train)
        x_fit, y_fit, x_val, y_val = x_train[fit_idx], y_train[fit_idx], x_train[val_idx], y_train[val_idx]
        x_all, y_all = x_train, y_train
    else:
        x_fit, y_fit = x_train, y_train
        x_val, y_val = np.asarray(val_feats, dtype=np.float32), np.asarray(val_labels)
        x_all, y_all = np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val])

    def model(c: float) -> Any:
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))

    if len(np.unique(y_fit)) < 2:
        raise IEError("linear probe needs at least two classes in the training split")
    best_c = max(Cs, key=lambda c: (model(c).fit(x_fit, y_fit).score(x_val, y_val), -abs(np.log10(c))))
    return float(model(best_c).fit(x_all, y_all).score(x_test, y_test))


def _split_features(featurizer: Featurizer, target: TargetData) -> dict[str, tuple[torch.Tensor, list[int]]]:
    out = {}
    for split in ("train", "val", "test"):
        items = getattr(target, split)
        if items:
            out[split] = (featurizer([item.path for item in items]), [int(item.label) for item in items])
    return out


def evaluate_featurizer(featurizer: Featurizer, target: TargetData, k: int = 20, linear: bool = True,
                        Cs: Sequence[float] = DEFAULT_CS) -> dict[str, float]:
    """kNN and linear-probe accuracy of ``featurizer`` on ``target`` (train -> test; val for the C sweep)."""
    if not target.labeled:
        raise IEError(f"target {target.name!r} has no labels; evaluation needs a labeled target")
    feats = _split_features(featurizer, target)
    test_split = "test" if "test" in feats else "val" if "val" in feats else None
    if test_split is None:
        raise IEError(f"target {target.name!r} has neither a test nor a val split to evaluate on")
    (x_train, y_train), (x_test, y_test) = feats["train"], feats[test_split]
    result = {"knn_top1": knn_accuracy(x_train, y_train, x_test, y_test, k=k),
              "n_train": float(len(y_train)), "n_test": float(len(y_test))}
    if linear:
        val = feats.get("val") if test_split == "test" else None
        val_args = {"val_feats": val[0].numpy(), "val_labels": val[1]} if val else {}
        result["linear_top1"] = linear_probe(x_train.numpy(), y_train, x_test.numpy(), y_test, Cs=Cs, **val_args)
    return result


class ClipFeaturizer:
    """:class:`ie.api.Featurizer` over an open_clip image tower (normalised ``encode_image`` features)."""

    def __init__(self, model_name: str = "RN50", weights: str | None = "openai", *, device: str = "auto",
                 batch_size: int = 128, num_workers: int = 0):

        self.device = choose_device(device)
        self.model, self.preprocess, self.tokenizer = load_open_clip(model_name, weights, self.device)
        self.id = f"clip:{model_name}:{weights}"
        self.batch_size, self.num_workers = batch_size, num_workers
        self._cache: dict[Any, torch.Tensor] = {}

    def __call__(self, paths: Sequence[Any]) -> torch.Tensor:
        import torch

        from ie.learning.features import extract_features

        todo = list(dict.fromkeys(p for p in paths if p not in self._cache))
        if todo:
            feats = extract_features(self.model, todo, self.preprocess, device=self.device,
                                     batch_size=self.batch_size, num_workers=self.num_workers,
                                     encode=lambda m, x: m.encode_image(x))
            self._cache.update(zip(todo, feats))
        return torch.stack([self._cache[p] for p in paths]) if paths else torch.zeros(0, 0)

    def zero_shot_accuracy(self, feats: torch.Tensor, labels: Sequence[int], class_names: Sequence[str],
                           templates: str = "openai") -> float:
        """Accuracy of argmax image-text similarity over prompt-templated class names."""
        import torch
        from open_clip.zero_shot_classifier import build_zero_shot_classifier
        from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES, SIMPLE_IMAGENET_TEMPLATES

        names = [name.replace("_", " ") for name in class_names]
        chosen = OPENAI_IMAGENET_TEMPLATES if templates == "openai" else SIMPLE_IMAGENET_TEMPLATES
        weights = build_zero_shot_classifier(self.model, self.tokenizer, names, chosen, device=self.device)
        predictions = (feats.to(self.device) @ weights.float()).argmax(1).cpu()
        return float((predictions == torch.as_tensor(list(labels))).float().mean())


def evaluate_model(model: str, target: TargetData, *, clip_weights: str | None = "openai", device: str = "auto",
                   batch_size: int = 128, linear: bool = True, templates: str = "openai") -> dict[str, float]:
    """The CLIP oracle: ``model`` = ``"clip:<open_clip name>"``; kNN, linear probe and zero-shot accuracy
    (``templates``: ``"openai"``, CLIP's 80 ImageNet prompts, or ``"simple"``)."""
    if not model.startswith(CLIP_PREFIX):
        raise IEError(f"--model must be clip:<open_clip model name> (e.g. clip:RN50), not {model!r}")
    featurizer = ClipFeaturizer(model[len(CLIP_PREFIX):], clip_weights, device=device, batch_size=batch_size)
    result = evaluate_featurizer(featurizer, target, linear=linear)
    if target.class_names:
        split = target.test or target.val
        feats = featurizer([item.path for item in split])
        result["zero_shot_top1"] = featurizer.zero_shot_accuracy(feats, [int(i.label) for i in split],
                                                                 target.class_names, templates)
    return result
