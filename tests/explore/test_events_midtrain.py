"""Part 10 items 7 and 8: observers hear every event in order while the run is open; a kill -9 in the middle of
training redoes at most ``checkpoint_every`` steps on resume and ends with the store of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ie.api import IEError, RunEvent, RunObserver, hookimpl
from ie.loop.driver import PIPELINE, Explorer
from ie.store import RunStore
from ie.testing.configs import tiny_simweb_config


class Recorder(RunObserver):
    name = "recorder"
    heard: list[tuple[str, int | None, str | None]] = []
    closed_after: list[int] = []

    def on_event(self, event: RunEvent) -> None:
        # the store is open and answers while the observer hears the event
        store = RunStore.open_existing(event.run_dir)
        try:
            store.image_count()
        finally:
            store.close()
        Recorder.heard.append((event.kind, event.iteration, event.data.get("stage")))

    def close(self) -> None:
        Recorder.closed_after.append(len(Recorder.heard))


def expected_events(iterations: int) -> list[tuple[str, int | None, str | None]]:
    events: list[tuple[str, int | None, str | None]] = [("run_started", None, None)]
    for i in range(iterations):
        events.append(("iteration_started", i, None))
        for stage in PIPELINE:
            if stage.name == "download":
                events.append(("download_finished", i, None))
            if stage.name == "train":
                events.append(("checkpoint_saved", i, None))
            events.append(("stage_finished", i, stage.name))
        events.append(("iteration_finished", i, None))
    return events + [("run_finished", None, None)]


def test_observer_hears_every_event_in_order(run_dir: Path, ie_register_plugin) -> None:  # noqa: ANN001
    class Plugin:
        @hookimpl
        def ie_register_observers(self, register):  # noqa: ANN001, ANN202
            register("recorder", Recorder, help="records events")

    Recorder.heard, Recorder.closed_after = [], []
    ie_register_plugin(Plugin(), name="event-recorder")
    Explorer(tiny_simweb_config(iterations=2), run_dir, progress=False).run()
    assert Recorder.heard == expected_events(2)
    assert Recorder.closed_after == [len(Recorder.heard)]  # closed once, after run_finished


def _explore(run: Path, config: Path, fault: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, IE_FAULT=fault)
    cmd = [sys.executable, "-m", "ie", "explore", "--run", str(run), "--config", str(config)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


def _store_fingerprint(run: Path) -> dict[str, object]:
    store = RunStore.open_existing(run)
    try:
        return {"queries": sorted((q["engine"], q["text"], q["iteration"]) for q in store.queries()),
                "images": sorted(img.sha256 for img in store.images()),
                "train": [store.stage_info(i, "train")["steps"] for i in range(2)],
                "rewards": {sha: round(v, 5) for sha, v in store.image_rewards().items()}}
    finally:
        store.close()


@pytest.mark.slow
def test_kill9_mid_training_redoes_at_most_checkpoint_every_steps(tmp_path: Path) -> None:
    every, steps = 2, 7
    cfg = tiny_simweb_config(max_steps_per_iter=steps, checkpoint_every=every, batch_size=8).to_dict()
    config = tmp_path / "ie.toml"
    config.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in cfg.items() if k != "options"))

    reference = tmp_path / "reference"
    assert _explore(reference, config).returncode == 0

    crashed = tmp_path / "crashed"
    killed = _explore(crashed, config, fault="train:0:step-5")  # after step 5 of 7; the newest checkpoint: step 4
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    steps_dir = crashed / "checkpoints" / "iter000"
    assert sorted(p.name for p in steps_dir.glob("step-*.pt"))[-1] == "step-0000004.pt"
    resumed = subprocess.run([sys.executable, "-m", "ie", "resume", str(crashed)], capture_output=True, text=True,
                             env=dict(os.environ, IE_FAULT=""), timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    store = RunStore.open_existing(crashed)
    try:
        info = store.stage_info(0, "train")
    finally:
        store.close()
    assert info["resumed_from"] == 4 and info["steps"] == steps
    assert 5 - info["resumed_from"] <= every  # steps done before the kill that were done again
    # iteration 1 searched, scored and trained from the resumed model: the same queries, images, rewards, weights
    assert _store_fingerprint(crashed) == _store_fingerprint(reference)
    import torch

    weights = [torch.load(run / "checkpoints" / "backbone_timm.pth", weights_only=True) for run in (reference, crashed)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.allclose(weights[0][k].float(), weights[1][k].float(), atol=1e-5) for k in weights[0])


def test_explore_that_obtains_nothing_fails_with_reasons_and_the_allow_host_hint(
        run_dir: Path, ie_register_plugin) -> None:  # noqa: ANN001
    """An engine whose every URL points at this machine (and does not say it serves private URLs): the SSRF guard
    refuses them all, so the run has no image; it fails after the first download, naming the reason and the fix."""
    from urllib.parse import quote

    from ie.api import Hit, JobFailedError, SearchEngine, SearchPage

    class Intranet(SearchEngine):
        name = "intranet"

        def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
            hits = [Hit(url=f"http://127.0.0.1:9/{quote(query)}/{i}.jpg", engine=self.name, query=query, rank=i)
                    for i in range(per_page)]
            return SearchPage(hits, has_more=False)

    class Plugin:
        @hookimpl
        def ie_register_engines(self, register):  # noqa: ANN001, ANN202
            register("intranet", Intranet, help="returns loopback URLs")

    ie_register_plugin(Plugin(), name="intranet-engine")
    # a real engine needs a real target (the simulated one is refused)
    config = tiny_simweb_config(engines=["intranet"], target=str(_folder_target(run_dir.parent)), vocab="labels")
    with pytest.raises(JobFailedError, match=r"iteration 0: none of the \d+ URLs gave an image \(blocked_loopback \d+\); "
                                      r"\d+ pointed at private or loopback addresses: allow a host you trust "
                                      r"with --allow-host"):
        Explorer(config, run_dir, progress=False).run()
    assert JobFailedError.exit_code == 1  # `ie explore` exits 1: a failed job, not a usage mistake
    store = RunStore.open_existing(run_dir)
    try:
        assert store.image_count() == 0 and not store.stage_done(0, "download")  # redone on resume
        assert store.outcome_counts() == {"blocked_private_address": store.query("SELECT COUNT(*) FROM downloads")[0][0]}
    finally:
        store.close()


def test_a_refused_key_stops_the_run_before_any_long_work(run_dir: Path, ie_register_plugin,  # noqa: ANN001
                                                           monkeypatch) -> None:
    """A keyed engine's first call is made before the target, vocabulary embedding or first iteration: a refused
    key ends the run there, in one line naming the engine; a passing outage is only reported."""
    from ie.api import AuthError, EngineUnavailableError, SearchEngine, SearchPage

    calls: list[str] = []

    class Keyed(SearchEngine):
        name = "keyed"
        SECRETS = ("KEYED_API_KEY",)
        failure: type[Exception] = AuthError

        def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
            calls.append(query)
            raise self.failure("keyed", "key refused (HTTP 401)")

    class Plugin:
        @hookimpl
        def ie_register_engines(self, register):  # noqa: ANN001, ANN202
            register("keyed", Keyed, help="refuses its key")

    ie_register_plugin(Plugin(), name="keyed-engine")
    import ie.loop.driver as driver

    def no_long_work(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("the target was loaded before the key was checked")

    monkeypatch.setattr(driver.Session, "load_target", no_long_work)
    config = tiny_simweb_config(engines=["keyed"], target=str(_folder_target(run_dir.parent)), vocab="labels")
    with pytest.raises(IEError, match=r"engine keyed refused the run.s first call: key refused \(HTTP 401\)"):
        Explorer(config, run_dir, progress=False).run()
    assert calls == ["photo"]
    Keyed.failure = EngineUnavailableError  # an outage: reported, the run goes on (here to the target, stubbed)
    with pytest.raises(AssertionError, match="the target was loaded"):
        Explorer(config, run_dir, progress=False).run()
    assert calls == ["photo", "photo"]


def _folder_target(parent: Path) -> Path:
    """A tiny labelled image folder (2 classes x 6 images) for runs on an engine of the real web."""
    from PIL import Image

    target = parent / "target"
    for label, colour in (("red", (200, 30, 30)), ("blue", (30, 30, 200))):
        (target / label).mkdir(parents=True, exist_ok=True)
        for i in range(6):
            Image.new("RGB", (32, 32), tuple(c + 4 * i for c in colour)).save(target / label / f"{i}.png")
    return target


def test_an_engine_stopped_in_an_earlier_session_is_back_when_it_answers(run_dir: Path) -> None:
    """`disabled_engines` is not for good: at every start each engine is asked once, and one that answers
    (its quota reset, its outage over) is used again; a spent quota at the start sits that engine out."""
    from ie.api import QuotaExceededError
    from ie.loop.driver import StopRequested

    config = tiny_simweb_config(iterations=1, max_hours=1e-9)
    explorer = Explorer(config, run_dir, progress=False)
    explorer.store.set_state("disabled_engines", {"simweb": "quota spent (HTTP 429, daily limit)"})
    with pytest.raises(StopRequested):  # set up (engines checked), then stopped by the time budget
        explorer.run()
    assert explorer.store.get_state("disabled_engines") == {}
    explorer.store.close()

    from ie_plugins.simweb.engine import SimWebEngine

    def spent(self) -> None:  # noqa: ANN001
        raise QuotaExceededError("simweb", "daily limit reached")

    SimWebEngine.check_access, original = spent, SimWebEngine.check_access
    try:
        with pytest.raises(IEError, match="no engine can answer: engine simweb: daily limit reached; `ie resume` "
                                          "goes on once the quota resets"):
            Explorer.resume(run_dir, progress=False).run()
    finally:
        SimWebEngine.check_access = original
