"""Relevance feedback from result titles against the GP alone and random, image by image, on the clip-art web.

The policy half of the loop (``ie.testing.policy_proxy``): each drawn concept is searched on the clip-art engine
(BM25 over the captions, 16 hits), each image found gets its ground-truth relevance plus Gaussian noise
(``--image-noise``; 0.7 ~ the kNN reward's ROC AUC of 0.84 there), a concept the mean of its top 10, a short search
is retired. Vocabulary: ``--vocabulary`` WordNet nouns drawn from those sharing a word with the captions (the test's
3,000), or ``all`` (146,347). Arms: random, the GP alone (``feedback_fraction = 0``), the GP with each
``--fractions`` share of the draw taken by relevance feedback. Prints the mean relevant-query precision of
iterations 1..n per seed, the ratio to random, and appends JSON lines to ``--out``.

    python benchmarks/policy_feedback.py [--seeds 0-11] [--image-noise 0.7] [--fractions 0.25,0.5,0.75]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def seeds_of(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0-11")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--queries", type=int, default=24)
    parser.add_argument("--vocabulary", default="3000", help="nouns sharing a word with the captions, or 'all'")
    parser.add_argument("--image-noise", type=float, default=0.7)
    parser.add_argument("--fractions", default="0.5")
    parser.add_argument("--quick", action="store_true", help="seeds 0-1, 3 iterations")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/policy-feedback.jsonl"))
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.iterations = "0,1", 3

    from ie.concepts.brain import ConceptBrain
    from ie.concepts.embeddings import embed_vocabulary
    from ie.host.manager import get_plugin_manager
    from ie.loop.sample import scaled_tiers
    from ie.testing.policy_proxy import run_image_proxy
    from ie_plugins.clipart.engine import ClipartEngine
    from ie_plugins.engines.local import tokenize
    from ie_plugins.vocabularies.wordnet import WordNetVocabulary

    engine = ClipartEngine({"target": "animals"})
    engine.relevance("dog")  # builds the index
    manager = get_plugin_manager()
    vocabulary = manager.create("vocabulary", "wordnet", {})
    every = list(vocabulary.concepts())
    embedder = manager.create("embedder", "minilm", {})
    if args.vocabulary == "all":
        concepts, embeddings = every, np.asarray(embed_vocabulary(vocabulary, embedder), dtype=np.float32)
    else:
        words = {w for item in engine.local.items for w in tokenize(item.caption)}
        sharing = [c for c in every if words.intersection(tokenize(c.name))]
        pick = np.random.default_rng(0).choice(len(sharing), int(args.vocabulary), replace=False)
        concepts = [sharing[i] for i in pick]
        embeddings = embedder.embed([c.embed_text() for c in concepts])
    tiers = scaled_tiers(len(concepts), args.queries)
    arms = {"random": ("random", 0.0), "gp": ("gp", 0.0)}
    arms.update({f"gp+feedback {f}": ("gp", float(f)) for f in args.fractions.split(",")})
    seeds = seeds_of(args.seeds)
    means: dict[str, list[float]] = {}
    for arm, (policy, share) in arms.items():
        means[arm] = []
        for seed in seeds:
            began = time.perf_counter()
            brain = ConceptBrain(concepts, embeddings, seed=seed, options={
                "tiers": tiers, **WordNetVocabulary.BRAIN_DEFAULTS, "feedback_fraction": share, "policy": policy})
            precision = run_image_proxy(brain, engine, args.iterations, args.queries, seed, feedback=share > 0,
                                        image_noise=args.image_noise)
            means[arm].append(statistics.mean(precision[1:]))
            row = {"benchmark": "policy_feedback", "date": time.strftime("%Y-%m-%d"), "arm": arm, "seed": seed,
                   "vocabulary": len(concepts), "iterations": args.iterations, "queries": args.queries,
                   "image_noise": args.image_noise, "precision": precision, "mean_after_first": means[arm][-1],
                   "seconds": round(time.perf_counter() - began, 1)}
            args.out.parent.mkdir(parents=True, exist_ok=True)
            with args.out.open("a") as out:
                out.write(json.dumps(row) + "\n")
        print(f"{arm:>18}: " + " ".join(f"{m:.3f}" for m in means[arm]), flush=True)
    engine.close()
    floor = 1.0 / (args.queries * (args.iterations - 1))
    for arm in list(arms)[1:]:
        ratios = [g / max(r, floor) for g, r in zip(means[arm], means["random"])]
        print(f"{arm:>18}: x random median {statistics.median(ratios):.1f} (seeds: "
              + " ".join(f"{r:.1f}" for r in ratios) + f"), ahead in {sum(g > r for g, r in zip(means[arm], means['random']))}"
              f" of {len(seeds)}; mean {statistics.mean(means[arm]):.3f} = "
              f"{statistics.mean(means[arm]) / max(statistics.mean(means['gp']), 1e-9):.2f}x the GP alone's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
