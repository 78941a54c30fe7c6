"""SimSiam (Chen & He 2021): projector + predictor, negative cosine similarity with stop-gradient, SGD at
lr = 0.05 * batch / 256 with a cosine schedule. Heads, loss and views from lightly.

Data-parallel training needs no gather: the loss is a mean of per-sample terms (each image's two views only),
so DDP's average of the ranks' gradients over equal shards is the gradient of the global-batch loss.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ie.api import hookimpl
from ie_plugins.ssl._common import SSLPlugin, plugin_options, ssl_module

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from PIL import Image

DEFAULTS: dict[str, Any] = {
    "proj_hidden_dim": 2048,
    "out_dim": 2048,
    "pred_hidden_dim": 512,
    "optimizer": "sgd",
    "base_lr": 0.05,
    "weight_decay": 1e-4,
    "momentum_sgd": 0.9,
    "warmup_fraction": 0.0,
    "min_scale": 0.2,
}


def _build_model(backbone: torch.nn.Module, feature_dim: int, opts: Mapping[str, Any]) -> torch.nn.Module:
    from lightly.loss import NegativeCosineSimilarity
    from lightly.models.modules.heads import SimSiamPredictionHead, SimSiamProjectionHead

    class SimSiamModel(ssl_module()):  # type: ignore[misc]  # a base made on first use
        """backbone + projector + predictor; satisfies ie.api.SSLModel."""

        def __init__(self) -> None:
            super().__init__(backbone, opts)
            self.projection_head = SimSiamProjectionHead(feature_dim, int(opts["proj_hidden_dim"]), int(opts["out_dim"]))
            self.prediction_head = SimSiamPredictionHead(int(opts["out_dim"]), int(opts["pred_hidden_dim"]),
                                                         int(opts["out_dim"]))
            self.criterion = NegativeCosineSimilarity()

        def training_step(self, view_a: torch.Tensor, view_b: torch.Tensor, step: int, total_steps: int) -> torch.Tensor:
            z_a = self.projection_head(self.backbone(view_a))
            z_b = self.projection_head(self.backbone(view_b))
            p_a, p_b = self.prediction_head(z_a), self.prediction_head(z_b)
            return 0.5 * (self.criterion(p_a.float(), z_b.detach().float()) + self.criterion(p_b.float(), z_a.detach().float()))

    return SimSiamModel()


class SimSiam(SSLPlugin):
    """SimSiam; options (``[options.ssl.simsiam]``) override :data:`DEFAULTS`."""

    DEFAULTS = DEFAULTS
    OPTIONS = plugin_options(DEFAULTS)

    name = "simsiam"

    def build_model(self, backbone: torch.nn.Module, feature_dim: int) -> torch.nn.Module:
        return _build_model(backbone, feature_dim, self.opts)

    def views(self, image_size: int, min_scale: float) -> tuple[Callable[[Image.Image], torch.Tensor],
                                                                Callable[[Image.Image], torch.Tensor]]:
        from lightly.transforms.simsiam_transform import SimSiamViewTransform

        view = SimSiamViewTransform(input_size=image_size, min_scale=min_scale)
        return view, view


@hookimpl
def ie_register_ssl_methods(register: Any) -> None:
    register("simsiam", SimSiam, help="SimSiam: stop-gradient siamese network, SGD")
