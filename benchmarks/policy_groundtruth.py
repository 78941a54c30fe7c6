"""How far does the concept policy extrapolate on a real web, given a perfect image reward? The policy half of the
loop on the clip-art web at the paper's scale: all 146,347 WordNet nouns, 256 queries an iteration, the run's
ConceptBrain (GP with fitted hyperparameters, tiers, draws), a concept's reward its query's ground-truth relevance
(share of relevant images among its top results; nouns sharing no word with the corpus find nothing) plus Gaussian
noise. What varies is the concept embedding the GP sees, one change at a time against the paper's text
(``"{lemma} ({hypernym}): {definition}"`` through MiniLM):

* ``text``: the paper's text (the default);
* ``name``: the lemma alone through MiniLM (closer to what a text-matching search engine sees);
* ``text+name``: both, concatenated with weights ``sqrt(1-w), sqrt(w)`` (``--name-weight``), so the GP's RBF
  kernel is the product of one on meaning and one on the name;
* ``text+words``: the paper's text with the lemma's words beside it (the concept brain's option ``name_words``,
  weight ``--name-weight``): concepts that share a word are near, as a text-matching engine finds them alike;
* ``random``: the random policy, for the ratio.

Prints relevant-query precision per iteration and the last two iterations' precision / random's expectation (the
vocabulary's relevant share), per seed and variant; appends JSON lines to ``--out``.

    python benchmarks/policy_groundtruth.py --seeds 0,1,2,3,4
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def ground_truth(concepts: list[Any], cache: Path) -> np.ndarray:
    """Relevance of each concept's own query on the clip-art web (animals), cached by the concept ids."""
    key = hashlib.sha256("\0".join(c.id for c in concepts).encode()).hexdigest()[:16]
    path = cache / f"clipart-animals-relevance-{key}.npy"
    if path.exists():
        return np.load(path)
    from ie_plugins.clipart.engine import ClipartEngine
    from ie_plugins.engines.local import tokenize

    engine = ClipartEngine({"target": "animals"})
    engine.relevance("dog")  # builds the index
    words = {w for item in engine.local.items for w in tokenize(item.caption)}
    out = np.zeros(len(concepts), dtype=np.float32)
    for i, concept in enumerate(concepts):
        if words.intersection(tokenize(concept.name)):
            out[i] = engine.relevance(concept.name) or 0.0
    engine.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def run_policy(concepts: list[Any], embeddings: np.ndarray | None, relevance: np.ndarray, seed: int,
               iterations: int, queries: int, noise: float, options: dict[str, Any] | None = None) -> list[float]:
    from ie.concepts.brain import ConceptBrain
    from ie.loop.sample import scaled_tiers

    policy = "random" if embeddings is None else "gp"
    vectors = embeddings if embeddings is not None else np.zeros((len(concepts), 1), dtype=np.float32)
    brain = ConceptBrain(concepts, vectors, seed=seed,
                         options={"tiers": scaled_tiers(len(concepts), queries), **(options or {}), "policy": policy})
    index = {c.id: i for i, c in enumerate(concepts)}
    rng = np.random.default_rng([seed, 5])
    precision = []
    for iteration in range(iterations):
        picked = [index[c.id] for c in brain.sample(queries)]
        precision.append(float(np.mean(relevance[picked] >= 0.5)))
        rewards = relevance[picked] + rng.normal(0.0, noise, len(picked))
        brain.observe([concepts[i].id for i in picked], rewards.tolist(), iteration=iteration)
    return precision


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--queries", type=int, default=256)
    parser.add_argument("--noise", type=float, default=0.1, help="std of the concept reward's noise")
    parser.add_argument("--variants", default="text,name,text+name,random")
    parser.add_argument("--name-weight", type=float, default=0.5)
    parser.add_argument("--brain-options", type=json.loads, default={},
                        help='concept-brain options over the run\'s defaults, e.g. \'{"sigma_weight": 0.5}\'')
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/policy-groundtruth.jsonl"))
    args = parser.parse_args()

    from ie.api import cache_dir
    from ie.concepts.embeddings import embed_vocabulary
    from ie.host.manager import get_plugin_manager

    manager = get_plugin_manager()
    vocabulary = manager.create("vocabulary", "wordnet", {})
    concepts = list(vocabulary.concepts())
    relevance = ground_truth(concepts, cache_dir("benchmarks"))
    share = float(np.mean(relevance >= 0.5))
    print(f"{len(concepts):,} concepts, {int((relevance >= 0.5).sum()):,} relevant (random's precision {share:.4f})")
    embedder = manager.create("embedder", "minilm", {})
    tables: dict[str, np.ndarray | None] = {"random": None}
    needed = set(args.variants.split(","))
    if needed & {"text", "text+name", "text+words"}:
        tables["text"] = np.asarray(embed_vocabulary(vocabulary, embedder), dtype=np.float32)
    if needed & {"name", "text+name"}:
        names = manager.create("vocabulary", "wordnet", {"text": "name"})  # the lemma alone as the embedded text
        tables["name"] = np.asarray(embed_vocabulary(names, embedder), dtype=np.float32)
    if "text+words" in needed:  # the brain adds the name words itself (option name_words)
        tables["text+words"] = tables["text"]
    if "text+name" in needed:
        w = args.name_weight
        tables["text+name"] = np.hstack([np.sqrt(1 - w) * tables["text"], np.sqrt(w) * tables["name"]])
    for variant in args.variants.split(","):
        ratios = []
        for seed in (int(s) for s in args.seeds.split(",")):
            began = time.perf_counter()
            options = {**args.brain_options, **({"name_words": args.name_weight} if variant == "text+words" else {})}
            precision = run_policy(concepts, tables[variant], relevance, seed, args.iterations, args.queries,
                                   args.noise, options)
            ratio = statistics.mean(precision[-2:]) / share
            ratios.append(ratio)
            row = {"benchmark": "policy_groundtruth", "date": time.strftime("%Y-%m-%d"), "variant": variant,
                   "name_weight": args.name_weight if "+" in variant else None, "seed": seed,
                   "queries": args.queries, "iterations": args.iterations, "noise": args.noise,
                   "brain_options": args.brain_options,
                   "precision": precision, "last_two_over_random": ratio,
                   "seconds": time.perf_counter() - began}
            args.out.parent.mkdir(parents=True, exist_ok=True)
            with args.out.open("a") as out:
                out.write(json.dumps(row) + "\n")
            print(f"{variant:>10} seed {seed}: " + " ".join(f"{p:.3f}" for p in precision)
                  + f"   last two / random {ratio:5.1f}x   ({row['seconds']:.0f} s)", flush=True)
        print(f"{variant:>10}: last two / random, median {statistics.median(ratios):.1f}x, "
              f">= 5x in {sum(r >= 5 for r in ratios)} of {len(ratios)} seeds", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
