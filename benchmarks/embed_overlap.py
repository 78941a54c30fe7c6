"""What embedding the vocabulary beside iteration 0 saves a new user: the paper-size iteration on the simulated web
(``paper_scale.py``'s setting: WordNet's 146,347 concepts, MiniLM with its defaults, 256 queries x 100 images
served over loopback, the kNN reward, SSL at a token budget), run twice from an empty embedding cache, one after the
other in this process: the embedding first (``Explorer(background_embedding=False)``, as before) and beside
iteration 0 (the default now: a thread at nice 19).

For each arm: seconds until iteration 0's draw was done (the first query is searched right after), each stage's
seconds, how long the GP waited for the embedding, and the wall time to the end of the last iteration; then the
saving, and whether both arms drew the same queries (they must). The simulated web knows which concepts are
relevant, so iteration 0's evaluate stage ranks them with the GP and waits there for the embedding (on a real engine
the first wait is iteration 1's draw). The second arm runs after the first in the same process, so the simulated
web's small image cache and the OS page cache are warm for it.
Each arm has its own empty embedding cache (a temp ``IE_CACHE_DIR`` whose other folders link to the real cache, so
the ONNX export and the simulated web's files are reused). Appends one JSON line per arm to ``--out``.

    python benchmarks/embed_overlap.py                       # ~35 min on 2 idle AVX2 cores
    python benchmarks/embed_overlap.py --latency-ms 300     # images from a distant host: the downloads wait
    python benchmarks/embed_overlap.py --queries 64 --images-per-query 50 --iterations 2
    python benchmarks/embed_overlap.py --quick               # hashing embedder, 32 x 20: a smoke run (~2 min)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ie.api import RunObserver, hookimpl  # noqa: E402

ARMS = {"embedding first": False, "embedding beside iteration 0": True}


class Clock(RunObserver):
    """Seconds from the run's start to each stage's end."""

    name = "overlap-clock"
    began = 0.0
    marks: list[tuple[int | None, str, float]] = []

    def on_event(self, event: Any) -> None:
        if event.kind == "stage_finished":
            Clock.marks.append((event.iteration, str(event.data.get("stage")), time.perf_counter() - Clock.began))


class ClockPlugin:
    @hookimpl
    def ie_register_observers(self, register):  # type: ignore[no-untyped-def]
        register(Clock.name, Clock, help="benchmark clock")


def fresh_cache(real: Path) -> Path:
    """A cache folder without ``embeddings``, its other folders linked to ``real``'s."""
    root = Path(tempfile.mkdtemp(prefix="ie-overlap-cache-"))
    for sub in real.iterdir() if real.exists() else ():
        if sub.is_dir() and sub.name != "embeddings":
            (root / sub.name).symlink_to(sub.resolve(), target_is_directory=True)
    return root


def run_arm(name: str, background: bool, config: Any, real_cache: Path) -> dict[str, Any]:
    from rich.console import Console

    from ie.host.manager import PluginManager
    from ie.loop.driver import Explorer
    from ie.store import RunStore

    cache = fresh_cache(real_cache)
    os.environ["IE_CACHE_DIR"] = str(cache)
    run = Path(tempfile.mkdtemp(prefix="ie-overlap-run-"))
    manager = PluginManager()
    manager.register(ClockPlugin(), name="overlap-clock")
    Clock.marks = []
    Clock.began = began = time.perf_counter()
    explorer = Explorer(config, run, manager=manager, console=Console(stderr=True), progress=False,
                        background_embedding=background)
    explorer.run()
    total = time.perf_counter() - began
    store = RunStore.open_existing(run)
    try:
        queries = [[q["concept_id"] for q in store.queries(iteration=i)] for i in range(config.iterations)]
    finally:
        store.close()
    stages: dict[str, float] = {}
    last = 0.0
    for iteration, stage, at in Clock.marks:
        stages[f"{iteration}:{stage}"] = round(at - last, 1)
        last = at
    sample_done = next(at for it, st, at in Clock.marks if st == "sample")
    row = {"arm": name, "background": background, "total_s": round(total, 1),
           "sample_0_done_s": round(sample_done, 1), "embedding_wait_s": round(explorer.embedding_wait_s, 1),
           "stages_s": stages, "queries": queries}
    shutil.rmtree(run, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=1)
    parser.add_argument("--queries", type=int, default=256)
    parser.add_argument("--images-per-query", type=int, default=100)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/embed-overlap.jsonl"))
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="each image answer waits this long (IE_SIMWEB_LATENCY_MS): downloads wait on the network "
                             "as on the real web, instead of the loopback server's CPU")
    parser.add_argument("--quick", action="store_true", help="hashing embedder, 32 queries x 20 images")
    args = parser.parse_args()
    if args.quick:
        args.queries, args.images_per_query, args.embedder = 32, 20, "hashing"
    from ie.api import cache_dir
    from ie.config import ExploreConfig

    if args.latency_ms:
        os.environ["IE_SIMWEB_LATENCY_MS"] = str(args.latency_ms)

    real_cache = cache_dir()
    config = ExploreConfig(target="simweb", engines=["simweb"], vocab="wordnet", embedder=args.embedder,
                           queries_per_iter=args.queries, images_per_query=args.images_per_query,
                           iterations=args.iterations, max_steps_per_iter=args.steps, seed=0, device="cpu",
                           options={"engine": {"simweb": {"answer_all": True}}})
    meta = {"queries": args.queries, "images_per_query": args.images_per_query, "iterations": args.iterations,
            "embedder": args.embedder, "latency_ms": args.latency_ms, "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "load_before": os.getloadavg()[0]}
    rows = []
    for name, background in ARMS.items():
        print(f"--- {name}", file=sys.stderr, flush=True)
        row = {**meta, **run_arm(name, background, config, real_cache), "load_after": os.getloadavg()[0]}
        rows.append(row)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("a") as out:
            out.write(json.dumps({k: v for k, v in row.items() if k != "queries"}) + "\n")
    same = rows[0]["queries"] == rows[1]["queries"]
    print(f"\n{args.iterations} iteration(s) x {args.queries} queries x {args.images_per_query} images, "
          f"{args.embedder}, image latency {args.latency_ms:.0f} ms, {os.cpu_count()} CPUs, "
          "from an empty embedding cache")
    print(f"{'arm':<30} {'first draw done':>16} {'GP waited':>10} {'total':>9}")
    for row in rows:
        print(f"{row['arm']:<30} {row['sample_0_done_s']:>15.0f}s {row['embedding_wait_s']:>9.0f}s "
              f"{row['total_s'] / 60:>8.1f}m")
    saved = rows[0]["total_s"] - rows[1]["total_s"]
    print(f"saved: {saved / 60:.1f} min ({saved / rows[0]['total_s']:.0%}); the same queries in both: {same}")
    stage_names = list(rows[0]["stages_s"])
    print("stage seconds: " + "; ".join(f"{s} {rows[0]['stages_s'][s]:.0f} / {rows[1]['stages_s'].get(s, 0):.0f}"
                                        for s in stage_names))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
