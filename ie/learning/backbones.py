"""timm backbones (``num_classes=0``) with random, timm-pretrained or local-checkpoint initialisation.

``init`` values understood by :func:`create_backbone`:

- ``"auto"`` (the config's default): the ``imagenet`` start where an installed weights plugin offers one for the
  architecture (EfficientNet-Lite0/1/2 offline), else random (see :mod:`ie.learning.starts`);
- a start name such as ``"imagenet"``: a weights plugin's weights, or for ``imagenet`` timm's hub when none offers it;
- ``"random"``: random init (tests, from-scratch runs);
- ``"pretrained"`` / ``"timm"`` / ``"timm:<tag>"``: timm's hub weights (default tag or e.g. ``timm:a1_in1k``), online only;
- ``"checkpoint:<path>"`` or a bare path to an existing file: a local checkpoint in any of the formats of
  :func:`extract_backbone_state` (an ``ie train`` checkpoint, the official MoCo-v3 release, a timm/torchvision state dict).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ie.api import IEError, WeightsUnavailableError

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

    from ie.host.manager import PluginManager

log = logging.getLogger(__name__)

IE_CHECKPOINT_FORMAT = "ie-train-v1"
MOCOV3_PREFIXES = {"base": "module.base_encoder.", "momentum": "module.momentum_encoder."}
# the official MoCo-v3 ResNet keeps its projector MLP in the torchvision ``fc`` slot; a backbone has none.
MOCOV3_HEAD_PREFIXES = ("fc.", "head.")
_IMG_SIZE_FAMILIES = ("vit", "deit", "eva", "beit", "swin", "cait", "xcit", "levit", "pit", "mvitv2")


@dataclass
class LoadReport:
    """What loading a checkpoint into a backbone matched, and what it did not."""

    source_format: str
    loaded: int
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        def short(keys: list[str]) -> str:
            return ", ".join(keys[:8]) + (f", ... (+{len(keys) - 8})" if len(keys) > 8 else "") if keys else "none"

        return (
            f"loaded {self.loaded} tensors ({self.source_format}); missing: {short(self.missing)}; "
            f"unexpected: {short(self.unexpected)}"
        )


def create_backbone(arch: str, init: str = "random", image_size: int | None = None,
                    manager: PluginManager | None = None) -> tuple[nn.Module, int]:
    """A timm model without classifier (``num_classes=0``) and its feature dimension; ``manager`` holds the
    weights plugins that named starts come from (default: the process-wide one). The model's ``ie_start``
    attribute says what it was started from (``"random"`` for random init)."""
    import timm

    kwargs: dict[str, Any] = {"num_classes": 0}
    if image_size and arch.split(".")[0].startswith(_IMG_SIZE_FAMILIES):
        kwargs["img_size"] = image_size
    if not timm.is_model(arch.split(".")[0]):
        raise IEError(f"unknown timm architecture {arch!r}; see timm.list_models()")
    random_init = init in ("random", "", None)
    start = init
    if random_init:
        model = timm.create_model(arch, pretrained=False, **kwargs)
    elif ":" not in init and init not in ("pretrained", "timm") and not Path(init).expanduser().is_file():
        from ie.learning import starts

        model, description = starts.resolve(lambda hub: timm.create_model(arch, pretrained=hub, **kwargs), arch,
                                            init, manager)
        random_init, start = description.startswith("random"), description
    elif init in ("pretrained", "timm") or init.startswith("timm:"):
        name = f"{arch}.{init.split(':', 1)[1]}" if init.startswith("timm:") else arch
        try:
            model = timm.create_model(name, pretrained=True, **kwargs)
        except Exception as err:  # noqa: BLE001 - hub / offline errors all mean "no weights here"
            raise WeightsUnavailableError(
                f"could not fetch timm weights for {name!r} ({type(err).__name__}: {str(err)[:200]}). Offline? "
                f"Download them once elsewhere and pass the file: --init checkpoint:/path/to/model.safetensors "
                f"(or init='checkpoint:/path' in Python)."
            ) from err
    else:
        path = Path(init.split(":", 1)[1] if init.startswith("checkpoint:") else init).expanduser()
        if not path.is_file():
            raise WeightsUnavailableError(
                f"init {init!r}: no such checkpoint file {str(path)!r}; use 'random', 'timm[:tag]' or "
                f"'checkpoint:/path/to/weights' (.pth/.pt/.safetensors)"
            )
        model = timm.create_model(arch, pretrained=False, **kwargs)
        report = load_backbone_weights(model, path)
        log.info("init %s from %s: %s", arch, path, report)
    if random_init and image_size:
        _warn_if_final_map_is_one_pixel(model, arch, image_size)
    model.ie_start = "random" if random_init else start
    # pooled output width: head_hidden_size where a head adds a layer after pooling (MobileNetV3, LCNet)
    return model, int(getattr(model, "head_hidden_size", None) or model.num_features)


def network_stride(model: nn.Module) -> int | None:
    """The total downsampling of the last feature map (timm's ``feature_info``), if the model says."""
    info = getattr(model, "feature_info", None)
    try:
        return int(info[-1]["reduction"]) if info else None
    except (TypeError, KeyError, IndexError, ValueError):
        return None


_warned_small_maps: set[tuple[str, int]] = set()  # once per process and (arch, size), not per iteration


def _warn_if_final_map_is_one_pixel(model: nn.Module, arch: str, image_size: int) -> None:
    # Measured on simweb (6 colour classes, chance 0.167): random-init resnet18 kNN top-1 0.19 at 32 px, where
    # the final map is 1 x 1 (the stride-2 1 x 1 shortcuts of zero-initialised residual blocks pass on one
    # position), vs 0.80 at 64 px. The first iteration's rewards come from these features, so say so.
    stride = network_stride(model)
    if stride and image_size < 2 * stride and (arch, image_size) not in _warned_small_maps:
        _warned_small_maps.add((arch, image_size))
        log.warning("%s at %d px has a 1x1 final feature map (stride %d): features of a randomly initialised "
                    "model carry little of the image (resnet18 on simweb: chance-level kNN), so first-iteration "
                    "rewards are close to noise; use an image size of %d or more (image_size in ie.toml, or "
                    "--image-size)", arch, image_size, stride, 2 * stride)


def read_checkpoint(path: Path) -> Mapping[str, Any]:
    """Load a ``.pth``/``.pt``/``.safetensors`` file on CPU."""
    import torch

    if str(path).endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - bad pickle, truncated file, foreign format
        raise IEError(f"cannot read checkpoint {str(path)!r}: {type(err).__name__}: {err}") from err


def extract_backbone_state(obj: Mapping[str, Any], encoder: str = "base") -> tuple[dict[str, torch.Tensor], str]:
    """The backbone's tensors in timm key names, and the detected format.

    Formats: ``ie train`` checkpoints (``{"format": "ie-train-v1", "model": {"backbone.*": ...}}``); the
    official MoCo-v3 release (``state_dict`` keys ``module.base_encoder.*`` / ``module.momentum_encoder.*``;
    ``encoder`` picks which, its ``fc.*`` projector is dropped); wrapped or bare timm/torchvision state dicts.
    """
    if obj.get("format") == IE_CHECKPOINT_FORMAT:
        prefix = "momentum_backbone." if encoder == "momentum" else "backbone."
        model_state = obj["model"]
        state = {k[len(prefix):]: v for k, v in model_state.items() if k.startswith(prefix)}
        return state, IE_CHECKPOINT_FORMAT
    for wrapper in ("state_dict", "model", "model_state_dict"):
        inner = obj.get(wrapper)
        if isinstance(inner, Mapping) and inner:
            obj = inner
            break
    keys = list(obj)
    if any(k.startswith("module.base_encoder.") for k in keys):
        return mocov3_to_timm(obj, encoder), f"mocov3-official ({encoder} encoder)"
    state = {k.removeprefix("module.").removeprefix("backbone."): v for k, v in obj.items() if hasattr(v, "shape")}
    return state, "timm/torchvision state dict"


def mocov3_to_timm(state_dict: Mapping[str, Any], encoder: str = "base") -> dict[str, torch.Tensor]:
    """Map the official MoCo-v3 ResNet checkpoint onto timm ResNet keys (timm and torchvision share them)."""
    if encoder not in MOCOV3_PREFIXES:
        raise IEError(f"MoCo-v3 encoder must be one of {sorted(MOCOV3_PREFIXES)}, not {encoder!r}")
    prefix = MOCOV3_PREFIXES[encoder]
    mapped = {}
    for key, value in state_dict.items():
        if not key.startswith(prefix):
            continue  # the other encoder and module.predictor.*
        name = key[len(prefix):]
        if name.startswith(MOCOV3_HEAD_PREFIXES):
            continue
        mapped[name] = value
    return mapped


def load_backbone_weights(model: nn.Module, path: Path, encoder: str = "base") -> LoadReport:
    """Load a local checkpoint into ``model`` (non-strict) and report missing/unexpected keys.

    Raises :class:`ie.api.IEError` when nothing matches (wrong architecture or format) or shapes disagree.
    """
    state, source = extract_backbone_state(read_checkpoint(path), encoder)
    own = model.state_dict()
    mismatched = [k for k, v in state.items() if k in own and tuple(own[k].shape) != tuple(v.shape)]
    if mismatched:
        raise IEError(f"{path}: shape mismatch for {mismatched[:5]} ({source}); is --arch the checkpoint's architecture?")
    result = model.load_state_dict(state, strict=False)
    report = LoadReport(source, len(state) - len(result.unexpected_keys), list(result.missing_keys),
                        list(result.unexpected_keys))
    if report.loaded == 0:
        raise IEError(f"{path}: no tensor matches the backbone ({report}); is --arch the checkpoint's architecture?")
    if report.missing or report.unexpected:
        log.warning("%s: %s", path, report)
    return report
