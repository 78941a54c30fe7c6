"""`make bench`: every benchmark in this folder, one after another, each in its own process.

Pass --quick to run the small variants (for a smoke check); the figures in the docs come from full runs.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCHMARKS = ["download_vs_img2dataset.py", "reward_knn.py", "ssl_step.py", "concepts_gp.py", "explore_simweb.py",
              "ssl_data_relevance.py", "finetune_start.py", "sampler_ceiling.py", "cpu_threads.py"]


def main() -> int:
    extra = sys.argv[1:]
    here = Path(__file__).parent
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== {name} ===", flush=True)
        began = time.perf_counter()
        code = subprocess.call([sys.executable, str(here / name), *extra])
        print(f"=== {name}: exit {code}, {time.perf_counter() - began:.0f} s ===", flush=True)
        if code:
            failed.append(name)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
