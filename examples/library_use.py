"""Use ie as a library: build an Explorer in Python, run one iteration, read the run's numbers.

Runs offline on the built-in simulated web (no keys, no network), small enough for a CPU:

    python examples/library_use.py [RUN_DIR]

Change the config for a real run, e.g. ``ExploreConfig(target="./my_images", engines=["openverse"],
vocab="wordnet", embedder="minilm")``; every field is listed in docs/reference/configuration.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ie.config import ExploreConfig
from ie.loop.driver import Explorer
from ie.store import RunStore


def explore(run_dir: Path) -> Path:
    """One small iteration on simweb; returns the path of the HTML report."""
    config = ExploreConfig(iterations=1, queries_per_iter=8, images_per_query=10, max_steps_per_iter=5)
    return Explorer(config, run_dir).run()


def summarise(run_dir: Path) -> None:
    with RunStore.open(run_dir) as store:
        for iteration, metrics in sorted(store.metrics().items()):
            shown = ", ".join(f"{key} {value:.3f}" for key, value in sorted(metrics.items()))
            print(f"iteration {iteration}: {shown}")
        for outcome, count in store.query("SELECT outcome, count(*) FROM downloads GROUP BY outcome"):
            print(f"downloads {outcome}: {count}")


if __name__ == "__main__":
    run = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/library")
    print(f"report: {explore(run)}")
    summarise(run)
