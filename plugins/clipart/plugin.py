"""Entry point of the clipart plugins (``ie_plugins.clipart.plugin``): target and engine "clipart".

Both share the options ``root`` (the openclipart png folder), ``cache_dir``, ``target_fraction`` and ``workers``;
the engine's ``target`` option names the preset (``animals`` or ``food``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ie.api import Register, hookimpl
from ie_plugins.clipart.options import ENGINE_OPTIONS, TARGET_OPTIONS

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
