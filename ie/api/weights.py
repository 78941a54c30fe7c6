"""Named starts: pretrained weights for timm backbones, provided by plugins (``ie_register_weights``).

A start is chosen by name (``init = "imagenet"``, ``--init imagenet``). A :class:`WeightsProvider` says which
(start, architecture) pairs it offers, whether each is installed here, and loads one into a timm model built with
``num_classes=0``. Providers whose weights ship in an installed package work offline; the core falls back to timm's
hub for ``imagenet`` only when no provider offers the architecture.

:func:`load_state_by_order` maps a state dict whose key names differ from timm's (another implementation of the
same network) onto a model by position, checking every tensor's shape.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ie.api.errors import IEError
from ie.api.options import with_defaults

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn


class WeightsProvider(ABC):
    """Base class of weights plugins. ``options`` is ``[options.weights.<name>]``."""

    name: ClassVar[str] = ""

    def __init__(self, options: Mapping[str, Any] | None = None):
        self.options = with_defaults(getattr(type(self), "OPTIONS", None), options)

    @abstractmethod
    def offers(self) -> list[tuple[str, str]]:
        """The (start, timm architecture) pairs this provider can load, e.g. ``("imagenet", "efficientnet_lite0")``."""

    def missing(self, start: str, arch: str) -> str | None:
        """``None`` when the weights of (start, arch) are installed here, else one line saying how to install them."""
        return None

    @abstractmethod
    def load(self, start: str, arch: str, model: nn.Module) -> str:
        """Load the weights into ``model`` (a timm ``arch`` with ``num_classes=0``); return a short description."""


def load_state_by_order(model: nn.Module, state: Mapping[str, torch.Tensor], *, source: str,
                        skip: Iterable[str] = ()) -> int:
    """Load ``state`` into ``model`` matching tensors by position, not by name; returns the number loaded.

    For a checkpoint of the same network written by another implementation (other key names, same order of
    parameters and buffers). Entries of ``state`` whose key starts with a prefix in ``skip`` (a classifier the
    backbone lacks) are dropped first. Raises :class:`IEError` naming the first pair whose shapes disagree, or
    when the counts differ.
    """
    skip = tuple(skip)
    source_items = [(k, v) for k, v in state.items() if not (skip and k.startswith(skip))]
    own = model.state_dict()
    if len(source_items) != len(own):
        raise IEError(f"{source}: {len(source_items)} tensors, but the model has {len(own)}; "
                      f"is it the same architecture?")
    mapped = {}
    for (own_key, own_value), (key, value) in zip(own.items(), source_items):
        if tuple(own_value.shape) != tuple(value.shape):
            raise IEError(f"{source}: tensor {key!r} {tuple(value.shape)} does not fit {own_key!r} "
                          f"{tuple(own_value.shape)} (first mismatch, matched by order); is it the same architecture?")
        mapped[own_key] = value
    model.load_state_dict(mapped, strict=True)
    return len(mapped)
