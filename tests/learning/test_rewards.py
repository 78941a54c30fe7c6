"""Reward plugins: kNN equals a float64 brute-force reference; CLIP runs with a random-init model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ie.api import Featurizer, WeightsUnavailableError
from ie_plugins.rewards.clip import CLIPReward
from ie_plugins.rewards.knn import KNNReward


class TableFeaturizer:
    """Features looked up by path (stands in for a model); counts what it is asked for."""

    def __init__(self, table: dict[Path, torch.Tensor], id: str = "table"):
        self.table, self.id, self.requested = table, id, 0

    def __call__(self, paths: Sequence[Path]) -> torch.Tensor:
        self.requested += len(paths)
        return torch.stack([self.table[Path(p)] for p in paths])


def _table(n: int, dim: int, seed: int, prefix: str) -> dict[Path, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    feats = F.normalize(torch.randn(n, dim, generator=gen), dim=1)
    return {Path(f"{prefix}/{i}.jpg"): feats[i] for i in range(n)}


@pytest.mark.parametrize("k,chunk", [(15, 7), (1, 1000), (50, 64)])
def test_knn_reward_equals_brute_force_float64(k: int, chunk: int) -> None:
    targets, candidates = _table(40, 32, 0, "t"), _table(101, 32, 1, "c")
    featurizer = TableFeaturizer(targets | candidates)
    assert isinstance(featurizer, Featurizer)
    reward = KNNReward({"k": k, "chunk_size": chunk})
    reward.fit_target(list(targets), featurizer)
    got = reward.score(list(candidates), featurizer)

    t = np.stack([v.double().numpy() for v in targets.values()])
    c = np.stack([v.double().numpy() for v in candidates.values()])
    sims = c @ t.T
    expected = np.sort(sims, axis=1)[:, ::-1][:, : min(k, len(t))].mean(axis=1)
    assert got.dtype == np.float64 and got.shape == (101,)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_knn_reward_scores_only_new_images_and_concept_reward_is_top10_mean() -> None:
    targets, candidates = _table(20, 16, 0, "t"), _table(30, 16, 1, "c")
    featurizer = TableFeaturizer(targets | candidates)
    reward = KNNReward()
    reward.fit_target(list(targets), featurizer)
    paths = list(candidates)
    first = reward.score(paths[:20], featurizer)
    requested = featurizer.requested
    both = reward.score(paths, featurizer)
    assert reward.scored == 30 and featurizer.requested == requested + 10  # only the 10 new ones
    np.testing.assert_array_equal(both[:20], first)
    assert reward.concept_reward(both) == pytest.approx(np.sort(both)[-10:].mean())
    with pytest.raises(Exception, match="fit_target"):
        reward.score(paths, TableFeaturizer(targets | candidates, id="another-model"))


def test_faiss_backend_matches_torch_when_installed() -> None:
    pytest.importorskip("faiss")
    targets, candidates = _table(30, 16, 0, "t"), _table(20, 16, 1, "c")
    featurizer = TableFeaturizer(targets | candidates)
    results = []
    for backend in ("torch", "faiss"):
        reward = KNNReward({"backend": backend})
        reward.fit_target(list(targets), featurizer)
        results.append(reward.score(list(candidates), featurizer))
    np.testing.assert_allclose(results[0], results[1], atol=1e-5)


def test_clip_reward_runs_with_random_init_open_clip(color_folder: Path) -> None:
    images = sorted(color_folder.rglob("*.png"))
    target, candidates = images[:6], images[6:9] + images[:1]
    reward = CLIPReward({"model": "RN50", "pretrained": "random", "k": 1, "device": "cpu"})
    reward.fit_target(target, featurizer=None, class_names=())
    scores = reward.score(candidates, featurizer=None)
    assert scores.shape == (4,) and np.isfinite(scores).all()
    assert scores[-1] == pytest.approx(1.0, abs=1e-4)  # a target image is its own nearest neighbour
    t = reward.embed_images(target).double().numpy()
    c = reward.embed_images(candidates).double().numpy()
    np.testing.assert_allclose(scores, (c @ t.T).max(axis=1), atol=1e-6)  # the kNN rule, in CLIP space

    labels = CLIPReward({"model": "RN50", "pretrained": "random", "mode": "labels", "templates": "simple"})
    labels._model, labels._preprocess, labels._tokenizer = reward._model, reward._preprocess, reward._tokenizer
    labels.fit_target([], featurizer=None, class_names=["red", "green_thing", "blue"])
    assert labels.reference.shape[0] == 3
    label_scores = labels.score(candidates, featurizer=None)
    assert label_scores.shape == (4,) and (np.abs(label_scores) <= 1.0 + 1e-6).all()


def test_clip_reward_offline_error_says_how_to_pass_weights() -> None:
    reward = CLIPReward({"model": "RN50", "pretrained": "openai"})
    with pytest.raises(WeightsUnavailableError, match="clip-weights"):
        reward.fit_target([Path("x.jpg")], featurizer=None)
