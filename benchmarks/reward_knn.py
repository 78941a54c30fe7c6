"""kNN reward throughput: ours (chunked matmul + topk, the ``knn`` plugin) vs sklearn NearestNeighbors (brute,
cosine) vs a bare torch matmul + topk floor, on random unit vectors. Each method runs in its own process so
its peak RSS is its own. Also shows that re-scoring only touches new candidates.

    python benchmarks/reward_knn.py            # 100k candidates x 10k targets x 2048-d (paper scale)
    python benchmarks/reward_knn.py --quick    # 10k x 2k x 512
    python benchmarks/reward_knn.py --device cuda
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

K = 15


def make_data(n_candidates: int, n_targets: int, dim: int, device: str):
    import torch
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(0)
    candidates = F.normalize(torch.randn(n_candidates, dim, generator=gen), dim=1)
    targets = F.normalize(torch.randn(n_targets, dim, generator=gen), dim=1)
    return candidates.to(device), targets.to(device)


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run_one(method: str, args: argparse.Namespace) -> dict:
    import numpy as np
    import torch

    candidates, targets = make_data(args.candidates, args.targets, args.dim, args.device)
    _sync(args.device)
    extra: dict = {}
    began = time.perf_counter()
    if method == "floor":
        with torch.inference_mode():
            rewards = (candidates @ targets.T).topk(K, dim=1).values.mean(1).double().cpu().numpy()
    elif method == "ours":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from ie_plugins.rewards.knn import KNNReward

        reward = KNNReward({"k": K, "chunk_size": args.chunk_size, "device": args.device})
        reward.target_features = targets
        rewards = reward.rewards_for_features(candidates)
    elif method == "sklearn":
        from sklearn.neighbors import NearestNeighbors

        index = NearestNeighbors(n_neighbors=K, algorithm="brute", metric="cosine").fit(targets.cpu().numpy())
        distances, _ = index.kneighbors(candidates.cpu().numpy())
        rewards = (1.0 - distances).mean(axis=1)
    else:
        raise ValueError(method)
    _sync(args.device)
    seconds = time.perf_counter() - began
    if method == "ours":
        extra = incremental_check(args)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    checksum = float(np.asarray(rewards, dtype=np.float64)[:1000].sum())
    return {"method": method, "seconds": seconds, "peak_rss_mib": peak_mib, "checksum": checksum, **extra}


def incremental_check(args: argparse.Namespace) -> dict:
    """Score all candidates through the plugin, then again with 1% new ones: only the new ones are computed."""
    import torch

    from ie_plugins.rewards.knn import KNNReward

    n = min(args.candidates, 20_000)
    candidates, targets = make_data(n, args.targets, args.dim, "cpu")
    table = {Path(f"c/{i}"): candidates[i] for i in range(n)} | {Path(f"t/{i}"): targets[i] for i in range(len(targets))}

    class Table:
        id = "bench"
        asked = 0

        def __call__(self, paths):
            Table.asked += len(paths)
            return torch.stack([table[Path(p)] for p in paths])

    reward = KNNReward({"k": K, "chunk_size": args.chunk_size, "device": args.device})
    reward.fit_target([Path(f"t/{i}") for i in range(len(targets))], Table())
    old = [Path(f"c/{i}") for i in range(n - n // 100)]
    reward.score(old, Table())
    before, began = reward.scored, time.perf_counter()
    reward.score([Path(f"c/{i}") for i in range(n)], Table())
    return {"rescore_new": reward.scored - before, "rescore_total": n,
            "rescore_seconds": time.perf_counter() - began}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k x 2k x 512 instead of 100k x 10k x 2048")
    parser.add_argument("--candidates", type=int)
    parser.add_argument("--targets", type=int)
    parser.add_argument("--dim", type=int)
    parser.add_argument("--chunk-size", type=int, default=4096)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--methods", default="floor,ours,sklearn")
    parser.add_argument("--only", help=argparse.SUPPRESS)  # child process: run one method, print JSON
    args = parser.parse_args(argv)
    args.candidates = args.candidates or (10_000 if args.quick else 100_000)
    args.targets = args.targets or (2_000 if args.quick else 10_000)
    args.dim = args.dim or (512 if args.quick else 2048)
    if args.only:
        print(json.dumps(run_one(args.only, args)))
        return
    passthrough = [f"--candidates={args.candidates}", f"--targets={args.targets}", f"--dim={args.dim}",
                   f"--chunk-size={args.chunk_size}", f"--device={args.device}"]
    print(f"reward_knn: {args.candidates} candidates x {args.targets} targets x {args.dim}-d, k={K}, "
          f"device={args.device}, chunk={args.chunk_size}")
    results = {}
    for method in args.methods.split(","):
        out = subprocess.run([sys.executable, __file__, f"--only={method}", *passthrough], check=True,
                             capture_output=True, text=True).stdout
        results[method] = json.loads(out.strip().splitlines()[-1])
    floor = results.get("floor", {}).get("seconds")
    for method, r in results.items():
        ratio = f"{r['seconds'] / floor:.2f}x floor" if floor else ""
        print(f"  {method:8s} {r['seconds']:8.2f} s  {ratio:>12s}  peak RSS {r['peak_rss_mib']:8.0f} MiB  "
              f"checksum {r['checksum']:.6f}")
    if "ours" in results and "rescore_new" in results["ours"]:
        r = results["ours"]
        print(f"  re-score: {r['rescore_new']} of {r['rescore_total']} candidates computed "
              f"(the rest memoised) in {r['rescore_seconds']:.3f} s")


if __name__ == "__main__":
    main()
