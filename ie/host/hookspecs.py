"""The plugin kinds of internet-explorer, as pluggy hook specs (project name "ie").

Register-style, as in simonw/llm: each hook receives ``register(name, factory, help="")``. A factory
takes the options mapping of that plugin (``[options.engine.<name>]`` etc. in ``ie.toml``) and returns an
instance of the matching base class in :mod:`ie.api`.
"""

from __future__ import annotations

from typing import Any

import pluggy

from ie.api import PROJECT_NAME, Register

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec
def ie_register_engines(register: Register) -> None:
    """Register search engines (factories returning :class:`ie.api.SearchEngine`)."""


@hookspec
def ie_register_ssl_methods(register: Register) -> None:
    """Register self-supervised methods (:class:`ie.api.SSLMethod`)."""


@hookspec
def ie_register_rewards(register: Register) -> None:
    """Register reward functions (:class:`ie.api.RewardFunction`)."""


@hookspec
def ie_register_vocabularies(register: Register) -> None:
    """Register concept vocabularies (:class:`ie.api.Vocabulary`)."""


@hookspec
def ie_register_descriptors(register: Register) -> None:
    """Register descriptor providers (:class:`ie.api.DescriptorProvider`)."""


@hookspec
def ie_register_embedders(register: Register) -> None:
    """Register text embedders (:class:`ie.api.TextEmbedder`)."""


@hookspec
def ie_register_targets(register: Register) -> None:
    """Register target datasets (:class:`ie.api.TargetDataset` subclasses)."""


@hookspec
def ie_register_weights(register: Register) -> None:
    """Register named starts (:class:`ie.api.WeightsProvider`): pretrained weights for timm backbones."""


@hookspec
def ie_register_executors(register: Register) -> None:
    """Register executors (:class:`ie.api.Executor`)."""


@hookspec
def ie_register_observers(register: Register) -> None:
    """Register run observers (:class:`ie.api.RunObserver`); every registered observer sees every run."""


@hookspec
def ie_register_commands(cli: Any) -> None:
    """Add commands to the ``ie`` Typer app (``cli`` is the ``typer.Typer`` instance)."""
