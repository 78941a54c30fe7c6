"""Reward plugins: kNN equals a float64 brute-force reference; CLIP runs with a random-init model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ie.api import Featurizer, IEError, WeightsUnavailableError
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


def test_knn_reward_with_background_is_target_similarity_minus_background_similarity_without_itself() -> None:
    targets, web = _table(20, 16, 0, "t"), _table(60, 16, 1, "w")
    featurizer = TableFeaturizer(targets | web)
    reward = KNNReward({"k": 5, "background_k": 7, "chunk_size": 16, "background_drop": 0.0, "contrast": "knn"})
    reward.fit_target(list(targets), featurizer)
    paths = list(web)
    plain = reward.score(paths, featurizer)
    background = paths[:40]  # the first 40 are background images, the last 20 are not
    reward.fit_background(background, featurizer)
    got = reward.score(paths, featurizer)

    c = np.stack([v.double().numpy() for v in web.values()])
    b = c[:40]
    sims = c @ b.T
    sims[np.arange(40), np.arange(40)] = -np.inf  # a background image never counts itself
    expected = plain - np.sort(sims, axis=1)[:, ::-1][:, :7].mean(axis=1)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert not np.allclose(got, plain)
    reward.fit_target(list(targets), featurizer)  # a new model: the background must be given again
    np.testing.assert_allclose(reward.score(paths, featurizer), plain, atol=1e-6)


def test_background_contrast_demotes_an_image_that_resembles_everything() -> None:
    """A hub (close to the target and to every web image) outranks a target-like image under plain kNN, not
    under the contrast."""
    gen = torch.Generator().manual_seed(0)
    target_dir, other_dir = torch.randn(32, generator=gen), torch.randn(32, generator=gen)
    def unit(v: torch.Tensor) -> torch.Tensor:
        return F.normalize(v, dim=0)
    noise = lambda: 0.3 * torch.randn(32, generator=gen)  # noqa: E731
    targets = {Path(f"t/{i}"): unit(target_dir + noise()) for i in range(20)}
    web = {Path(f"w/{i}"): unit(other_dir + noise()) for i in range(50)}
    hub, liked = Path("c/hub"), Path("c/liked")
    table = targets | web | {hub: unit(1.2 * target_dir + 1.2 * other_dir), liked: unit(target_dir + noise())}
    featurizer = TableFeaturizer(table)
    reward = KNNReward({"contrast": "knn"})
    reward.fit_target(list(targets), featurizer)
    plain = reward.score([hub, liked], featurizer)
    reward.fit_background(list(web), featurizer)
    contrasted = reward.score([hub, liked], featurizer)
    assert contrasted[1] > contrasted[0]
    assert plain[0] > 0.5 and contrasted[0] < plain[0] - 0.3


def test_the_most_target_like_share_of_the_background_is_left_out() -> None:
    """Target-like images in the background would cancel the reward of exactly the images a run looks for."""
    gen = torch.Generator().manual_seed(1)
    target_dir, other_dir = torch.randn(32, generator=gen), torch.randn(32, generator=gen)
    def near(direction: torch.Tensor) -> torch.Tensor:
        return F.normalize(direction + 0.3 * torch.randn(32, generator=gen), dim=0)
    targets = {Path(f"t/{i}"): near(target_dir) for i in range(20)}
    web = {Path(f"w/{i}"): near(other_dir) for i in range(40)}
    found = {Path(f"f/{i}"): near(target_dir) for i in range(10)}  # what the first iteration found of the target
    featurizer = TableFeaturizer(targets | web | found)
    reward = KNNReward({"background_drop": 0.2, "background_k": 5, "contrast": "knn"})
    reward.fit_target(list(targets), featurizer)
    reward.fit_background(list(web) + list(found), featurizer)
    assert reward.background_features is not None and len(reward.background_features) == 40
    assert set(reward._background_index) == set(web)
    kept = reward.score(list(found), featurizer)
    unfiltered = KNNReward({"background_drop": 0.0, "background_k": 5, "contrast": "knn"})
    unfiltered.fit_target(list(targets), featurizer)
    unfiltered.fit_background(list(web) + list(found), featurizer)
    assert kept.min() > unfiltered.score(list(found), featurizer).max()


def _look_alike_world(seed: int) -> tuple[dict[Path, torch.Tensor], dict[Path, torch.Tensor], list[Path], list[Path]]:
    """Features = an 'object' direction (dominant) + a 'context' direction. The target: its object in context A.
    The web: context B, where the target's object is common (look-alikes)."""
    gen = torch.Generator().manual_seed(seed)
    obj, other_obj, new_obj, ctx_a, ctx_b = (F.normalize(torch.randn(64, generator=gen), dim=0) for _ in range(5))

    def image(o: torch.Tensor, c: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
        return F.normalize(1.5 * o + strength * 0.8 * c + 0.1 * torch.randn(64, generator=gen), dim=0)

    targets = {Path(f"t/{i}"): image(obj, ctx_a) for i in range(40)}
    web = {Path(f"w/{i}"): image(other_obj, ctx_b) for i in range(20)}
    web |= {Path(f"l/{i}"): image(obj, ctx_b) for i in range(60)}  # look-alikes: the object, the wrong context
    # scored: relevant images (a new object in the target's context) and further look-alikes
    relevant, look_alike = [Path(f"r/{i}") for i in range(10)], [Path(f"a/{i}") for i in range(10)]
    extra = {p: image(new_obj, ctx_a) for p in relevant} | {p: image(obj, ctx_b) for p in look_alike}
    return targets, web | extra, relevant, look_alike


@pytest.mark.parametrize("seed", range(5))
def test_classifier_contrast_ranks_the_target_context_above_look_alikes(seed: int) -> None:
    """What sets the target apart from the web (here its context: the web shows its object elsewhere, often)
    weighs more under the classifier than under the plain kNN, which the dominant object direction decides."""
    targets, table, relevant, look_alike = _look_alike_world(seed)
    featurizer = TableFeaturizer(targets | table)
    reward = KNNReward({"seed": seed})
    reward.fit_target(list(targets), featurizer)
    plain = reward.score(relevant + look_alike, featurizer)
    background = [p for p in table if p.parts[0] in ("w", "l")]
    reward.fit_background(background, featurizer)
    contrasted = reward.score(relevant + look_alike, featurizer)
    assert plain[10:].min() > plain[:10].max()  # the plain kNN prefers every look-alike (the object dominates)
    assert contrasted[:10].min() > contrasted[10:].max()


def test_classifier_contrast_scores_background_images_out_of_fold() -> None:
    """A background image is scored by the fold model that never saw it; other images by the mean of the folds."""
    from ie_plugins.rewards._classifier import TargetVsWebClassifier

    targets, web = _table(30, 16, 0, "t"), _table(50, 16, 1, "w")
    new = _table(5, 16, 2, "n")
    featurizer = TableFeaturizer(targets | web | new)
    reward = KNNReward({"seed": 3, "classifier_c": 0.5})
    reward.fit_target(list(targets), featurizer)
    reward.fit_background(list(web), featurizer)
    assert isinstance(reward.classifier, TargetVsWebClassifier) and len(reward.classifier.models) == 5
    got = reward.score(list(web) + list(new), featurizer)
    x_web = torch.stack(list(web.values())).double().numpy()
    x_new = torch.stack(list(new.values())).double().numpy()
    folds = reward.classifier.fold_of
    expected_web = [reward.classifier.models[folds[i]].decision_function(x_web[i:i + 1])[0] for i in range(50)]
    expected_new = np.mean([m.decision_function(x_new) for m in reward.classifier.models], axis=0)
    np.testing.assert_allclose(got, np.r_[expected_web, expected_new], rtol=1e-9, atol=1e-9)
    reward.fit_target(list(targets), featurizer)  # a new model: no classifier until a background is given again
    assert reward.classifier is None


def test_unknown_contrast_is_a_clear_error() -> None:
    with pytest.raises(IEError, match="contrast 'csls' is not one of classifier, knn"):
        KNNReward({"contrast": "csls"})
