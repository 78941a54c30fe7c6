"""The offline ImageNet start is real: its features separate real labelled images (the clip-art of the `clipart`
target, both presets: 9 classes) far better than a random-init model's."""

from __future__ import annotations

import pytest
import torch

from ie.learning.backbones import create_backbone
from ie.learning.features import ModelFeaturizer
from ie.host.manager import get_plugin_manager


def leave_one_out_knn(features: torch.Tensor, labels: torch.Tensor, k: int = 10) -> float:
    """Top-1 of temperature-weighted cosine kNN votes, each image classified by all the others."""
    sims = features @ features.T
    sims.fill_diagonal_(-2.0)
    values, index = sims.topk(k, dim=1)
    votes = torch.zeros(len(features), int(labels.max()) + 1).scatter_add_(1, labels[index], (values / 0.07).exp())
    return float((votes.argmax(1) == labels).float().mean())


@pytest.fixture(scope="module")
def clipart_images(tmp_path_factory):
    paths, labels = [], []
    for preset in ("animals", "food"):
        data = get_plugin_manager().create("target", "clipart", {"name": f"clipart:{preset}"}).load()
        offset = int(max(labels)) + 1 if labels else 0
        for item in data.train + data.val + data.test:
            paths.append(item.path)
            labels.append(offset + int(item.label))
    return paths, torch.tensor(labels)


@pytest.mark.slow
def test_imagenet_features_separate_real_images_far_better_than_random_ones(clipart_images):
    paths, labels = clipart_images
    accuracy = {}
    for init in ("imagenet", "random"):
        torch.manual_seed(0)
        backbone, _ = create_backbone("efficientnet_lite0", init=init)
        features = ModelFeaturizer(backbone, id=init, image_size=96, device="cpu")(paths)
        accuracy[init] = leave_one_out_knn(features, labels)
    majority = float(torch.bincount(labels).max()) / len(labels)
    print(f"kNN leave-one-out on {len(paths)} clip-art images, 9 classes: {accuracy} (majority class {majority:.3f})")
    # measured here (96 px): imagenet 0.467, random init 0.224, majority class 0.220
    assert accuracy["imagenet"] >= accuracy["random"] + 0.2
    assert accuracy["imagenet"] >= 1.8 * majority


@pytest.mark.slow
def test_rewards_at_the_default_feature_size_rank_the_clipart_web_better_than_at_the_training_size():
    """Why ``feature_size`` defaults to 128 while training runs at 64 px: the start model's kNN reward tells the
    clip-art web's animal images (194) from the rest (a seeded sample of 600) far better at 128 px."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from ie.config import ExploreConfig

    manager = get_plugin_manager()
    target = manager.create("target", "clipart", {"name": "clipart:animals"}).load()
    engine = manager.create("engine", "clipart", {"target": "animals"})
    try:
        relevant, others = sorted(engine.relevant_files()), sorted(engine.other_files())
    finally:
        engine.close()
    others = [others[i] for i in np.random.default_rng(0).choice(len(others), 600, replace=False)]
    labels = np.array([1] * len(relevant) + [0] * len(others))
    torch.manual_seed(0)
    backbone, _ = create_backbone("efficientnet_lite0", init="imagenet")
    auc = {}
    training, scoring = ExploreConfig().image_size, ExploreConfig().feature_size
    for size in (training, scoring):
        featurizer = ModelFeaturizer(backbone, id=f"start-{size}", image_size=size, device="cpu")
        reward = manager.create("reward", "knn", {})
        reward.fit_target([x.path for x in target.train], featurizer, target.class_names)
        auc[size] = roc_auc_score(labels, reward.score(relevant + others, featurizer))
    print(f"reward ROC AUC on the clip-art web by feature size: {auc}")
    # measured here (1,500 others): 64 px 0.72, 128 px 0.85; with 64 px stored copies upscaled to 128: 0.83
    assert auc[scoring] >= auc[training] + 0.07
    assert auc[scoring] >= 0.8
