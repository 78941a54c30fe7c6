"""Exploration-policy efficiency on the simulated web: relevant-query precision by iteration,
ours (GP + tiered softmax, the paper's) vs random exploration vs the paper's ablation without the GP (no-gp:
rewards update only the queried concepts), same budget and seed, side by side; kNN top-1 at the start and after.

    python benchmarks/explore_simweb.py --seed 0                  # the CPU setting of the end-to-end test
    python benchmarks/explore_simweb.py --device cuda --epochs 10 --steps-per-iter 0 --batch-size 64   # GPU budget
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ie.explorer import Explorer
from ie.store import RunStore
from ie.testing.configs import policy_comparison_config

POLICIES = ["gp", "random", "no-gp"]


def run_policy(policy: str, root: Path, iterations: int, queries: int, seed: int,
               **training: Any) -> dict[int, dict[str, float]]:
    """Metrics by iteration; key -1 holds the starting model's (before any training)."""
    config = policy_comparison_config(policy, iterations, queries, seed, **training)
    run = root / policy
    Explorer(config, run, console=Console(quiet=True), progress=False).run()
    store = RunStore.open(run)
    metrics = store.metrics()
    metrics[-1] = dict(store.get_state("baseline", {}).get("start", {}))
    store.close()
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--queries", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="3 iterations of 12 queries")
    parser.add_argument("--policies", default=",".join(POLICIES), help="comma-separated subset of the policies")
    parser.add_argument("--device", default="cpu", help="training device (cuda for a GPU-sized budget)")
    parser.add_argument("--steps-per-iter", type=int, default=5, help="cap on SSL steps per iteration (0: none)")
    parser.add_argument("--epochs", type=float, default=1.0, help="epochs over each iteration's training mix")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--arch", default="resnet18")
    args = parser.parse_args()
    if args.quick:
        args.iterations, args.queries = 3, 12
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        training = dict(device=args.device, max_steps_per_iter=args.steps_per_iter, epochs=args.epochs,
                        batch_size=args.batch_size, arch=args.arch)
        results = {p: run_policy(p, Path(tmp), args.iterations, args.queries, args.seed, **training)
                   for p in policies}
    table = Table(title=f"relevant-query precision by iteration ({args.queries} queries/iteration, seed {args.seed})")
    table.add_column("iteration")
    for policy in policies:
        table.add_column(policy)
    for i in range(args.iterations):
        table.add_row(str(i), *(f"{results[p].get(i, {}).get('relevant_query_precision', float('nan')):.2f}"
                                for p in policies))
    table.add_row("kNN top-1 (start)", *(f"{results[p][-1].get('knn_top1', float('nan')):.3f}" for p in policies))
    table.add_row("kNN top-1 (last)", *(f"{results[p][args.iterations - 1].get('knn_top1', float('nan')):.3f}"
                                        for p in policies))
    Console().print(table)
    last = {p: results[p][args.iterations - 1] for p in policies}
    for p in policies:
        # no-gp re-draws its best concepts; without descriptors a repeated query is not searched again
        queries = sum(int(m.get("queries", 0)) for i, m in results[p].items() if i >= 0)
        print(f"explore[{p}]: last-iteration precision {last[p].get('relevant_query_precision', 0):.3f}, "
              f"kNN top-1 {last[p].get('knn_top1', float('nan')):.3f}, {queries} queries in all")


if __name__ == "__main__":
    main()
