"""Does exploration pay off on the target? The paper's policy (GP + tiered softmax) vs random exploration vs the
paper's ablation without the GP (no-gp) vs no exploration at all (``none``: the same SSL steps on the target's own
train split), same budget, same seeds, side by side, on the simulated web and on the real clip-art web:

- relevant-query precision per iteration (the engine's ground truth: a query is relevant when >= half of its hits
  are relevant images),
- reward quality per iteration: ROC AUC of the image reward for target-relevant vs other downloaded images,
- target kNN top-1 of the start model and after the last iteration.

Each (target, policy, seed) run appends one JSON line to ``--out``; the table gives mean +- standard deviation over
the seeds.

    python benchmarks/explore_simweb.py                                 # simweb, gp/random/no-gp/none, seeds 0,1,2
    python benchmarks/explore_simweb.py --target clipart --policies gp,random,none
    python benchmarks/explore_simweb.py --target clipart --policies gp-labelset,labels-only   # label-set mode
    python benchmarks/explore_simweb.py --device cuda --image-size 224 --steps-per-iter 200 --batch-size 128  # GPU
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ie.loop.driver import Explorer  # noqa: E402
from ie.store import RunStore  # noqa: E402
from ie.testing.configs import clipart_comparison_config, policy_comparison_config  # noqa: E402

POLICIES = ["gp", "random", "no-gp", "none"]
# arms beyond the policies: label-set mode (the paper's "Ours++": class names known, the vocabulary pruned to the 10%
# nearest them and the labels queried half the time) and the class names alone (the labels vocabulary)
# gp-names: the GP over embeddings of the lemma alone (vocabulary option text = "name") instead of the paper's text


def _arm(name_words: float, *, pad: bool, feedback: float) -> dict[str, Any]:
    return {"policy": "gp", "pad_short_queries": pad,
            "options": {"concepts": {"brain": {"name_words": name_words, "feedback_fraction": feedback}}}}


ARMS: dict[str, dict[str, Any]] = {
    "gp-labelset": {"policy": "gp", "label_set": True}, "labels-only": {"policy": "gp", "vocab": "labels"},
    "gp-names": {"policy": "gp", "options": {"vocabulary": {"wordnet": {"text": "name"}}}},
    # one change at a time, each arm spelling out all three so that its meaning never moves with the defaults:
    # name_words (the GP's kernel over the paper's text embeddings and the words of the concepts' names, half each;
    # 0: the paper's kernel), pad_short_queries (a short query's missing images counted at the iteration's 10th
    # percentile; off: the paper's mean of the top-10 images there are) and feedback_fraction (the share of the draw
    # taken by relevance feedback from the results' titles; 0: the GP alone)
    "gp-words": _arm(0.5, pad=True, feedback=0.0),
    "gp-paper-kernel": _arm(0.0, pad=True, feedback=0.0),
    "gp-words-nopad": _arm(0.5, pad=False, feedback=0.0),
    "gp-paper-kernel-nopad": _arm(0.0, pad=False, feedback=0.0),
    "gp-feedback": _arm(0.5, pad=False, feedback=0.5),  # the defaults since 2026-12-07
    "gp-paper-kernel-feedback": _arm(0.0, pad=False, feedback=0.5),
}


def make_config(target: str, policy: str, args: argparse.Namespace, seed: int) -> Any:
    training = dict(device=args.device, max_steps_per_iter=args.steps_per_iter, batch_size=args.batch_size,
                    arch=args.arch, init=args.init, image_size=args.image_size)
    if args.feature_size is not None:
        training["feature_size"] = args.feature_size
    if args.embedder:
        training["embedder"] = args.embedder
    if args.reward_background is not None:
        training["reward_background"] = args.reward_background
    maker = clipart_comparison_config if target == "clipart" else policy_comparison_config
    arm = dict(ARMS.get(policy, {"policy": policy}))
    return maker(arm.pop("policy"), args.iterations, args.queries, seed, **training, **arm)


def run_explorer(config: Any, run: Path) -> dict[int, dict[str, float]]:
    """Metrics by iteration; key -1 holds the starting model's."""
    Explorer(config, run, console=Console(quiet=True), progress=False).run()
    store = RunStore.open(run)
    metrics = store.metrics()
    metrics[-1] = dict(store.get_state("baseline", {}).get("start", {}))
    store.close()
    return metrics


def run_no_exploration(config: Any, root: Path) -> dict[int, dict[str, float]]:
    """The same SSL steps per iteration on the target's train split alone: what exploration has to beat."""
    from ie.learning.evaluate import evaluate_featurizer
    from ie.learning.features import ModelFeaturizer
    from ie.host.manager import get_plugin_manager
    from ie.loop.session import Session

    session = Session.build(config, root, get_plugin_manager())
    target = session.load_target()
    from ie.learning.train import Trainer

    trainer = Trainer(session.create("ssl", config.ssl), config.arch, image_size=config.image_size,
                      batch_size=config.batch_size, checkpoint_dir=root / "ckpt", device=config.device,
                      seed=config.seed, init=config.init, finetune=config.finetune)

    def knn(tag: str) -> float:
        featurizer = ModelFeaturizer(trainer.backbone, id=tag, image_size=config.model_feature_size,
                                     device=config.device)
        return evaluate_featurizer(featurizer, target, linear=False)["knn_top1"]

    metrics = {-1: {"knn_top1": knn("start")}}
    images = [x.path for x in target.train]
    for i in range(config.iterations):
        trainer.checkpoint_dir = root / "ckpt" / f"iter{i:03d}"
        trainer.fit(images, config.max_steps_per_iter)
        metrics[i] = {"knn_top1": knn(f"iter{i}")}
    session.close()
    return metrics


