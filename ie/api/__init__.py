"""The public plugin API of internet-explorer: everything a plugin may import from ``ie``.

A plugin is a module with functions marked ``@hookimpl`` whose names are the hook specs in
``ie.host.hookspecs``. Register-style hooks receive a ``register(name, factory, help="")`` callable; the
factory takes the plugin's options mapping and returns an instance of the matching base class. Import
heavy libraries inside the factory, so ``ie --help`` and ``ie plugins`` stay fast::

    from ie.api import hookimpl

    @hookimpl
    def ie_register_engines(register):
        def make(options):
            from my_engine.client import MyEngine  # heavy import only when used
            return MyEngine(options)
        register("my-engine", make, help="Searches my archive")
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import pluggy

from ie.api.concepts import DescriptorProvider, TextEmbedder, Vocabulary
from ie.api.engines import SearchEngine, get_secret, require_secrets
from ie.api.files import atomic_write, cache_dir, write_atomic
from ie.api.health import HealthCheck, Quota, secrets_detail
from ie.api.options import HOST_KEYS, Option, check_options, nearest, options_from_defaults, with_defaults
from ie.api.errors import (
    AuthError,
    DuplicatePluginError,
    EngineError,
    EngineUnavailableError,
    IEError,
    JobFailedError,
    MalformedResponseError,
    MissingCredentialsError,
    PluginError,
    QuotaExceededError,
    TransientEngineError,
    RateLimitedError,
    UnknownPluginError,
    WeightsUnavailableError,
)
from ie.api.learning import Featurizer, RewardFunction, SSLMethod, SSLModel, clip_text_features, load_open_clip
from ie.api.ratelimit import RateLimiter, TokenBucket
from ie.api.runtime import Executor, RunObserver, TargetDataset, choose_device
from ie.api.types import (
    Concept,
    DownloadOutcome,
    Hit,
    ImageRecord,
    LabeledImage,
    Outcome,
    Query,
    RetryPolicy,
    EVENT_KINDS,
    EventKind,
    RunEvent,
    SearchPage,
    TargetData,
)
from ie.api.weights import WeightsProvider, load_state_by_order

PROJECT_NAME = "ie"
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class Register(Protocol):
    """The callable register-style hooks receive."""

    def __call__(self, name: str, factory: Callable[..., Any], *, help: str = "",
                 options: Sequence[Option] | None = None) -> None: ...


__all__ = [
    "AuthError", "TransientEngineError", "Concept", "HOST_KEYS", "HealthCheck", "Quota", "secrets_detail", "Option", "check_options", "nearest", "options_from_defaults", "with_defaults", "DescriptorProvider", "DownloadOutcome", "DuplicatePluginError", "EngineError",
    "EngineUnavailableError", "Executor", "Featurizer", "Hit", "IEError", "ImageRecord", "JobFailedError", "LabeledImage",
    "MalformedResponseError", "MissingCredentialsError", "Outcome", "PROJECT_NAME", "PluginError", "Query",
    "QuotaExceededError", "RateLimitedError", "RetryPolicy", "RateLimiter", "Register", "RewardFunction", "RunEvent", "EventKind", "EVENT_KINDS", "RunObserver",
    "SSLMethod", "SSLModel", "SearchEngine", "SearchPage", "TargetData", "TargetDataset", "TextEmbedder",
    "TokenBucket", "UnknownPluginError", "atomic_write", "cache_dir", "choose_device", "clip_text_features", "load_open_clip", "write_atomic", "Vocabulary", "WeightsProvider", "WeightsUnavailableError", "get_secret",
    "hookimpl", "load_state_by_order", "require_secrets",
]
