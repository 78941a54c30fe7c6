"""Backbone creation and checkpoint loading, incl. the official MoCo-v3 key layout."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ie.api import IEError, WeightsUnavailableError
from ie.learning.backbones import create_backbone, load_backbone_weights, mocov3_to_timm


def _official_mocov3_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """A synthetic checkpoint shaped like the official MoCo-v3 release (r-50-*.pth.tar), for resnet18."""
    base, _ = create_backbone("resnet18")
    momentum, _ = create_backbone("resnet18")
    base_state, momentum_state = base.state_dict(), momentum.state_dict()
    state = {f"module.base_encoder.{k}": v for k, v in base_state.items()}
    state |= {f"module.momentum_encoder.{k}": v for k, v in momentum_state.items()}
    for prefix in ("module.base_encoder.fc", "module.momentum_encoder.fc"):  # the projector lives in fc
        state[f"{prefix}.0.weight"] = torch.randn(4096, 512)
        state[f"{prefix}.1.running_mean"] = torch.zeros(4096)
    state["module.predictor.0.weight"] = torch.randn(4096, 256)
    torch.save({"epoch": 100, "arch": "resnet50", "state_dict": state, "optimizer": {}}, path)
    return base_state, momentum_state


def test_mocov3_official_keys_map_onto_timm(tmp_path: Path) -> None:
    path = tmp_path / "r-50-100ep.pth.tar"
    base_state, momentum_state = _official_mocov3_checkpoint(path)

    model, dim = create_backbone("resnet18", init=f"checkpoint:{path}")
    assert dim == 512
    for key, value in model.state_dict().items():
        assert torch.equal(value, base_state[key]), key

    fresh, _ = create_backbone("resnet18")
    report = load_backbone_weights(fresh, path, encoder="momentum")
    assert report.missing == [] and report.unexpected == []
    assert report.loaded == len(momentum_state)
    assert "mocov3-official" in report.source_format
    assert torch.equal(fresh.state_dict()["conv1.weight"], momentum_state["conv1.weight"])


def test_mocov3_mapping_drops_projector_and_predictor() -> None:
    state = {"module.base_encoder.conv1.weight": torch.ones(1), "module.base_encoder.fc.0.weight": torch.ones(1),
             "module.predictor.0.weight": torch.ones(1), "module.momentum_encoder.conv1.weight": torch.zeros(1)}
    assert list(mocov3_to_timm(state)) == ["conv1.weight"]
    assert torch.equal(mocov3_to_timm(state, "momentum")["conv1.weight"], torch.zeros(1))


def test_missing_keys_are_reported_and_wrong_arch_fails(tmp_path: Path) -> None:
    model, _ = create_backbone("resnet18")
    state = dict(model.state_dict())
    state.pop("layer4.1.bn2.weight")
    state["extra.weight"] = torch.ones(1)
    torch.save(state, tmp_path / "partial.pth")
    report = load_backbone_weights(create_backbone("resnet18")[0], tmp_path / "partial.pth")
    assert report.missing == ["layer4.1.bn2.weight"] and report.unexpected == ["extra.weight"]
    assert "layer4.1.bn2.weight" in str(report)
    with pytest.raises(IEError, match="shape mismatch|no tensor"):
        create_backbone("resnet50", init=str(tmp_path / "partial.pth"))


def test_offline_and_missing_weights_say_how_to_pass_a_file(tmp_path: Path) -> None:
    with pytest.raises(WeightsUnavailableError, match="checkpoint:"):
        create_backbone("resnet10t", init="timm")
    with pytest.raises(WeightsUnavailableError, match="no such checkpoint file"):
        create_backbone("resnet10t", init=f"checkpoint:{tmp_path / 'nope.pth'}")
    with pytest.raises(IEError, match="unknown timm architecture"):
        create_backbone("not_a_model")


@pytest.mark.parametrize("arch", ["resnet18", "mobilenetv3_small_050", "lcnet_050"])
def test_reported_feature_dim_is_the_pooled_output_width(arch: str) -> None:
    # MobileNetV3 / LCNet add a conv head after pooling: their output is head_hidden_size, not num_features
    model, dim = create_backbone(arch, image_size=64)
    with torch.no_grad():
        assert model.eval()(torch.zeros(2, 3, 64, 64)).shape == (2, dim)


def test_random_init_at_a_one_pixel_final_map_warns(caplog):
    import logging

    from ie.learning import backbones
    from ie.learning.backbones import create_backbone, network_stride

    backbones._warned_small_maps.clear()
    with caplog.at_level(logging.WARNING, logger="ie.learning.backbones"):
        model, _ = create_backbone("resnet18", "random", 32)
    assert network_stride(model) == 32
    assert "1x1 final feature map" in caplog.text and "image size of 64 or more" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ie.learning.backbones"):
        create_backbone("resnet18", "random", 64)
    assert "final feature map" not in caplog.text
