"""`make bench`: every benchmark in this folder, one after another, each in its own process.

Pass --quick to run the small variants (for a smoke check); the figures in RESULTS.md come from full runs and
name the exact command of each. --only NAME[,NAME] runs a subset. The scripts that cannot run in this setting are
listed in LEFT_OUT with the reason, printed at the start; every script in the folder must be in BENCHMARKS or
LEFT_OUT (checked before anything runs), so a new one cannot be forgotten.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# in running order; the clip-art reward benchmarks come before dedupe_confirmation.py, whose default images are
# the clip-art target's, materialised by them
BENCHMARKS = ["download_vs_img2dataset.py", "reward_knn.py", "ssl_step.py", "concepts_gp.py", "embed_speed.py",
              "explore_simweb.py", "ssl_data_relevance.py", "finetune_start.py", "sampler_ceiling.py",
              "policy_groundtruth.py", "cpu_threads.py", "reward_resolution.py", "reward_contrast.py", "dedupe_confirmation.py",
              "cpu_reproducibility.py", "embed_ort_graph.py", "policy_feedback.py", "embed_beside_downloads.py"]

# what --quick passes to a script; a script not named here takes --quick itself
QUICK_ARGS: dict[str, list[str]] = {
    "reward_resolution.py": ["--sizes", "64,128", "--others", "300"],
    "reward_contrast.py": ["--background-k", "15", "--background-drop", "0", "--others", "300", "--background", "300"],
    "dedupe_confirmation.py": ["--n", "300"],
    "embed_beside_downloads.py": ["--n", "300"],
    "cpu_reproducibility.py": ["--settings", "reference,pinned"],
    "policy_groundtruth.py": ["--seeds", "0", "--iterations", "2", "--queries", "32", "--variants", "text,random"],
}

LEFT_OUT: dict[str, str] = {
    "embed_openvino.py": "needs openvino and nncf, which no extra of the project installs (`pip install openvino "
                         "nncf`, then `python benchmarks/embed_openvino.py`)",
    "embed_overlap.py": "embeds WordNet twice from an empty cache beside a paper-size iteration (~35 min on 2 "
                        "cores); run it alone: `python benchmarks/embed_overlap.py` (`--quick` for a smoke run)",
    "gpu_compare.sh": "needs a CUDA GPU (run `bash benchmarks/gpu_compare.sh` on a GPU machine)",
    "paper_scale.py": "about 13 min an iteration on 2 cores at full size (10 iterations: over 2 hours); run it "
                      "alone: `python benchmarks/paper_scale.py --iterations 3` (`--quick` for a smoke run)",
    "diagnose_signal.py": "reads finished runs given as arguments (`python benchmarks/explore_simweb.py --target "
                          "clipart --queries 256 --policies gp --keep-runs DIR`, then `python "
                          "benchmarks/diagnose_signal.py DIR/clipart-gp-0`)",
    "sampler_surrogate.py": "fits its surrogate to a kept simweb run given as argument (`python "
                            "benchmarks/explore_simweb.py --target simweb --iterations 5 --policies gp --seeds 1 "
                            "--keep-runs DIR`, then `python benchmarks/sampler_surrogate.py DIR/simweb-gp-1`)",
    "concept_reward_rules.py": "reads finished clip-art runs given as arguments (`python benchmarks/explore_simweb.py "
                               "--target clipart --queries 256 --policies gp-words --keep-runs DIR`, then `python "
                               "benchmarks/concept_reward_rules.py DIR/clipart-gp-words-*`)",
    "demo_seeds.py": "measures nothing itself: it summarises the JSON lines of a ten-seed `explore_simweb.py` run "
                     "given as argument (`python benchmarks/demo_seeds.py "
                     "benchmarks/results/demo-seeds-classifier.jsonl`)",
}


def check_complete() -> None:
    """Every script of the folder is run or left out with a reason; every name listed exists. Raises otherwise."""
    scripts = {p.name for p in HERE.iterdir() if p.suffix in (".py", ".sh") and not p.name.startswith("_")}
    scripts.discard(Path(__file__).name)
    listed = set(BENCHMARKS) | set(LEFT_OUT)
    problems = []
    if missing := sorted(scripts - listed):
        problems.append(f"in neither BENCHMARKS nor LEFT_OUT: {', '.join(missing)}")
    if gone := sorted(listed - scripts):
        problems.append(f"listed but not in {HERE}: {', '.join(gone)}")
    if both := sorted(set(BENCHMARKS) & set(LEFT_OUT)):
        problems.append(f"both run and left out: {', '.join(both)}")
    if stray := sorted(set(QUICK_ARGS) - set(BENCHMARKS)):
        problems.append(f"QUICK_ARGS for scripts not in BENCHMARKS: {', '.join(stray)}")
    if problems:
        raise SystemExit("benchmarks/run_all.py: " + "; ".join(problems))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="each script's small variant (a smoke run)")
    parser.add_argument("--only", help="comma-separated script names to run (default: all of BENCHMARKS)")
    args = parser.parse_args(argv)
    check_complete()
    names = BENCHMARKS
    if args.only:
        names = [n if n.endswith(".py") else f"{n}.py" for n in args.only.split(",")]
        if unknown := [n for n in names if n not in BENCHMARKS]:
            raise SystemExit(f"not in BENCHMARKS: {', '.join(unknown)}")
    print("left out of `make bench`:")
    for name, reason in LEFT_OUT.items():
        print(f"  {name}: {reason}")
    failed = []
    for name in names:
        extra = QUICK_ARGS.get(name, ["--quick"]) if args.quick else []
        print(f"\n=== {name} {' '.join(extra)} ===", flush=True)
        began = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / name), *extra], cwd=HERE.parent)
        print(f"=== {name}: exit {code}, {time.perf_counter() - began:.0f} s ===", flush=True)
        if code:
            failed.append(name)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
