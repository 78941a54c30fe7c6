"""What the built-in SSL plugins share: :class:`SSLPlugin` (their defaults table, option schema, two-view transform
and optimizer/schedule), :func:`ssl_module` (the ``nn.Module`` their models derive from: backbone, forward, batch-norm
handling), a picklable two-view transform and the optimizer/schedule setup. A plugin module holds only its method:
heads, loss (and momentum encoder), views and defaults.

Imports only torch/lightly (inside functions) and ``ie.api``; plugins may not import ie's core modules.
"""

from __future__ import annotations

import functools
from abc import abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ie.api import Option, SSLMethod, options_from_defaults

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from PIL import Image


def plugin_options(defaults: Mapping[str, Any]) -> tuple[Option, ...]:
    """A built-in SSL plugin's schema: the keys of its defaults table, the options every SSL method takes
    (:attr:`ie.api.SSLMethod.OPTIONS`, which the trainer sets for gentle fine-tuning) and ``final_lr_fraction``
    (read by :func:`build_optimizer`)."""
    return options_from_defaults(defaults) + SSLMethod.OPTIONS + (
        Option("final_lr_fraction", float, 0.0, "cosine schedule ends at base_lr x this"),
    )


class SSLPlugin(SSLMethod):
    """An SSL method whose options override its :attr:`DEFAULTS` table (``min_scale``, ``optimizer``, ``base_lr``,
    ``weight_decay``, ``momentum_sgd``, ``warmup_fraction`` at least). A subclass gives ``DEFAULTS``, ``OPTIONS =
    plugin_options(DEFAULTS)``, :meth:`build_model` (heads and loss on an :func:`ssl_module`) and :meth:`views`."""

    DEFAULTS: ClassVar[dict[str, Any]] = {}

    @property
    def opts(self) -> dict[str, Any]:
        """The options: :attr:`DEFAULTS` (declared as :attr:`OPTIONS`) with the user's and the trainer's over them."""
        return self.options

    @abstractmethod
    def views(self, image_size: int, min_scale: float) -> tuple[Callable[[Image.Image], torch.Tensor],
                                                                Callable[[Image.Image], torch.Tensor]]:
        """The two augmentations (RandomResizedCrop down to ``min_scale`` of the area), PIL image -> tensor."""

    def two_view_transform(self, image_size: int) -> Callable[[Image.Image], tuple[torch.Tensor, torch.Tensor]]:
        return TwoViews(*self.views(image_size, float(self.opts["min_scale"])))

    def configure_optimizer(
        self, model: torch.nn.Module, batch_size: int, total_steps: int
    ) -> tuple[torch.optim.Optimizer, Any]:
        return build_optimizer(model, self.opts, batch_size, total_steps)


def ssl_module() -> type[torch.nn.Module]:
    """The ``nn.Module`` base of the built-in SSL models (made on first use: torch is imported lazily).

    ``SSLModule(backbone, opts)`` holds ``backbone``; ``forward`` is the backbone's; ``train(True)`` with option
    ``freeze_bn_stats`` puts the backbone's (and a ``momentum_backbone``'s) batch-norm layers back in eval mode, so
    training does not re-estimate their statistics. A subclass adds its heads and ``training_step``."""
    return _ssl_module()


@functools.cache
def _ssl_module() -> type[torch.nn.Module]:
    import torch

    class SSLModule(torch.nn.Module):
        def __init__(self, backbone: torch.nn.Module, opts: Mapping[str, Any]) -> None:
            super().__init__()
            self.backbone = backbone
            self.freeze_bn_stats = bool(opts["freeze_bn_stats"])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.backbone(x)

        def train(self, mode: bool = True) -> SSLModule:
            super().train(mode)
            if mode and self.freeze_bn_stats:
                for name in ("backbone", "momentum_backbone"):
                    if hasattr(self, name):
                        keep_batch_norm_stats(getattr(self, name))
            return self

    return SSLModule


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


def keep_batch_norm_stats(module: torch.nn.Module) -> None:
    """Put every batch-norm layer of ``module`` in eval mode: its running statistics stay as they are.

    A pretrained backbone's statistics come from ImageNet-sized batches of un-augmented images; re-estimating them
    from small batches of heavily augmented crops moves every feature the kNN reward and evaluation read."""
    import torch

    for layer in module.modules():
        if isinstance(layer, torch.nn.modules.batchnorm._BatchNorm):
            layer.eval()


def build_optimizer(
    model: torch.nn.Module, opts: Mapping[str, Any], batch_size: int, total_steps: int
) -> tuple[torch.optim.Optimizer, Any]:
    """Optimizer (``lars`` | ``sgd`` | ``adamw``) at lr = base_lr * batch_size / 256, cosine schedule with linear warmup.
    ``opts``: a plugin's defaults with its options over them (:attr:`SSLPlugin.opts`)."""
    import torch
    from lightly.utils.lars import LARS
    from lightly.utils.scheduler import CosineWarmupScheduler

    lr = float(opts["base_lr"]) * batch_size / 256
    groups = parameter_groups(model, float(opts["weight_decay"]), lr, float(1.0 if opts["backbone_lr_scale"] is None else opts["backbone_lr_scale"]))
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
                                      end_value=float(opts["final_lr_fraction"]))
    return optimizer, scheduler