def summarise(rows: list[dict[str, Any]], target: str, iterations: int) -> None:
    def cell(values: list[float], digits: int = 2) -> str:
        values = [v for v in values if v == v]
        if not values:
            return "-"
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.{digits}f} +- {spread:.{digits}f}"

    policies = list(dict.fromkeys(r["policy"] for r in rows if r["target"] == target))
    seeds = sorted({r["seed"] for r in rows if r["target"] == target})
    by = {p: [r for r in rows if r["target"] == target and r["policy"] == p] for p in policies}
    table = Table(title=f"{target}: mean +- std over seeds {seeds}")
    table.add_column("metric")
    for p in policies:
        table.add_column(p)

    def get(r: dict[str, Any], i: int, key: str) -> float:
        return float(r["metrics"].get(str(i), {}).get(key, float("nan")))

    for i in range(iterations):
        table.add_row(f"precision, iteration {i}", *(cell([get(r, i, "relevant_query_precision") for r in by[p]])
                                                    for p in policies))
    for i in range(iterations):
        table.add_row(f"reward AUC, iteration {i}", *(cell([get(r, i, "reward_auc") for r in by[p]])
                                                     for p in policies))
    table.add_row("relevant share of kept images", *(cell([statistics.mean(
        [get(r, i, "relevant_image_share") for i in range(iterations)]) for r in by[p]]) for p in policies))
    table.add_row("kNN top-1, start", *(cell([get(r, -1, "knn_top1") for r in by[p]], 3) for p in policies))
    table.add_row("kNN top-1, last", *(cell([get(r, iterations - 1, "knn_top1") for r in by[p]], 3)
                                       for p in policies))
    # the paper's "IN + target" arm: a gain is the web's only when it beats the same SSL budget on the target alone
    if "none" in by:
        none_last = {r["seed"]: get(r, iterations - 1, "knn_top1") for r in by["none"]}
        table.add_row("kNN last - none's last (paired by seed)", *(
            cell([get(r, iterations - 1, "knn_top1") - none_last[r["seed"]] for r in by[p] if r["seed"] in none_last], 3)
            for p in policies))
    n_test = [get(r, -1, "n_test") for rs in by.values() for r in rs]
    n_test = [n for n in n_test if n == n]
    if n_test:
        from ie.learning.uncertainty import difference_interval

        low, high = difference_interval(0.85, 0.85, n_test[0])
        table.add_row(f"noise of one kNN change (95%, n_test = {n_test[0]:.0f}, at 0.85)", *([f"+-{(high - low) / 2:.3f}"]
                                                                                              * len(policies)))
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="simweb", choices=["simweb", "clipart"])
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--queries", type=int, default=24)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--quick", action="store_true", help="3 iterations of 12 queries, seed 0")
    parser.add_argument("--policies", default=",".join(POLICIES),
                        help=f"comma-separated: policies ({', '.join(POLICIES)}) or arms ({', '.join(ARMS)})")
    parser.add_argument("--device", default="cpu", help="training device (cuda for a GPU-sized budget)")
    parser.add_argument("--steps-per-iter", type=int, default=20, help="SSL steps per iteration (the demo's 20)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--feature-size", type=int, default=None,
                        help="resolution of rewards and evaluation (default: the config's, 128; 0 = --image-size)")
    parser.add_argument("--reward-background", type=int, default=None,
                        help="web images the kNN reward contrasts with (default: the config's, 1000; 0 = off, the paper's plain kNN)")
    parser.add_argument("--arch", default="efficientnet_lite0")
    parser.add_argument("--init", default="auto")
    parser.add_argument("--embedder", default="", help="text embedder (default: the target's setting: hashing for "
                                                         "simweb, minilm for clipart)")
    parser.add_argument("--out", default="bench-out/explore.jsonl", help="JSON lines, appended")
    parser.add_argument("--summarise-only", action="store_true", help="print the table of --out and stop")
    parser.add_argument("--keep-runs", default="", help="keep each run in DIR/TARGET-POLICY-SEED (for "
                                                         "benchmarks/diagnose_signal.py); a kept run starts fresh")
    args = parser.parse_args()
    if args.quick:
        args.iterations, args.queries, args.seeds = 3, 12, "0"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not args.summarise_only:
        for seed in [int(s) for s in args.seeds.split(",")]:
            for policy in [p.strip() for p in args.policies.split(",") if p.strip()]:
                config = make_config(args.target, "gp" if policy == "none" else policy, args, seed)
                began = time.perf_counter()
                with tempfile.TemporaryDirectory() as tmp:
                    run = (Path(args.keep_runs) / f"{args.target}-{policy}-{seed}" if args.keep_runs
                           else Path(tmp) / policy)
                    shutil.rmtree(run, ignore_errors=True)
                    metrics = run_no_exploration(config, run) if policy == "none" else run_explorer(config, run)
                row = {"target": args.target, "policy": policy, "seed": seed, "seconds": time.perf_counter() - began,
                       "arch": args.arch, "init": args.init, "image_size": args.image_size,
                       "feature_size": config.model_feature_size,
                       "steps_per_iter": args.steps_per_iter, "queries": args.queries,
                       "embedder": config.embedder, "reward_background": config.reward_background,
                       "metrics": {str(k): v for k, v in metrics.items()}}
                with open(out, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
                last = metrics.get(args.iterations - 1, {})
                print(f"explore[{args.target} {policy} seed {seed}]: precision "
                      f"{last.get('relevant_query_precision', float('nan')):.2f}, kNN start "
                      f"{metrics[-1].get('knn_top1', float('nan')):.3f} last {last.get('knn_top1', float('nan')):.3f}, "
                      f"{row['seconds']:.0f} s", flush=True)
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    summarise(rows, args.target, args.iterations)


if __name__ == "__main__":
    main()
