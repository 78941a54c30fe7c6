"""SSL methods, reward functions and the featurizer they share. torch is imported only for type checking,
so importing the API stays cheap."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from ie.api.options import Option, with_defaults

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch
    from PIL import Image


@runtime_checkable
class Featurizer(Protocol):
    """Maps image files to L2-normalised features of the current model (batched, no grad, cached).

    ``id`` names the model checkpoint, so caches are keyed by (image sha256, featurizer id).
    """

    id: str

    def __call__(self, paths: Sequence[Path]) -> torch.Tensor: ...


class SSLModel(Protocol):
    """What an SSL method builds: an ``nn.Module`` with a ``backbone`` (a timm model, ``num_classes=0``)."""

    backbone: torch.nn.Module

    def training_step(self, view_a: torch.Tensor, view_b: torch.Tensor, step: int, total_steps: int) -> torch.Tensor:
        """Loss for one batch of two augmented views (also updates momentum encoders, if any)."""
        ...


class SSLMethod(ABC):
    """Base class of SSL-method plugins (MoCo-v3, SimSiam, ...). ``options`` is ``[options.ssl.<name>]``.

    :attr:`OPTIONS` are the keys the trainer itself may put into ``options`` (``finetune = "gentle"`` sets them,
    unless the user's table does): a typed plugin declares them with ``OPTIONS = SSLMethod.OPTIONS + (...)`` and
    honours them where it can (a method that ignores them trains every layer the same way)."""

    name: ClassVar[str] = ""
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("backbone_lr_scale", float, None, "backbone learning rate x this (default: 0.1 when fine-tuning "
                                                 "gently from a pretrained start, else 1.0)"),
        Option("freeze_bn_stats", bool, None, "keep the start model's batch-norm statistics (default: when "
                                              "fine-tuning gently)"),
    )

    def __init__(self, options: Mapping[str, Any] | None = None):
        self.options = with_defaults(getattr(type(self), "OPTIONS", None), options)

    @abstractmethod
    def build_model(self, backbone: torch.nn.Module, feature_dim: int) -> torch.nn.Module:
        """Wrap ``backbone`` with heads, loss and any momentum encoder; the result satisfies :class:`SSLModel`."""

    @abstractmethod
    def two_view_transform(self, image_size: int) -> Callable[[Image.Image], tuple[torch.Tensor, torch.Tensor]]:
        """PIL image -> two augmented tensors."""

    @abstractmethod
    def configure_optimizer(
        self, model: torch.nn.Module, batch_size: int, total_steps: int
    ) -> tuple[torch.optim.Optimizer, Any]:
        """Optimizer and LR scheduler (or None) for ``total_steps`` steps at ``batch_size``."""


class RewardFunction(ABC):
    """Base class of reward plugins: per-image rewards against the target, and a concept's reward. Typed plugins
    extend :attr:`OPTIONS`: ``OPTIONS = RewardFunction.OPTIONS + (...)``."""

    name: ClassVar[str] = ""
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("top_n", int, 10, "a concept's reward: mean of its top-n image rewards (paper: 10)"),
    )

    def __init__(self, options: Mapping[str, Any] | None = None):
        self.options = with_defaults(getattr(type(self), "OPTIONS", None), options)

    @abstractmethod
    def fit_target(self, target: Sequence[Path], featurizer: Featurizer, class_names: Sequence[str] = ()) -> None:
        """Prepare for scoring against the target images (called once per iteration: the model changes)."""

    @abstractmethod
    def score(self, images: Sequence[Path], featurizer: Featurizer) -> np.ndarray:
        """One reward per image, higher is more target-like."""

    def fit_background(self, images: Sequence[Path], featurizer: Featurizer) -> None:
        """Optional, called after :meth:`fit_target` when the run contrasts rewards (``reward_background``):
        images of the web at large, as a uniform draw of concepts found them. A reward that uses them scores
        how much more target-like an image is than the web's typical image; the default ignores them."""

    def concept_reward(self, image_rewards: Sequence[float], missing: float | None = None) -> float:
        """The paper's rule by default: mean of the top ``top_n`` (10) image rewards of a query. With ``missing``,
        a query that yielded fewer than ``top_n`` images counts each absent one at that value (an empty query
        scores ``missing``); without it, the mean is over the images there are."""
        top_n = int(self.options["top_n"])
        values = sorted((float(v) for v in image_rewards), reverse=True)[:top_n]
        if missing is not None:
            values += [float(missing)] * (top_n - len(values))
        return sum(values) / len(values) if values else 0.0


def load_open_clip(model_name: str = "RN50", weights: str | None = "openai", device: str = "cpu") -> tuple[Any, Any, Any]:
    """An open_clip model, its eval preprocessing and tokenizer, shared by the CLIP reward and the CLIP oracle.

    ``weights``: a pretrained tag (``"openai"``, needs the hub once), a local checkpoint file, or ``None`` /
    ``"random"`` for random init (tests). ``model_name`` may also be ``"local-dir:/path"`` (open_clip's own
    schema: config + weights in one folder). Offline failures become :class:`ie.api.WeightsUnavailableError`.
    """
    import open_clip  # heavy: only when a CLIP model is wanted

    from ie.api.errors import WeightsUnavailableError

    pretrained = None if weights in (None, "", "random", "none") or model_name.startswith("local-dir:") else weights
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=pretrained, device=device)
        tokenizer = open_clip.get_tokenizer(model_name)
    except Exception as err:  # noqa: BLE001 - hub/offline/file errors all mean "no weights here"
        raise WeightsUnavailableError(
            f"could not load open_clip model {model_name!r} with weights {pretrained!r} "
            f"({type(err).__name__}: {str(err)[:200]}). Offline? Download the checkpoint once elsewhere and pass its "
            f"path: `--clip-weights /path/to/{model_name}.pt` (CLI) or options pretrained='/path/to/file' "
            f"(or model='local-dir:/folder' holding open_clip_config.json + weights)."
        ) from err
    model.eval()
    return model, preprocess, tokenizer


def clip_text_features(model: Any, tokenizer: Any, texts: Sequence[str], device: str = "cpu",
                       batch_size: int = 256) -> Any:
    """L2-normalised CLIP text embeddings of ``texts`` (a float tensor on the CPU, one row per text): the one way
    the text embedder, the local engine's CLIP search and the CLIP reward embed text."""
    import torch

    out = []
    with torch.no_grad():
        for lo in range(0, len(texts), batch_size):
            tokens = tokenizer(list(texts[lo: lo + batch_size])).to(device)
            out.append(torch.nn.functional.normalize(model.encode_text(tokens).float(), dim=-1).cpu())
    return torch.cat(out) if out else torch.zeros(0, 0)
