"""Pieces the built-in SSL plugins share: a picklable two-view transform and the optimizer/schedule setup.

Imports only torch/lightly (inside functions) and ``ie.api``; plugins may not import ie's core modules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from PIL import Image


class TwoViews:
    """PIL image -> (view_a, view_b). A class, not a closure, so DataLoader workers can pickle it."""

    def __init__(self, view_a: Callable[[Image.Image], torch.Tensor], view_b: Callable[[Image.Image], torch.Tensor]):
        self.view_a, self.view_b = view_a, view_b

    def __call__(self, image: Image.Image) -> tuple[torch.Tensor, torch.Tensor]:
        image = image.convert("RGB")
        return self.view_a(image), self.view_b(image)


def parameter_groups(model: torch.nn.Module, weight_decay: float, lr: float,
                     backbone_lr_scale: float = 1.0) -> list[dict[str, Any]]:
    """Weight decay on weights only; biases and norm parameters (ndim == 1) get none. With lightly's LARS,
    wd == 0 also excludes them from layer-wise adaptation, as the MoCo-v3 / BYOL recipes do.

    ``backbone_lr_scale`` multiplies the learning rate of the backbone (``backbone.*``) against the heads: a
    pretrained backbone under freshly initialised heads keeps what it knows with a small scale (0 freezes it)."""
    groups: dict[tuple[bool, bool], list[Any]] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            groups.setdefault((name.startswith("backbone."), param.ndim <= 1), []).append(param)
    out = []
    for (in_backbone, no_decay), params in sorted(groups.items()):
        scale = backbone_lr_scale if in_backbone else 1.0
        if scale == 0:
            for param in params:
                param.requires_grad_(False)
            continue
        out.append({"params": params, "weight_decay": 0.0 if no_decay else weight_decay, "lr": lr * scale})
    return out


def apply_train_mode(model: torch.nn.Module, opts: Mapping[str, Any], mode: bool) -> None:
    """After ``model.train(mode)``: with option ``freeze_bn_stats``, the backbone's (and a momentum backbone's)
    batch-norm layers go back to eval mode, so training does not re-estimate their statistics."""
    if mode and opts.get("freeze_bn_stats", False):
        for name in ("backbone", "momentum_backbone"):
            if hasattr(model, name):
                keep_batch_norm_stats(getattr(model, name))


def keep_batch_norm_stats(module: torch.nn.Module) -> None:
    """Put every batch-norm layer of ``module`` in eval mode: its running statistics stay as they are.

    A pretrained backbone's statistics come from ImageNet-sized batches of un-augmented images; re-estimating them
    from small batches of heavily augmented crops moves every feature the kNN reward and evaluation read."""
    import torch

    for layer in module.modules():
        if isinstance(layer, torch.nn.modules.batchnorm._BatchNorm):
            layer.eval()


def build_optimizer(
    model: torch.nn.Module, options: Mapping[str, Any], defaults: Mapping[str, Any], batch_size: int, total_steps: int
) -> tuple[torch.optim.Optimizer, Any]:
    """Optimizer (``lars`` | ``sgd`` | ``adamw``) at lr = base_lr * batch_size / 256, cosine schedule with linear warmup."""
    import torch
    from lightly.utils.lars import LARS
    from lightly.utils.scheduler import CosineWarmupScheduler

    opts = {**defaults, **options}
    lr = float(opts["base_lr"]) * batch_size / 256
    groups = parameter_groups(model, float(opts["weight_decay"]), lr, float(opts.get("backbone_lr_scale", 1.0)))
    name = str(opts["optimizer"]).lower()
    if name == "lars":
        optimizer: torch.optim.Optimizer = LARS(groups, lr=lr, momentum=float(opts["momentum_sgd"]))
    elif name == "sgd":
        optimizer = torch.optim.SGD(groups, lr=lr, momentum=float(opts["momentum_sgd"]))
    elif name == "adamw":
        optimizer = torch.optim.AdamW(groups, lr=lr)
    else:
        raise ValueError(f"unknown optimizer {name!r}; use lars, sgd or adamw")
    warmup = int(round(float(opts["warmup_fraction"]) * total_steps))
    scheduler = CosineWarmupScheduler(optimizer, warmup_epochs=warmup, max_epochs=max(total_steps, 1),
                                      end_value=float(opts.get("final_lr_fraction", 0.0)))
    return optimizer, scheduler
