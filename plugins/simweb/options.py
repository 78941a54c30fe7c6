"""The options of the simweb plugins (engine, target, vocabulary), declared once for registration and the classes."""

from __future__ import annotations

from ie.api import Option, SearchEngine

# the options that define the world, shared by all three (the same options give the same world)
WORLD_OPTIONS = (
    Option("target", str, None, "the target definition: blue-striped | warm-dotted | night-checkered (default: the "
                                 "run's simweb target, else blue-striped)"),
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
