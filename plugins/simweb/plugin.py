"""Entry point of the simweb plugins (``ie_plugins.simweb.plugin``): engine, target and vocabulary "simweb".

All three share the options ``seed`` (0), ``image_size`` (64), ``n_concepts`` (2880), ``target`` ("blue-striped");
the engine also reads ``noise`` (0.25) and ``broken_rate`` (0.05). The same options give the same world.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ie.api import Option, Register, SearchEngine, hookimpl

# the options that define the world, shared by all three (the same options give the same world)
WORLD_OPTIONS = (
    Option("target", str, "blue-striped", "the target definition: blue-striped | warm-dotted | night-checkered"),
    Option("image_size", int, 64, "pixels per side of every served image (8-1024)"),
    Option("n_concepts", int, 2880, "concepts in the world (at most 2880)"),
)
ENGINE_OPTIONS = SearchEngine.OPTIONS + WORLD_OPTIONS + (
    Option("noise", float, 0.25, "share of a query's results that show another concept"),
    Option("broken_rate", float, 0.05, "share of a query's results that are broken URLs"),
    Option("results_per_query", int, 500, "results a query has in all (at most 1000)"),
    Option("leaks_per_query", int, 2, "results per query that are the target's test images (the leak guard's prey)"),
    Option("port", int, None, "loopback port of the server (default: a free one)"),
    Option("answer_all", bool, False, "a query that matches no concept gets one chosen by its text's hash (a web "
           "that answers everything, for load benchmarks with a real vocabulary) instead of no results"),
)
TARGET_OPTIONS = WORLD_OPTIONS + tuple(Option(f"n_{split}", int, n, f"{split} images per class")
                                       for split, n in (("train", 40), ("val", 10), ("test", 20)))


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
