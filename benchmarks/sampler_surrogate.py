"""Which concept sampler keeps what a run finds? Counterfactual runs of the real concept brain (``ConceptBrain``: the
GP, the tiers, the draw) over the simulated web's 2,880 concepts (hashing embedder, the demo's tiers), with concept
rewards drawn from a surrogate fitted to a real run's concept rewards: a ridge regression on each concept's
attributes (colour, pattern, shape, background, relevant, look-alike of the blue-striped target) plus the iteration,
and its residual spread as noise. Hundreds of seeds in a minute, where one real run of the demo takes five: a
screen for sampler changes, which the ten-seed demo benchmark then checks for real.

    python benchmarks/explore_simweb.py --target simweb --iterations 5 --policies gp --seeds 1 --keep-runs DIR
    python benchmarks/sampler_surrogate.py DIR/simweb-gp-1 [--seeds 100]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ie.concepts.brain import ConceptBrain  # noqa: E402
from ie.concepts.embeddings import embed_vocabulary  # noqa: E402
from ie.loop.sample import scaled_tiers  # noqa: E402
from ie_plugins.embedders.hashing import HashingEmbedder  # noqa: E402
from ie_plugins.simweb.render import BACKGROUNDS, COLOURS, PATTERNS, SHAPES, appearance_from_slug  # noqa: E402
from ie_plugins.simweb.vocabulary import SimWebVocabulary  # noqa: E402
from ie_plugins.simweb.world import TARGETS, slug_of  # noqa: E402

VARIANTS = {
    "the paper's rule (tried excluded, successive draws)": {"exclude_tried": True, "tried_penalty": 0.0,
                                                            "draw": "successive"},
    "tried excluded, sigma_weight 0.5": {"exclude_tried": True, "tried_penalty": 0.0, "draw": "successive",
                                         "sigma_weight": 0.5},
    "tried excluded, top tier 90%": {"exclude_tried": True, "tried_penalty": 0.0, "draw": "successive",
                                     "tiers": [[48, 0.9], [192, 0.05]], "rest_mass": 0.05},
    "tried drawn again at their mean": {"tried_penalty": 0.0, "draw": "successive"},
    "tried drawn again, systematic draws": {"tried_penalty": 0.0},
    "tried at mean - 2 sigma, systematic (default)": {},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a kept simweb run (blue-striped target) whose concept rewards to fit")
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--queries", type=int, default=24)
    args = parser.parse_args()
    target = TARGETS["blue-striped"]
    vocabulary = SimWebVocabulary({})
    concepts = list(vocabulary.concepts())
    embeddings = np.asarray(embed_vocabulary(vocabulary, HashingEmbedder({})))
    apps = [appearance_from_slug(slug_of(c.id)) for c in concepts]
    relevant = np.array([target.relevant(a) for a in apps])
    look = np.array([not target.relevant(a) and (a.colour in target.colours or a.pattern in target.patterns)
                     for a in apps])
    columns = [np.array([getattr(a, attr) == name for a in apps], float)
               for names, attr in ((COLOURS, "colour"), (PATTERNS, "pattern"), (SHAPES, "shape"),
                                   (BACKGROUNDS, "background")) for name in names]
    x = np.stack(columns + [relevant.astype(float), look.astype(float)], 1)
    index = {c.id: i for i, c in enumerate(concepts)}
    db = sqlite3.connect(args.run / "ie.sqlite")
    observed = db.execute("SELECT iteration, concept_id, value FROM concept_rewards").fetchall()
    design = np.array([np.concatenate([x[index[c]], [it, 1.0]]) for it, c, _ in observed])
    y = np.array([v for _, _, v in observed])
    w = np.linalg.solve(design.T @ design + np.eye(design.shape[1]), design.T @ y)
    noise = float((y - design @ w).std())
    print(f"surrogate fitted on {len(y)} concept rewards of {args.run}: residual std {noise:.2f} of {y.std():.2f}; "
          f"{args.seeds} seeds, {args.iterations} iterations x {args.queries} queries")
    print("| sampler | precision by iteration (mean) | last >= 0.8x best | last, mean (min) |")
    print("|---|---|---|---|")
    for name, options in VARIANTS.items():
        runs = []
        for seed in range(args.seeds):
            rng = np.random.default_rng([seed, 99])
            brain = ConceptBrain(concepts, embeddings, seed=seed,
                                 options={"tiers": scaled_tiers(len(concepts), args.queries), **options})
            precision = []
            for iteration in range(args.iterations):
                picked = [index[c.id] for c in brain.sample(args.queries)]
                precision.append(relevant[picked].mean())
                rewards = x[picked] @ w[:-2] + iteration * w[-2] + w[-1] + rng.normal(0, noise, len(picked))
                brain.observe([concepts[i].id for i in picked], rewards.tolist(), iteration=iteration)
            runs.append(precision)
        p = np.array(runs)
        holds = np.mean(p[:, -1] >= 0.8 * p.max(1))
        print(f"| {name} | {' '.join(f'{m:.2f}' for m in p.mean(0))} | {holds:.0%} | {p[:, -1].mean():.2f} "
              f"({p[:, -1].min():.2f}) |", flush=True)
    print(json.dumps({"fitted_on": len(y), "noise": noise}))


if __name__ == "__main__":
    main()
