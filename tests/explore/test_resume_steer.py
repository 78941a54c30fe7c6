"""`ie resume` may change runtime settings (device, iterations, budgets), never the run spec."""

from __future__ import annotations

import pytest

from ie.api import IEError
from ie.config import ExploreConfig
from ie.loop.driver import RUNTIME_FIELDS, Explorer, steer
from ie.store import RunStore


def test_runtime_fields_change_and_spec_fields_are_refused():
    config = ExploreConfig(iterations=2, device="cpu")
    steered = steer(config, {"device": "cuda", "iterations": 20, "max_hours": 1.5}, "runs/x")
    assert (steered.device, steered.iterations, steered.max_hours) == ("cuda", 20, 1.5)
    assert steered.target == config.target and steered.seed == config.seed
    with pytest.raises(IEError, match=r"seed cannot change on resume: it is part of the run spec .* \(it is 0\)"):
        steer(config, {"seed": 1}, "runs/x")
    with pytest.raises(IEError, match="unknown setting 'devise'"):
        steer(config, {"devise": "cuda"}, "runs/x")
    assert steer(config, {"target": config.target}, "runs/x") == config  # the same value is no change
    assert {"device", "iterations", "max_hours", "max_images"} <= RUNTIME_FIELDS


def test_resume_stores_the_new_runtime_settings(tmp_path):
    run = tmp_path / "run"
    from ie.loop.driver import StopRequested

    explorer = Explorer(ExploreConfig(iterations=1, max_hours=1e-9), run, progress=False)
    with pytest.raises(StopRequested):  # set up (the config is stored), then stopped by the budget
        explorer.run()
    explorer.store.close()
    resumed = Explorer.resume(run, runtime={"iterations": 3, "device": "cpu"}, progress=False)
    assert resumed.config.iterations == 3
    resumed.store.close()
    with RunStore.open(run) as store:
        assert store.get_state("config")["iterations"] == 3
    with pytest.raises(IEError, match="vocab cannot change on resume"):
        Explorer.resume(run, runtime={"vocab": "wordnet"}, progress=False)


def test_a_run_moves_to_another_ray_cluster_and_nothing_else_in_its_options_may_change(tmp_path):
    from ie.loop.driver import StopRequested, with_ray_address

    config = ExploreConfig(iterations=1, max_hours=1e-9, options={"concepts": {"brain": {"sigma_weight": 0.5}}})
    moved = with_ray_address(config, "10.0.0.7:6379")
    assert moved.executor == "ray" and moved.options["executor"]["ray"]["address"] == "10.0.0.7:6379"
    assert steer(config, {"options": moved.options}, "runs/x").options == moved.options
    changed = {**moved.options, "concepts": {"brain": {"temperature": 2.0}}}
    with pytest.raises(IEError, match=r"\[options.concepts\] cannot change on resume"):
        steer(config, {"options": changed}, "runs/x")

    run = tmp_path / "run"
    explorer = Explorer(config, run, progress=False)
    with pytest.raises(StopRequested):
        explorer.run()
    explorer.store.close()
    resumed = Explorer.resume(run, runtime={"ray_address": "10.0.0.7:6379"}, progress=False)
    assert resumed.config.executor == "ray"
    assert resumed.config.options["executor"]["ray"]["address"] == "10.0.0.7:6379"
    assert resumed.config.options["concepts"] == config.options["concepts"]
    resumed.store.close()
    with RunStore.open(run) as store:  # stored: the next `ie resume` goes on on that cluster too
        assert store.get_state("config")["options"]["executor"]["ray"]["address"] == "10.0.0.7:6379"
