"""A paper-size iteration, measured: every stage of the loop except the GPU's training at the paper's scale.

The paper's iteration: 256 queries x 100 images (25,600 downloads), WordNet's 146,347 concepts embedded by MiniLM,
a GP refit and scoring of every concept, a kNN reward over every new image. Here on the simulated web (its engine
with ``answer_all``, so that every WordNet query gets a full page, like a real engine; images are 64 px JPEGs of
about 2 KB served over loopback, so the download stage measures per-request work, not bandwidth), with SSL at a token
budget (``--steps`` steps) since training belongs to the GPU.

Prints, per iteration and stage: seconds, the driver's peak RSS during the stage, and the store (SQLite + image
files) after it; then how each stage's time grows with the iteration (least-squares slope over the iterations, and
last / first). Appends one JSON line per iteration to ``--out``.

    python benchmarks/paper_scale.py                        # 10 iterations, local executor, MiniLM
    python benchmarks/paper_scale.py --executor ray --iterations 3
    python benchmarks/paper_scale.py --quick                # 2 iterations x 32 queries x 20 images, hashing embedder
    python benchmarks/paper_scale.py --run DIR --trace-memory  # resume DIR's run (same flags); trace the driver's memory
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ie.api import RunObserver, hookimpl  # noqa: E402


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def memory_probe(before: dict[str, int] | None) -> dict[str, Any]:
    """Where the driver's memory is at an iteration's end: RSS; RSS after ``gc.collect()`` and glibc's
    ``malloc_trim(0)`` (what is left is held, not merely kept by the allocator); Python objects by type, and the
    types that grew most since ``before``."""
    import collections
    import ctypes
    import gc

    rss = rss_bytes()
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc: no trim
        pass
    counts = collections.Counter(type(o).__name__ for o in gc.get_objects())
    grew = sorted(((n - (before or {}).get(t, 0), t) for t, n in counts.items()), reverse=True)[:8]
    return {"rss_mb": rss / 2**20, "rss_after_trim_mb": rss_bytes() / 2**20, "objects": sum(counts.values()),
            "counts": dict(counts), "grew": {t: d for d, t in grew if d > 0}}


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class StageClock(RunObserver):
    """Times every stage from the previous event to its ``stage_finished``; a sampler thread keeps the peak RSS."""

    name = "paper-scale-clock"
    rows: list[dict[str, Any]] = []
    out: Path | None = None  # each row is appended here as it is measured (a late failure loses nothing)
    meta: dict[str, Any] = {}
    trace_memory = False
    last_counts: dict[str, int] | None = None

    def __init__(self, options: Any = None):
        super().__init__(options)
        self.mark = time.perf_counter()
        self.peak = rss_bytes()
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, rss_bytes())

    def on_event(self, event: Any) -> None:
        now = time.perf_counter()
        if event.kind == "stage_finished":
            store = event.run_dir / "ie.sqlite"
            images = event.run_dir / "images"
            StageClock.rows.append({
                "iteration": event.iteration, "stage": event.data.get("stage"), "seconds": now - self.mark,
                "peak_rss_mb": max(self.peak, rss_bytes()) / 2**20,
                "sqlite_mb": store.stat().st_size / 2**20 if store.exists() else 0.0,
                "images_mb": tree_bytes(images) / 2**20 if images.exists() else 0.0,
                "info": {k: v for k, v in event.data.items() if isinstance(v, (int, float, str)) and k != "stage"},
            })
            if StageClock.out is not None:
                with StageClock.out.open("a") as out:
                    out.write(json.dumps({**StageClock.meta, **StageClock.rows[-1]}) + "\n")
            self.peak = rss_bytes()
        if event.kind == "iteration_finished" and StageClock.trace_memory:
            probe = memory_probe(StageClock.last_counts)
            StageClock.last_counts = probe.pop("counts")
            row = {"iteration": event.iteration, "stage": "memory", "seconds": time.perf_counter() - now, **probe}
            print(f"memory after iteration {event.iteration}: RSS {probe['rss_mb']:.0f} MB, "
                  f"{probe['rss_after_trim_mb']:.0f} MB after gc + malloc_trim, {probe['objects']} objects; "
                  f"grew: {probe['grew']}", file=sys.stderr, flush=True)
            if StageClock.out is not None:
                with StageClock.out.open("a") as out:
                    out.write(json.dumps({**StageClock.meta, **row}) + "\n")
        if event.kind in ("stage_finished", "iteration_started", "run_started", "iteration_finished"):
            self.mark = time.perf_counter()

    def close(self) -> None:
        self._stop.set()


class ClockPlugin:
    @hookimpl
    def ie_register_observers(self, register):  # type: ignore[no-untyped-def]
        register(StageClock.name, StageClock, help="benchmark stage clock")


def slope(xs: list[float], ys: list[float]) -> float:
    if len(xs) < 2:
        return 0.0
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--queries", type=int, default=256)
    parser.add_argument("--images-per-query", type=int, default=100)
    parser.add_argument("--steps", type=int, default=5, help="SSL steps per iteration (training is the GPU's)")
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--executor", default="local", choices=["local", "ray"])
    parser.add_argument("--num-cpus", type=int, default=None, help="Ray: CPUs of the local instance")
    parser.add_argument("--run", type=Path, default=None, help="run directory (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/paper-scale.jsonl"))
    parser.add_argument("--trace-memory", action="store_true",
                        help="at each iteration's end: RSS before/after gc + malloc_trim, object counts that grew")
    parser.add_argument("--quick", action="store_true", help="2 iterations x 32 queries x 20 images, hashing")
    args = parser.parse_args()
    if args.quick:
        args.iterations, args.queries, args.images_per_query, args.embedder = 2, 32, 20, "hashing"

    from rich.console import Console

    from ie.config import ExploreConfig
    from ie.host.manager import PluginManager
    from ie.loop.driver import Explorer

    options: dict[str, Any] = {"engine": {"simweb": {"answer_all": True}}}
    if args.executor == "ray" and args.num_cpus:
        options["executor"] = {"ray": {"num_cpus": args.num_cpus}}
    config = ExploreConfig(target="simweb", engines=["simweb"], vocab="wordnet", embedder=args.embedder,
                           queries_per_iter=args.queries, images_per_query=args.images_per_query,
                           iterations=args.iterations, max_steps_per_iter=args.steps, seed=0, device="cpu",
                           executor=args.executor, options=options)
    manager = PluginManager()
    manager.register(ClockPlugin(), name="paper-scale-clock")
    run = args.run or Path(tempfile.mkdtemp(prefix="ie-paper-scale-"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    StageClock.out = args.out
    StageClock.trace_memory = args.trace_memory
    StageClock.meta = {"executor": args.executor, "queries": args.queries, "images_per_query": args.images_per_query,
                       "embedder": args.embedder, "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d")}
    began = time.perf_counter()
    Explorer(config, run, manager=manager, console=Console(stderr=True), progress=False).run()
    total = time.perf_counter() - began

    rows = [r for r in StageClock.rows if r["stage"] != "memory"]
    stages = list(dict.fromkeys(r["stage"] for r in rows))
    print(f"\npaper-scale iteration: {args.queries} queries x {args.images_per_query} images, {args.embedder}, "
          f"executor {args.executor}, {os.cpu_count()} CPUs; {total / 60:.1f} min in all (setup included)")
    print("iteration  " + "  ".join(f"{s:>10}" for s in stages) + "   peak RSS MB   store MB (sqlite + images)")
    for i in range(args.iterations):
        mine = {r["stage"]: r for r in rows if r["iteration"] == i}
        if not mine:
            continue
        last = mine[stages[-1]] if stages[-1] in mine else list(mine.values())[-1]
        print(f"{i:>9}  " + "  ".join(f"{mine[s]['seconds']:>9.1f}s" if s in mine else f"{'':>10}" for s in stages)
              + f"   {max(r['peak_rss_mb'] for r in mine.values()):>11.0f}"
              + f"   {last['sqlite_mb']:>6.0f} + {last['images_mb']:.0f}")
    print("\ngrowth with the iteration (seconds per iteration added, and last / first):")
    for s in stages:
        series = [(r["iteration"], r["seconds"]) for r in rows if r["stage"] == s]
        xs, ys = [float(x) for x, _ in series], [y for _, y in series]
        ratio = ys[-1] / ys[0] if ys and ys[0] > 0 else float("nan")
        print(f"  {s:>10}: {slope(xs, ys):+7.2f} s/iteration, last/first {ratio:.2f}, max {max(ys):.1f} s")
    print(f"\nrows appended to {args.out}; run directory {run}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
