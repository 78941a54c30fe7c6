"""SSL plugins and the trainer: learning happens, the momentum encoder moves, resume is exact."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ie.api import SSLMethod
from ie.learning.backbones import create_backbone
from ie.learning.train import Trainer, latest_checkpoint
from ie_plugins.ssl.mocov3 import MoCoV3
from ie_plugins.ssl.simsiam import SimSiam
from tests.learning.conftest import SMALL_MOCO, SMALL_SIMSIAM

METHODS = {"mocov3": (MoCoV3, SMALL_MOCO), "simsiam": (SimSiam, SMALL_SIMSIAM)}


def make(name: str, **extra: object) -> SSLMethod:
    cls, options = METHODS[name]
    return cls({**options, **extra})


@pytest.mark.parametrize("name", sorted(METHODS))
def test_a_few_steps_lower_the_loss_on_a_fixed_batch(name: str) -> None:
    torch.manual_seed(0)
    method = make(name)
    backbone, dim = create_backbone("resnet10t")
    model = method.build_model(backbone, dim)
    optimizer, scheduler = method.configure_optimizer(model, batch_size=8, total_steps=1000)
    images = torch.randn(8, 3, 32, 32)
    view_a, view_b = images + 0.1 * torch.randn_like(images), images + 0.1 * torch.randn_like(images)
    model.train()
    losses = []
    for step in range(8):
        loss = model.training_step(view_a, view_b, step, 1000)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    assert sum(losses[-3:]) / 3 < losses[0] - 0.05, losses


def test_momentum_encoder_moves_towards_the_online_encoder() -> None:
    torch.manual_seed(0)
    backbone, dim = create_backbone("resnet10t")
    model = make("mocov3", momentum=0.9).build_model(backbone, dim)
    before = [p.detach().clone() for p in model.momentum_backbone.parameters()]
    assert all(not p.requires_grad for p in model.momentum_backbone.parameters())
    optimizer, _ = make("mocov3").configure_optimizer(model, 8, 10)
    x = torch.randn(8, 3, 32, 32)
    for step in range(2):
        loss = model.training_step(x, x.flip(3), step, 10)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = list(model.momentum_backbone.parameters())
    online = list(model.backbone.parameters())
    moved = sum(not torch.equal(a, b) for a, b in zip(after, before))
    assert moved > len(before) // 2
    assert any(not torch.equal(a, o) for a, o in zip(after, online))  # an EMA, not a copy


def test_cosine_momentum_schedule_ends_at_one() -> None:
    backbone, dim = create_backbone("resnet10t")
    model = make("mocov3", momentum_schedule="cosine").build_model(backbone, dim)
    assert model.momentum_at(0, 100) == pytest.approx(0.9985)
    assert model.momentum_at(99, 100) == pytest.approx(1.0)


def _trainer(method: SSLMethod, out: Path, **kw: object) -> Trainer:
    return Trainer(method, "resnet10t", image_size=32, batch_size=8, checkpoint_dir=out, **kw)


def test_checkpoint_then_resume_gives_identical_next_steps(tmp_path: Path, noise_images: list[Path]) -> None:
    reference = _trainer(make("mocov3"), tmp_path / "ck", checkpoint_every=2).fit(noise_images, 3)
    assert len(reference.losses) == 3
    (tmp_path / "ck" / "step-0000003.pt").unlink()  # as if killed after step 2's checkpoint
    assert latest_checkpoint(tmp_path / "ck").name == "step-0000002.pt"
    resumed = _trainer(make("mocov3"), tmp_path / "ck", seed=0).fit(noise_images, 3)
    assert resumed.resumed_from == 2
    assert resumed.losses == reference.losses  # steps 1-2 from the checkpoint, step 3 recomputed bit for bit

    state = torch.load(resumed.checkpoint, weights_only=True)
    assert {"model", "optimizer", "scheduler", "scaler", "rng", "step"} <= set(state)
    assert any(k.startswith("momentum_backbone.") for k in state["model"])
    again = _trainer(make("mocov3"), tmp_path / "ck").fit(noise_images, 3)  # nothing left to do
    assert again.steps == 3 and again.images_per_second == 0.0


def test_a_different_seed_gives_a_different_run(tmp_path: Path, noise_images: list[Path]) -> None:
    a = _trainer(make("simsiam"), tmp_path / "a", seed=0).fit(noise_images, 1)
    b = _trainer(make("simsiam"), tmp_path / "b", seed=1).fit(noise_images, 1)
    assert a.losses != b.losses  # so the equality above is not vacuous


def test_load_carries_the_whole_model_into_a_new_run(tmp_path: Path, noise_images: list[Path]) -> None:
    first = _trainer(make("simsiam"), tmp_path / "it0")
    result = first.fit(noise_images, 2)
    second = _trainer(make("simsiam"), tmp_path / "it1", seed=1)
    second.load(result.checkpoint)
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()):
        assert torch.equal(a, b)


def test_timm_state_dict_round_trips_through_timm(tmp_path: Path, noise_images: list[Path]) -> None:
    import timm

    trainer = _trainer(make("simsiam"), tmp_path / "ck")
    trainer.fit(noise_images, 1)
    path = trainer.save_timm_state_dict(tmp_path / "backbone.safetensors")
    model = timm.create_model("resnet10t", pretrained=True, num_classes=0, pretrained_cfg_overlay={"file": str(path)})
    for key, value in trainer.backbone.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_plugins_register_through_entry_points() -> None:
    from ie.host.manager import PluginManager

    pm = PluginManager()
    assert {"mocov3", "simsiam"} <= set(pm.registry("ssl").names())
    assert isinstance(pm.create("ssl", "mocov3", {}), MoCoV3)
    assert {"knn", "clip"} <= set(pm.registry("reward").names())
    assert {"folder", "flowers102", "cifar10"} <= set(pm.registry("target").names())


def test_dataloader_workers_do_not_change_the_run(tmp_path: Path, noise_images: list[Path]) -> None:
    serial = _trainer(make("simsiam"), tmp_path / "w0", num_workers=0).fit(noise_images, 2)
    parallel = _trainer(make("simsiam"), tmp_path / "w2", num_workers=2).fit(noise_images, 2)
    assert parallel.losses == serial.losses  # augmentation is seeded per sample, not per worker


@pytest.mark.parametrize("name", ["mocov3", "simsiam"])
def test_gentle_finetune_options_keep_bn_statistics_and_scale_the_backbone_lr(name):
    import torch

    from ie.host.manager import get_plugin_manager

    method = get_plugin_manager().create("ssl", name, {"freeze_bn_stats": True, "backbone_lr_scale": 0.1})
    backbone, dim = create_backbone("resnet10t")
    model = method.build_model(backbone, dim)
    optimizer, _ = method.configure_optimizer(model, 8, 10)
    backbone_ids = {id(p) for p in model.backbone.parameters()}
    lrs = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    head_lr = max(lrs.values())
    backbone_lrs = [lr for pid, lr in lrs.items() if pid in backbone_ids]
    assert backbone_lrs and all(lr == pytest.approx(head_lr * 0.1) for lr in backbone_lrs)
    before = {k: v.clone() for k, v in model.backbone.state_dict().items() if "running_" in k}
    model.train()
    x = torch.randn(8, 3, 32, 32)
    loss = model.training_step(x, x.flip(3), 0, 10)
    loss.backward()
    optimizer.step()
    after = model.backbone.state_dict()
    assert before and all(torch.equal(v, after[k]) for k, v in before.items())  # statistics kept
    # without the option the same step re-estimates them (the test can fail)
    plain = get_plugin_manager().create("ssl", name, {}).build_model(*create_backbone("resnet10t"))
    plain.train()
    start = {k: v.clone() for k, v in plain.backbone.state_dict().items() if "running_mean" in k}
    plain.training_step(x, x.flip(3), 0, 10)
    assert any(not torch.equal(v, plain.backbone.state_dict()[k]) for k, v in start.items())


@pytest.mark.parametrize("finetune", ["full", "gentle"])
def test_the_trainer_puts_only_declared_options_into_ssl_plugins(tmp_path: Path, finetune: str) -> None:
    """Every key of an SSL method's options once the trainer has it (the trainer adds GENTLE_FINETUNE's) is one
    the method's registration declares, for every typed SSL plugin: a new undeclared key fails here."""
    from ie.api import check_options
    from ie.host.manager import get_plugin_manager
    from ie.learning.train import FULL_FINETUNE, GENTLE_FINETUNE

    base = {o.name for o in SSLMethod.OPTIONS}
    assert set(GENTLE_FINETUNE) == set(FULL_FINETUNE) <= base
    registrations = [r for r in get_plugin_manager().registry("ssl") if r.options is not None]
    assert {"mocov3", "simsiam"} <= {r.name for r in registrations}
    for registration in registrations:
        declared = {o.name for o in registration.options}
        assert base <= declared, registration.name  # typed SSL plugins extend SSLMethod.OPTIONS
        given = dict(METHODS[registration.name][1]) if registration.name in METHODS else {}
        method = get_plugin_manager().create("ssl", registration.name, given)
        before = dict(method.options)
        assert {k: before[k] for k in GENTLE_FINETUNE} == dict.fromkeys(GENTLE_FINETUNE)  # unset: the mode decides
        _trainer(method, tmp_path / registration.name / finetune, finetune=finetune)
        changed = {k: v for k, v in method.options.items() if before.get(k, object()) != v}
        assert changed == (GENTLE_FINETUNE if finetune == "gentle" else FULL_FINETUNE), (registration.name, changed)
        assert set(method.options) <= declared, (registration.name, set(method.options) - declared)
        check_options("ssl", registration.name, registration.options, method.options)
