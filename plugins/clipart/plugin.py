"""Entry point of the clipart plugins (``ie_plugins.clipart.plugin``): target and engine "clipart".

Both share the options ``root`` (the openclipart png folder), ``cache_dir``, ``target_fraction`` and ``workers``;
the engine's ``target`` option names the preset (``animals`` or ``food``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ie.api import Option, Register, SearchEngine, hookimpl

SHARED_OPTIONS = (
    Option("root", str, None, "the openclipart png folder (default: IE_OPENCLIPART_DIR, then where make setup put it)"),
    Option("target_fraction", float, 0.5, "share of each class's images that form the target (the rest: the web)"),
    Option("workers", int, None, "processes converting PNGs on first use (default: the CPU count)"),
)
TARGET_OPTIONS = SHARED_OPTIONS + (Option("preset", str, "animals", "the class set: animals | food"),)
ENGINE_OPTIONS = SearchEngine.OPTIONS + SHARED_OPTIONS + (
    Option("target", str, None, "the preset whose target images are left out (default: the loaded target's)"),
    Option("relevance_depth", int, 16, "results per query counted when measuring relevant-query precision"),
    Option("host", str, None, "loopback host of the image server"),
    Option("port", int, None, "loopback port of the image server (default: a free one)"),
)


@hookimpl
def ie_register_targets(register: Register) -> None:
    def make(options: Mapping[str, Any]) -> Any:
        from ie_plugins.clipart.target import ClipartTarget

        return ClipartTarget(options)

    register("clipart", make, help="Public-domain clip art (openclipart-png): clipart[:animals|food]",
             options=TARGET_OPTIONS)


@hookimpl
def ie_register_engines(register: Register) -> None:
    def make(options: Mapping[str, Any]) -> Any:
        from ie_plugins.clipart.engine import ClipartEngine

        return ClipartEngine(options)

    register("clipart", make, help="BM25 over openclipart-png captions minus the target's images; known ground truth",
             options=ENGINE_OPTIONS)
