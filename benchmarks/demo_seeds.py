"""Does the demo keep what it finds at any seed? Part 11's goal, read off the JSON lines that
``benchmarks/explore_simweb.py`` writes for the demo's configuration (``--target simweb --iterations 5``, 20 SSL
steps, every other field at the demo's default):

- last-iteration relevant-query precision >= 0.8x the run's best iteration, in >= 9 of 10 seeds;
- last-iteration precision >= 5x the random policy's, in every seed.

The random policy draws concepts uniformly among the untried ones, so its expected precision is the world's
share of relevant concepts (190 / 2,880 = 0.066 for the demo's target), whatever the model or the seed; full random
runs, where ``--out`` holds them, are shown beside it (they train too, at the same cost, and only add noise).

    python benchmarks/explore_simweb.py --target simweb --iterations 5 --policies gp --seeds 0,1,2,3,4,5,6,7,8,9 \\
        --reward-background 1000 --out benchmarks/results/demo-seeds-classifier.jsonl     # ~6 min a seed, 1 thread
    python benchmarks/demo_seeds.py benchmarks/results/demo-seeds-classifier.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def random_expected_precision(target: str = "blue-striped") -> float:
    """The random policy's expected relevant-query precision: the world's share of relevant concepts."""
    from ie_plugins.simweb.world import get_world

    return get_world({"target": target}).relevant_fraction()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--policy", default="gp")
    args = parser.parse_args()
    rows = [json.loads(line) for f in args.files for line in f.read_text().splitlines() if line.strip()]
    random_base = random_expected_precision()
    ours = sorted((r for r in rows if r["policy"] == args.policy), key=lambda r: r["seed"])
    randoms = {r["seed"]: r for r in rows if r["policy"] == "random"}
    keeps = beats = 0
    print(f"random policy, expected precision: {random_base:.3f} (the world's relevant share)")
    print("| seed | precision, iterations 0-4 | last / best | last / random | reward AUC, mean | kNN start -> last |")
    print("|---|---|---|---|---|---|")
    for r in ours:
        m = r["metrics"]
        its = sorted(int(k) for k in m if int(k) >= 0)
        precision = [m[str(i)]["relevant_query_precision"] for i in its]
        last, best = precision[-1], max(precision)
        keeps += last >= 0.8 * best
        beats += last >= 5 * random_base
        auc = statistics.mean(m[str(i)].get("reward_auc", float("nan")) for i in its)
        extra = ""
        if r["seed"] in randoms:
            rm = randoms[r["seed"]]["metrics"]
            extra = " (random run: " + " ".join(f"{rm[str(i)]['relevant_query_precision']:.2f}" for i in its) + ")"
        print(f"| {r['seed']} | {' '.join(f'{p:.2f}' for p in precision)}{extra} | {last / best:.2f} | "
              f"{last / random_base:.1f}x | {auc:.2f} | {m['-1']['knn_top1']:.3f} -> {m[str(its[-1])]['knn_top1']:.3f} |")
    if not ours:
        raise SystemExit(f"no {args.policy} rows in {', '.join(map(str, args.files))}")
    lasts = [r["metrics"][str(max(int(k) for k in r["metrics"]))]["relevant_query_precision"] for r in ours]
    later = [statistics.mean(r["metrics"][str(i)]["relevant_query_precision"] for i in range(1, 5)) for r in ours]
    print(f"\nlast >= 0.8x best: {keeps} of {len(ours)} seeds (goal >= 9 of 10); last >= 5x random: {beats} of "
          f"{len(ours)} (goal all)")
    print(f"last precision: mean {statistics.mean(lasts):.2f}, min {min(lasts):.2f}; mean of iterations 1-4: "
          f"mean {statistics.mean(later):.2f}, min {min(later):.2f}")


if __name__ == "__main__":
    main()
