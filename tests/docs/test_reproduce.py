"""`ie reproduce`: the paper's configs, its Table 1 numbers, the exact command, a run's own numbers."""

from __future__ import annotations

from pathlib import Path
import pytest
from typer.testing import CliRunner

from ie.api import IEError
from ie.cli.app import app
from ie.cli.commands.reproduce import DATASETS, estimate
from ie.config import load_config
from ie.store import RunStore

REPO = Path(__file__).resolve().parents[2]

runner = CliRunner()


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_configs_hold_the_paper_settings(dataset):
    cfg = load_config(REPO / "examples" / "reproduce" / f"{dataset}.toml")
    assert (cfg.vocab, cfg.embedder, cfg.ssl, cfg.reward, cfg.arch) == ("wordnet", "minilm", "mocov3", "knn", "resnet50")
    assert (cfg.queries_per_iter, cfg.images_per_query, cfg.image_size, cfg.batch_size) == (256, 100, 224, 224)
    assert cfg.pcr == 2 and cfg.epochs == 10 and cfg.label_set and cfg.descriptors
    assert cfg.plugin_options("reward", "knn")["k"] == 15


def test_flowers_plan_prints_paper_numbers_and_command(monkeypatch):
    monkeypatch.chdir(REPO)
    result = runner.invoke(app, ["reproduce", "flowers102"])
    assert result.exit_code == 0, result.output
    for number in ("96.0", "95.3", "99.1"):
        assert number in result.stdout
    assert "ie explore --config examples/reproduce/flowers102.toml --run runs/flowers102" in result.stdout
    assert "flickr" in result.stdout and "2027-01-01" in result.stdout


def test_estimate_arithmetic():
    cfg = load_config(REPO / "examples" / "reproduce" / "flowers102.toml")
    rows = {name: value for name, value, _ in estimate(cfg)}
    assert rows["URLs per iteration"] == "25,600"
    assert rows["training samples per iteration"] == "460,800"


def test_run_numbers_are_shown_beside_the_paper(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    with RunStore.open(tmp_path / "run") as store:
        store.add_metrics(0, {"knn_top1": 0.5, "queries": 8})
        store.add_metrics(1, {"knn_top1": 0.875})
        store.set_state("baseline", {"start": {"knn_top1": 0.25}})
    result = runner.invoke(app, ["reproduce", "oxford_pets", "--run", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "88.4" in result.stdout and "87.5" in result.stdout and "25.0" in result.stdout
    assert "not recorded" in result.stdout  # no linear probe in the loop's metrics


def test_birdsnap_points_to_the_folder_target(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # configs are found in the source tree too
    result = runner.invoke(app, ["reproduce", "birdsnap"])
    assert result.exit_code == 0, result.output
    assert "no torchvision dataset" in result.stdout and "62.8" in result.stdout
    start = runner.invoke(app, ["reproduce", "birdsnap", "--start"])
    assert isinstance(start.exception, IEError) and "r-50-1000ep" in str(start.exception)
    assert not (tmp_path / "runs").exists()


def test_unknown_dataset_is_a_clear_error():
    result = runner.invoke(app, ["reproduce", "imagenet"])
    assert isinstance(result.exception, IEError) and "flowers102" in str(result.exception)
