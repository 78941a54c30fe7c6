"""The clip-art web of the `clipart:animals` target, with its ground truth, for the reward benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def clipart_animals_web(manager: Any) -> tuple[Any, list[Path], list[Path]]:
    """``(target data, relevant corpus images, other corpus images)``, both lists sorted."""
    target = manager.create("target", "clipart", {"name": "clipart:animals"}).load()
    engine = manager.create("engine", "clipart", {"target": "animals"})
    relevant, others = sorted(engine.relevant_files()), sorted(engine.other_files())
    engine.close()
    return target, relevant, others
