"""`make bench` runs every benchmark script or says why it leaves one out: a new script cannot be forgotten."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

RUN_ALL = Path(__file__).resolve().parents[2] / "benchmarks" / "run_all.py"


def _run_all():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("run_all", RUN_ALL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_benchmark_script_is_run_or_left_out_with_a_reason(tmp_path, monkeypatch):
    run_all = _run_all()
    run_all.check_complete()
    assert all(reason.strip() for reason in run_all.LEFT_OUT.values())
    (tmp_path / "new_benchmark.py").write_text("")  # a script nobody listed is refused before anything runs
    for name in run_all.BENCHMARKS + list(run_all.LEFT_OUT):
        (tmp_path / name).write_text("")
    monkeypatch.setattr(run_all, "HERE", tmp_path)
    with pytest.raises(SystemExit, match="in neither BENCHMARKS nor LEFT_OUT: new_benchmark.py"):
        run_all.check_complete()
