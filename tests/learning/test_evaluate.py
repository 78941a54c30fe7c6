"""Evaluation, feature caching, the CLIP oracle and the two commands."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import typer
from typer.testing import CliRunner

from ie.learning.backbones import create_backbone
from ie.learning.evaluate import evaluate_featurizer, evaluate_model, knn_accuracy, linear_probe
from ie.learning.features import ModelFeaturizer, image_key
from ie_plugins.targets.folder import FolderTarget


def test_knn_accuracy_and_linear_probe_on_toy_features() -> None:
    gen = torch.Generator().manual_seed(0)
    centers = torch.eye(4, 16) * 5
    labels = torch.arange(4).repeat(10)
    feats = centers[labels] + 0.3 * torch.randn(40, 16, generator=gen)
    assert knn_accuracy(feats[:30], labels[:30], feats[30:], labels[30:]) == 1.0
    shuffled = labels[torch.randperm(40, generator=gen)]
    assert knn_accuracy(feats[:30], shuffled[:30], feats[30:], labels[30:]) < 1.0
    assert linear_probe(feats[:30].numpy(), labels[:30], feats[30:].numpy(), labels[30:]) == 1.0


def test_evaluate_gives_full_knn_accuracy_on_a_separable_target(color_folder: Path, tmp_path: Path) -> None:
    target = FolderTarget({"name": str(color_folder)}).load()
    torch.manual_seed(0)
    backbone, dim = create_backbone("resnet10t")
    featurizer = ModelFeaturizer(backbone, id="r10t-random", image_size=32, cache_dir=tmp_path / "cache")
    result = evaluate_featurizer(featurizer, target)
    assert result["knn_top1"] == 1.0
    assert result["linear_top1"] >= 0.9
    assert featurizer.computed == 48

    same = ModelFeaturizer(backbone, id="r10t-random", image_size=32, cache_dir=tmp_path / "cache")
    paths = [i.path for i in target.test]
    cached = same(paths)
    assert same.computed == 0 and cached.shape == (len(paths), dim)
    torch.testing.assert_close(cached.norm(dim=1), torch.ones(len(paths)))
    torch.testing.assert_close(cached, featurizer(paths))
    other = ModelFeaturizer(backbone, id="another-checkpoint", image_size=32, cache_dir=tmp_path / "cache")
    other(paths[:2])
    assert other.computed == 2  # a new checkpoint id never reuses old features
    assert len(image_key(paths[0])) == 64


@pytest.mark.slow  # ~15 s on 2 shared cores: RN50 at 224 px plus its text tower
def test_clip_oracle_with_random_weights_reports_zero_shot(tmp_path: Path) -> None:
    import numpy as np

    from tests.learning.conftest import COLORS, write_image

    rng = np.random.default_rng(0)
    for split, n in (("train", 3), ("test", 1)):
        for name, rgb in COLORS.items():
            for i in range(n):
                write_image(tmp_path / split / name / f"{i}.png", rgb, rng)
    target = FolderTarget({"name": str(tmp_path)}).load()
    result = evaluate_model("clip:RN50", target, clip_weights="random", device="cpu", linear=False,
                            templates="simple")
    assert set(result) >= {"knn_top1", "zero_shot_top1"}
    assert 0.0 <= result["zero_shot_top1"] <= 1.0


def _app() -> typer.Typer:
    from ie.cli.commands import learning

    app = typer.Typer()
    learning.register(app)
    return app


def test_train_and_evaluate_commands(color_folder: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "run"
    args = ["train", str(color_folder), "--ssl", "simsiam", "--arch", "resnet10t", "--image-size", "32",
            "--batch-size", "8", "--steps", "2", "--out", str(out), "-o", "proj_hidden_dim=32", "-o", "out_dim=16",
            "-o", "pred_hidden_dim=8"]
    result = runner.invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert (out / "step-0000002.pt").is_file() and (out / "backbone.safetensors").is_file()
    refused = runner.invoke(_app(), args)
    # the app raises the user error; `ie`'s entry point prints it in one line with exit 2
    assert refused.exit_code == 1 and "--resume" in str(refused.exception)

    result = runner.invoke(_app(), ["evaluate", "--target", str(color_folder), "--checkpoint",
                                    str(out / "step-0000002.pt"), "--cache-dir", str(tmp_path / "c"), "--json"])
    assert result.exit_code == 0, result.output
    assert '"knn_top1"' in result.output
    missing = runner.invoke(_app(), ["evaluate", "--target", str(color_folder), "--model", "clip:RN50",
                                     "--cache-dir", str(tmp_path / "c")])
    assert missing.exit_code == 1 and "--clip-weights" in missing.output


@pytest.mark.parametrize("spec", ["no_such_target"])
def test_unknown_target_is_a_clear_error(spec: str, tmp_path: Path) -> None:
    from ie.api import IEError
    from ie.cli.commands.learning import resolve_target

    with pytest.raises(IEError, match="no target plugin accepts"):
        resolve_target(spec, tmp_path)
