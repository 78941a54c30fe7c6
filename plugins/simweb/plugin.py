"""Entry point of the simweb plugins (``ie_plugins.simweb.plugin``): engine, target and vocabulary "simweb".

All three share the options ``seed`` (the run's), ``image_size`` (64), ``n_concepts`` (2880), ``target`` (the run's
simweb target, else "blue-striped");
the engine also reads ``noise`` (0.25) and ``broken_rate`` (0.05). The same options give the same world.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ie.api import Register, hookimpl
from ie_plugins.simweb.options import ENGINE_OPTIONS, TARGET_OPTIONS, WORLD_OPTIONS

@hookimpl
def ie_register_engines(register: Register) -> None:
    def make(options: Mapping[str, Any]) -> Any:
        from ie_plugins.simweb.engine import SimWebEngine

        return SimWebEngine(options)

    register("simweb", make, help="Simulated web over loopback: offline default, known ground truth",
             options=ENGINE_OPTIONS)


@hookimpl
def ie_register_targets(register: Register) -> None:
    def make(options: Mapping[str, Any]) -> Any:
        from ie_plugins.simweb.target import SimWebTarget

        return SimWebTarget(options)

    register("simweb", make, help="Labelled simweb concepts: simweb[:blue-striped|warm-dotted|night-checkered]",
             options=TARGET_OPTIONS)


@hookimpl
def ie_register_vocabularies(register: Register) -> None:
    def make(options: Mapping[str, Any]) -> Any:
        from ie_plugins.simweb.vocabulary import SimWebVocabulary

        return SimWebVocabulary(options)

    register("simweb", make, help="Every concept of the simulated web (colour x pattern x shape x background)",
             options=WORLD_OPTIONS)
