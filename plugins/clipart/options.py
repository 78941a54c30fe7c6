"""The options of the clipart plugins (target and engine), declared once for registration and the classes."""

from __future__ import annotations

from ie.api import Option, SearchEngine

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
