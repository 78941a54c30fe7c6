"""What can the paper's concept sampler reach with a perfect reward? Relevant-query precision per iteration when the
scores of the GP were an oracle's (every relevant concept scores ``--gap`` above the others, plus Gaussian noise of
std ``--noise``), drawn by the very rules a run uses (``ie.concepts.sampler``: temperature from the score range,
softmax, tiers holding 80% / 10% / 10% of the mass, the paper's 250 / 1,000 ranks scaled to the vocabulary as
``ie.loop.sample.scaled_tiers`` does (the demo: 48 / 192), tried concepts excluded). Iteration 0 is a uniform draw,
as in a run.

It gives the ceiling a run can approach, whether a finite pool of relevant concepts runs dry over the iterations
(tried ones leave the top tier to irrelevant ones), and how often the demo's acceptance (the last
iteration's precision >= 0.8x the best iteration's) holds by chance alone for one seed.

    python benchmarks/sampler_ceiling.py                      # the demo: simweb's 2,880 concepts, 190 relevant
    python benchmarks/sampler_ceiling.py --concepts 146347 --relevant 1300 --queries 256 --iterations 6
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ie.concepts.sampler import concept_probabilities, draw  # noqa: E402
from ie.loop.sample import scaled_tiers  # noqa: E402


def simulate(concepts: int, relevant: int, queries: int, iterations: int, gap: float, noise: float,
             rng: np.random.Generator) -> np.ndarray:
    """Precision by iteration of one run with oracle scores (a fresh seeded world of relevant concepts)."""
    is_relevant = np.zeros(concepts, dtype=bool)
    is_relevant[rng.choice(concepts, size=relevant, replace=False)] = True
    scores = rng.normal(0.0, noise, concepts) + gap * is_relevant
    untried = np.ones(concepts, dtype=bool)
    tiers = scaled_tiers(concepts, queries)
    precision = []
    for iteration in range(iterations):
        if iteration == 0:  # nothing observed yet: a run draws uniformly
            picked = rng.choice(concepts, size=queries, replace=False)
        else:
            picked = draw(concept_probabilities(scores, tiers=tiers, eligible=untried), queries, rng)
        precision.append(float(is_relevant[picked].mean()))
        untried[picked] = False
    return np.array(precision)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concepts", type=int, default=2880, help="vocabulary size (simweb's world: 2,880)")
    parser.add_argument("--relevant", type=int, default=190, help="relevant concepts (simweb's demo target: 190)")
    parser.add_argument("--queries", type=int, default=24)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--gap", default="1,0.2,0.05", help="oracle score gaps to try (comma-separated)")
    parser.add_argument("--noise", type=float, default=0.05, help="std of the oracle's score noise")
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="100 runs per gap")
    args = parser.parse_args()
    if args.quick:
        args.trials = min(args.trials, 100)
    rng = np.random.default_rng(args.seed)
    print(f"{args.concepts} concepts, {args.relevant} relevant ({args.relevant / args.concepts:.1%}), "
          f"{args.queries} queries x {args.iterations} iterations, tiers {scaled_tiers(args.concepts, args.queries)}, "
          f"{args.trials} seeded runs per gap")
    for gap in [float(g) for g in args.gap.split(",")]:
        runs = np.stack([simulate(args.concepts, args.relevant, args.queries, args.iterations, gap, args.noise, rng)
                         for _ in range(args.trials)])
        mean, std = runs.mean(axis=0), runs.std(axis=0)
        last, best = runs[:, -1], runs.max(axis=1)
        holds = float(np.mean(last >= 0.8 * best))
        by_iteration = " ".join(f"{m:.2f}+-{s:.2f}" for m, s in zip(mean, std))
        print(f"gap {gap:g} (x{gap / args.noise:.0f} noise): precision by iteration {by_iteration}; "
              f"last >= 0.8x best in {holds:.0%} of runs")


if __name__ == "__main__":
    main()
