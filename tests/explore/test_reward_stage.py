"""The reward stage's concept rewards: a query that found few images must not outrank one that found many good ones."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import pytest

from ie.api import DownloadOutcome, Hit, Outcome
from ie.config import ExploreConfig
from ie.loop.reward import RewardStage, accepts_missing
from ie.store import RunStore
from ie_plugins.rewards.knn import KNNReward


class NoFitReward(KNNReward):
    """The kNN reward's concept rule; the image rewards are already in the store, so nothing is featurized."""

    background: list[Path] = []

    def fit_target(self, target: Sequence[Path], featurizer: object, class_names: Sequence[str] = ()) -> None:
        pass

    def fit_background(self, images: Sequence[Path], featurizer: object) -> None:  # type: ignore[override]
        self.background = list(images)


class OldStyleReward(NoFitReward):
    """A plugin written before ``missing`` existed."""

    def concept_reward(self, image_rewards: Sequence[float]) -> float:  # type: ignore[override]
        return super().concept_reward(image_rewards)


def _run(tmp_path: Path, pad: bool, reward_fn: NoFitReward | None = None) -> dict[str, float]:
    """Four queries of iteration 0: one lucky image, twelve good ones, none, twelve poor ones."""
    store = RunStore.open(tmp_path / f"run-{pad}-{type(reward_fn).__name__}")
    plan = {"lucky": [0.9], "good": [0.6] * 12, "empty": [], "poor": [0.1] * 12}
    rewards: dict[str, float] = {}
    for name, values in plan.items():
        qid = store.add_query(0, f"c-{name}", name, "test")
        hits = [Hit(url=f"http://x/{name}/{i}.jpg", engine="test", query=name, rank=i) for i in range(len(values))]
        store.finish_query(qid, hits)
        for hit, value in zip(hits, values):
            outcome = DownloadOutcome(hit.url, Outcome.OK)
            image = store.add_image(hit.url.encode(), width=8, height=8, phash="0", iteration=0, outcome=outcome)
            rewards[image.sha256] = value
    store.add_image_rewards(0, rewards, "knn")
    reward_fn = reward_fn or NoFitReward()
    ctx = SimpleNamespace(store=store, reward_fn=reward_fn, config=ExploreConfig(pad_short_queries=pad, reward_background=1000),
                          model=SimpleNamespace(featurizer=lambda: None),
                          target=SimpleNamespace(train=[], val=[], class_names=[]))
    RewardStage().run(ctx, 0)  # type: ignore[arg-type]
    # the reward contrasts with the first iteration's images (here all 25, fewer than reward_background)
    assert sorted(reward_fn.background) == sorted(img.path for img in store.images(iteration=0))
    assert len(reward_fn.background) == 25
    names = {q["id"]: q["text"] for q in store.queries()}
    got = {names[r["query_id"]]: r["value"] for r in store.concept_rewards(0)}
    store.close()
    return got


def test_a_query_with_one_lucky_image_ranks_below_one_with_many_good_images(tmp_path: Path) -> None:
    got = _run(tmp_path, pad=True)
    # the 10th percentile of the iteration's 25 image rewards is 0.1: each missing slot counts 0.1
    assert got["lucky"] == pytest.approx((0.9 + 9 * 0.1) / 10)
    assert got["good"] == pytest.approx(0.6)
    assert got["empty"] == pytest.approx(0.1) and got["poor"] == pytest.approx(0.1)
    assert got["good"] > got["lucky"] > got["empty"]


def test_without_padding_the_mean_of_what_there_is_and_empty_queries_at_the_iterations_worst(tmp_path: Path) -> None:
    """The paper's rule, the default (also for runs stored before ``pad_short_queries`` existed and plugins that do not
    take ``missing``)."""
    for got in (_run(tmp_path, pad=False), _run(tmp_path, pad=True, reward_fn=OldStyleReward())):
        assert got["lucky"] == pytest.approx(0.9) and got["good"] == pytest.approx(0.6)
        assert got["empty"] == pytest.approx(0.1) == got["poor"]
    assert not accepts_missing(OldStyleReward()) and accepts_missing(NoFitReward())
    assert ExploreConfig.from_saved({}).pad_short_queries is False and ExploreConfig().pad_short_queries is False


