"""An uncached vocabulary is embedded beside iteration 0 (part 13, "the first hour"): the run searches, downloads
and trains while the embedding runs at low priority, the GP waits for it only when it first fits, the draws are
those of a run whose embeddings were cached, and an embedding that fails stops the run with its error after
iteration 0's work was kept, for ``ie resume``."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from pathlib import Path

import pytest

from ie.api import RunEvent, RunObserver, cache_dir, hookimpl
from ie.loop.context import StopRequested
from ie.loop.driver import Explorer
from ie.store import RunStore
from ie.testing.configs import tiny_simweb_config
from ie_plugins.embedders.hashing import HashingEmbedder


class GatedHashing(HashingEmbedder):
    """The hashing embedder, whose first batch in the background waits until the search stage has finished."""

    name = "gated-hashing"
    gate = threading.Event()
    key = "unset"
    calls = 0
    fail_at: int | None = None
    opened_by: list[str] = []
    explorer: Explorer | None = None

    @property
    def cache_key(self) -> str:
        return f"gated-{GatedHashing.key}-{super().cache_key}"

    def embed(self, texts):  # noqa: ANN001, ANN201
        GatedHashing.calls += 1
        if GatedHashing.calls == 2:  # the first is the driver's probe, on its own thread
            # the batch ends at the gate; on the run's own thread (the GP asked before the background thread began)
            # also at a Ctrl-C, which is seen after the batch
            mine = threading.current_thread() is threading.main_thread()
            for _ in range(600):
                stopping = mine and GatedHashing.explorer is not None and GatedHashing.explorer._stop_reason
                if GatedHashing.gate.wait(0.1) or stopping:
                    break
            else:
                raise AssertionError("the embedding was needed before iteration 0 searched")
        if GatedHashing.calls == GatedHashing.fail_at:
            raise RuntimeError("the embedding model fell over")
        return super().embed(texts)

    @classmethod
    def reset(cls, fail_at: int | None = None, ctrl_c_after_train: bool = False) -> None:
        cls.gate, cls.key, cls.calls, cls.fail_at, cls.opened_by = threading.Event(), uuid.uuid4().hex, 0, fail_at, []
        cls.explorer = None
        OpenAfterSearch.ctrl_c_after_train = ctrl_c_after_train


class OpenAfterSearch(RunObserver):
    """Opens the gate when iteration 0's search is done, or (``ctrl_c_after_train``) sends a Ctrl-C once iteration
    0 has trained, while the gate stays shut, and opens it when the run has stopped."""

    name = "open-after-search"
    ctrl_c_after_train = False
    timer: threading.Timer | None = None

    def on_event(self, event: RunEvent) -> None:
        stage = event.data.get("stage") if event.kind == "stage_finished" else None
        if OpenAfterSearch.ctrl_c_after_train:
            if stage == "train":
                OpenAfterSearch.timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
                OpenAfterSearch.timer.start()
            if event.kind == "run_finished":
                GatedHashing.opened_by.append(f"run {event.data.get('status')}")
                GatedHashing.gate.set()
        elif stage == "search" and not GatedHashing.gate.is_set():
            GatedHashing.opened_by.append(f"search {event.iteration}")
            GatedHashing.gate.set()


@pytest.fixture
def gated(ie_register_plugin):  # noqa: ANN001, ANN201
    class Plugin:
        @hookimpl
        def ie_register_embedders(self, register):  # noqa: ANN001, ANN202
            register("gated-hashing", GatedHashing, help="hashing, gated")

        @hookimpl
        def ie_register_observers(self, register):  # noqa: ANN001, ANN202
            register("open-after-search", OpenAfterSearch, help="opens the gate")

    ie_register_plugin(Plugin(), name="gated-embedding")
    return GatedHashing


def _queries(run_dir: Path) -> list[list[str]]:
    store = RunStore.open_existing(run_dir)
    try:
        return [[q["concept_id"] for q in store.queries(iteration=i)] for i in range(2)]
    finally:
        store.close()


def test_iteration_zero_searches_while_the_vocabulary_is_embedded(gated, run_dir: Path, tmp_path: Path) -> None:
    gated.reset()
    config = tiny_simweb_config(embedder="gated-hashing", iterations=2)
    Explorer(config, run_dir, progress=False).run()
    assert gated.opened_by == ["search 0"]  # the embedding waited for iteration 0's search, and the run went on
    assert list((cache_dir("embeddings")).glob(f"*gated-{gated.key}*.npy"))  # finished and cached for every run
    calls = gated.calls
    cached = tmp_path / "cached"
    Explorer(config, cached, progress=False).run()
    assert gated.calls == calls  # served from the cache
    assert _queries(cached) == _queries(run_dir)  # the same draws as with the embeddings there from the start


def test_a_failed_background_embedding_stops_the_run_after_keeping_iteration_zero(gated, run_dir: Path) -> None:
    gated.reset(fail_at=2)
    gated.gate.set()
    config = tiny_simweb_config(embedder="gated-hashing", iterations=2)
    with pytest.raises(RuntimeError, match="the embedding model fell over"):
        Explorer(config, run_dir, progress=False).run()
    store = RunStore.open_existing(run_dir)
    try:
        # simweb knows which concepts are relevant: iteration 0's evaluate ranks them by the GP, and so waits first
        assert store.stage_done(0, "train") and not store.stage_done(0, "evaluate")
    finally:
        store.close()
    gated.fail_at = None
    Explorer.resume(run_dir, progress=False).run()  # the same run goes on and ends
    assert [len(q) for q in _queries(run_dir)] == [8, 8]


def test_ctrl_c_while_the_gp_waits_for_the_embedding_stops_the_run_at_once(gated, run_dir: Path) -> None:
    gated.reset(ctrl_c_after_train=True)  # the embedding never gets past its first batch until the run has stopped
    config = tiny_simweb_config(embedder="gated-hashing", iterations=2)
    explorer = gated.explorer = Explorer(config, run_dir, progress=False)
    try:
        with pytest.raises(StopRequested, match="Ctrl-C"):
            explorer.run()
    finally:  # a run that failed before the Ctrl-C must not leave it to hit pytest
        if OpenAfterSearch.timer is not None:
            OpenAfterSearch.timer.cancel()
        gated.gate.set()
    assert gated.opened_by == ["run stopped"]  # stopped while the embedding still waited, not after it
    assert explorer._embedding is None  # told to stop and joined
    store = RunStore.open_existing(run_dir)
    try:
        assert store.stage_done(0, "train") and not store.stage_done(0, "evaluate")
    finally:
        store.close()
    gated.reset()
    gated.gate.set()
    Explorer.resume(run_dir, progress=False).run()
    assert [len(q) for q in _queries(run_dir)] == [8, 8]
