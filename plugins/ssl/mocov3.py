"""MoCo-v3 (Chen, Xie, He 2021) as Internet Explorer trains it: any timm backbone, 3-layer BN projector
(4096 -> 256), 2-layer predictor, momentum encoder (0.9985, optional cosine schedule to 1), symmetric
InfoNCE at temperature 1.0, BYOL-style asymmetric views with RandomResizedCrop min area 0.2, LARS at
lr = 0.8 * batch / 256. Built from lightly's heads, transforms, LARS and momentum utilities.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ie.api import hookimpl
from ie_plugins.ssl._common import SSLPlugin, plugin_options, ssl_module

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from PIL import Image

DEFAULTS: dict[str, Any] = {
    "proj_hidden_dim": 4096,
    "out_dim": 256,
    "pred_hidden_dim": 4096,
    "temperature": 1.0,
    "momentum": 0.9985,
    "momentum_schedule": "constant",  # or "cosine": momentum -> 1.0 over the run
    "optimizer": "lars",
    "base_lr": 0.8,
    "weight_decay": 1.5e-6,
    "momentum_sgd": 0.9,
    "warmup_fraction": 0.1,
    "min_scale": 0.2,
}


def _contrastive_loss(q: torch.Tensor, k: torch.Tensor, temperature: float) -> torch.Tensor:
    """MoCo-v3's InfoNCE: queries against the keys of the other view, positives on the diagonal, scaled by 2T.

    Hand-written (5 lines) because lightly's NTXentLoss is SimCLR's form (within-view negatives, no
    query/key asymmetry), which is not the MoCo-v3 objective. Under data-parallel training (torch.distributed
    initialised) the keys of all ranks are gathered (lightly's ``gather``), as in the official code: each rank's
    queries meet the keys of the whole global batch, positives at ``arange(n) + rank * n``.
    """
    import torch
    import torch.nn.functional as F
    from lightly.utils import dist

    q, k = F.normalize(q.float(), dim=1), F.normalize(k.float(), dim=1)
    offset = 0
    if dist.world_size() > 1:  # keys carry no gradient (momentum encoder), so a plain gather is enough
        k, offset = torch.cat(dist.gather(k.contiguous()), dim=0), dist.rank() * q.shape[0]
    logits = q @ k.T / temperature
    labels = torch.arange(q.shape[0], device=q.device) + offset
    return F.cross_entropy(logits, labels) * (2 * temperature)


def _build_model(backbone: torch.nn.Module, feature_dim: int, opts: Mapping[str, Any]) -> torch.nn.Module:
    import torch
    from lightly.models.modules.heads import BYOLPredictionHead, MoCoProjectionHead
    from lightly.models.utils import deactivate_requires_grad, update_momentum
    from lightly.utils.scheduler import cosine_schedule

    class MoCoV3Model(ssl_module()):  # type: ignore[misc]  # a base made on first use
        """backbone + projector (+ predictor) and their momentum copies; satisfies ie.api.SSLModel."""

        def __init__(self) -> None:
            super().__init__(backbone, opts)
            self.projection_head = MoCoProjectionHead(
                feature_dim, int(opts["proj_hidden_dim"]), int(opts["out_dim"]), num_layers=3, batch_norm=True
            )
            self.prediction_head = BYOLPredictionHead(
                int(opts["out_dim"]), int(opts["pred_hidden_dim"]), int(opts["out_dim"])
            )
            self.momentum_backbone = copy.deepcopy(backbone)
            self.momentum_projection_head = copy.deepcopy(self.projection_head)
            deactivate_requires_grad(self.momentum_backbone)
            deactivate_requires_grad(self.momentum_projection_head)
            self.temperature = float(opts["temperature"])
            self.momentum = float(opts["momentum"])
            self.cosine_momentum = str(opts["momentum_schedule"]) == "cosine"

        def momentum_at(self, step: int, total_steps: int) -> float:
            if not self.cosine_momentum:
                return self.momentum
            return cosine_schedule(step, max(total_steps, 1), self.momentum, 1.0)

        def training_step(self, view_a: torch.Tensor, view_b: torch.Tensor, step: int, total_steps: int) -> torch.Tensor:
            q_a = self.prediction_head(self.projection_head(self.backbone(view_a)))
            q_b = self.prediction_head(self.projection_head(self.backbone(view_b)))
            with torch.no_grad():  # as the official code: move the keys' encoder first, then compute keys
                m = self.momentum_at(step, total_steps)
                update_momentum(self.backbone, self.momentum_backbone, m)
                update_momentum(self.projection_head, self.momentum_projection_head, m)
                k_a = self.momentum_projection_head(self.momentum_backbone(view_a))
                k_b = self.momentum_projection_head(self.momentum_backbone(view_b))
            return _contrastive_loss(q_a, k_b, self.temperature) + _contrastive_loss(q_b, k_a, self.temperature)

    return MoCoV3Model()


class MoCoV3(SSLPlugin):
    """MoCo-v3; options (``[options.ssl.mocov3]``) override :data:`DEFAULTS`."""

    DEFAULTS = DEFAULTS
    OPTIONS = plugin_options(DEFAULTS)

    name = "mocov3"

    def build_model(self, backbone: torch.nn.Module, feature_dim: int) -> torch.nn.Module:
        return _build_model(backbone, feature_dim, self.opts)

    def views(self, image_size: int, min_scale: float) -> tuple[Callable[[Image.Image], torch.Tensor],
                                                                Callable[[Image.Image], torch.Tensor]]:
        from lightly.transforms.byol_transform import BYOLView1Transform, BYOLView2Transform

        return (BYOLView1Transform(input_size=image_size, min_scale=min_scale),
                BYOLView2Transform(input_size=image_size, min_scale=min_scale))


@hookimpl
def ie_register_ssl_methods(register: Any) -> None:
    register("mocov3", MoCoV3, help="MoCo-v3 (the paper's method): momentum encoder, symmetric InfoNCE, LARS")