def test_concept_reward_pads_missing_images_up_to_top_n() -> None:
    reward = KNNReward({"top_n": 4})
    assert reward.concept_reward([1.0, 0.5], missing=0.0) == pytest.approx(0.375)
    assert reward.concept_reward([], missing=-0.2) == pytest.approx(-0.2)
    assert reward.concept_reward([1.0, 0.5, 0.2, 0.1, 0.0], missing=-5.0) == pytest.approx(0.45)
    assert reward.concept_reward([1.0, 0.5]) == pytest.approx(0.75)


def test_the_background_is_a_fixed_sample_of_the_first_iteration_that_kept_images(tmp_path: Path) -> None:
    from ie.loop.reward import background_images

    store = RunStore.open(tmp_path / "run")
    for iteration, count in ((1, 30), (2, 10)):  # iteration 0 kept nothing
        for i in range(count):
            store.add_image(f"{iteration}-{i}".encode(), width=8, height=8, phash="0", iteration=iteration)
    ctx = SimpleNamespace(store=store, config=ExploreConfig(reward_background=12, seed=3))
    first = {img.path for img in store.images(iteration=1)}
    assert background_images(ctx, 0) == []  # type: ignore[arg-type]
    chosen = background_images(ctx, 1)  # type: ignore[arg-type]
    assert len(chosen) == 12 == len(set(chosen)) and set(chosen) <= first
    assert background_images(ctx, 2) == chosen  # type: ignore[arg-type]  # the same web in every later iteration
    ctx.config = ExploreConfig(reward_background=12, seed=4)
    assert background_images(ctx, 2) != chosen  # type: ignore[arg-type]  # seeded
    ctx.config = ExploreConfig(reward_background=100)
    assert set(background_images(ctx, 2)) == first  # type: ignore[arg-type]
    store.close()


def test_a_query_whose_downloads_failed_in_passing_is_not_scored(tmp_path: Path) -> None:
    """Throttled or timed-out downloads say nothing about the concept: that query gets no concept reward (the GP
    is not taught the concept is bad); one whose URLs are dead (404) does get the iteration's floor."""
    store = RunStore.open(tmp_path / "run")
    rewards: dict[str, float] = {}
    for name, status in (("good", None), ("throttled", 429), ("timeouts", 0), ("dead", 404)):
        qid = store.add_query(0, f"c-{name}", name, "test")
        hits = [Hit(url=f"http://x/{name}/{i}.jpg", engine="test", query=name, rank=i) for i in range(6)]
        store.finish_query(qid, hits)
        for i, hit in enumerate(hits):
            if status is None:
                image = store.add_image(hit.url.encode(), width=8, height=8, phash="0", iteration=0,
                                        outcome=DownloadOutcome(hit.url, Outcome.OK))
                rewards[image.sha256] = 0.5 + 0.01 * i
            elif status == 0:
                store.record_download(DownloadOutcome(hit.url, Outcome.TIMEOUT, "read timeout"), 0)
            else:
                store.record_download(DownloadOutcome(hit.url, Outcome.HTTP_ERROR, f"http_{status}", status), 0)
    store.add_image_rewards(0, rewards, "knn")
    ctx = SimpleNamespace(store=store, reward_fn=NoFitReward(), config=ExploreConfig(),
                          model=SimpleNamespace(featurizer=lambda: None),
                          target=SimpleNamespace(train=[], val=[], class_names=[]))
    info = RewardStage().run(ctx, 0)  # type: ignore[arg-type]
    names = {q["id"]: q["text"] for q in store.queries()}
    got = {names[r["query_id"]]: r["value"] for r in store.concept_rewards(0)}
    assert set(got) == {"good", "dead"} and info["unscored_transient"] == 2
    assert got["dead"] == min(got.values())  # the iteration's floor
    assert store.query_download_failures(next(i for i, n in names.items() if n == "throttled")) == (6, 6)
    store.close()
