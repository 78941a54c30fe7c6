"""Use ie as a library: run one small iteration from Python, then read the run's numbers.

Runs offline on the built-in simulated web (no keys, no network), small enough for a CPU:

    python examples/library_use.py [RUN_DIR]

Change the settings for a real run, e.g. ``ie.explore(target="./my_images", engines=["openverse"],
vocab="wordnet", embedder="minilm")``; every field of ``ie.ExploreConfig`` is listed in
docs/reference/configuration.md. Only the top-level ``ie`` API is used here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import ie


def explore(run_dir: Path) -> Path:
    """One small iteration on simweb, started afresh; returns the path of the HTML report."""
    return ie.explore(run_dir=run_dir, fresh=True, iterations=1, queries_per_iter=8, images_per_query=10,
                      max_steps_per_iter=5)


def summarise(run_dir: Path) -> dict[str, int]:
    """Print each iteration's metrics and the download outcomes; returns the outcome counts."""
    with ie.open_run(run_dir) as run:
        for iteration, metrics in sorted(run.metrics().items()):
            shown = ", ".join(f"{key} {value:.3f}" for key, value in sorted(metrics.items()))
            print(f"iteration {iteration}: {shown}")
        counts = run.outcome_counts()
    for outcome, count in sorted(counts.items()):
        print(f"downloads {outcome}: {count}")
    return counts


if __name__ == "__main__":
    run = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/library")
    print(f"report: {explore(run)}")
    summarise(run)
