"""Why the downloads slowed beside the background embedding (``embed_overlap.py --latency-ms 300``): the same
downloads (``--n`` small JPEGs over loopback from a server in another process that waits ``--latency-ms`` before
each answer, fetched by 32 threads with httpx and decoded with PIL, as a download stage does), timed alone and
beside MiniLM embedding WordNet texts (``minilm``'s defaults) in a thread at nice 19 (what a run does now), in a
thread at normal priority, and in a separate process at nice 19 (no GIL shared); on request (``--arms``) also in a
thread or process under Linux's ``SCHED_IDLE`` policy (runs only on a core nothing else wants). Prints seconds and
the ratio to the last "alone"; appends JSON lines to ``--out``. ``--repeat`` runs the arms several times over,
interleaved, to see the spread.

    python benchmarks/embed_beside_downloads.py [--n 1500] [--latency-ms 300] [--server-in-process]
    python benchmarks/embed_beside_downloads.py --n 3000 --latency-ms 0 --repeat 3 \
        --arms "alone,beside a nice-19 thread,beside a SCHED_IDLE thread"
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SERVER = """
import io, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from PIL import Image
delay = float(sys.argv[1]) / 1000
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        time.sleep(delay)
        buf = io.BytesIO(); Image.new("RGB", (64, 64), (120, 30, 200)).save(buf, "JPEG"); body = buf.getvalue()
        self.send_response(200); self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
s = ThreadingHTTPServer(("127.0.0.1", 0), H); s.daemon_threads = True
if __name__ == "__main__":
    print(s.server_address[1], flush=True)
    s.serve_forever()
else:
    threading.Thread(target=s.serve_forever, daemon=True).start()
"""


ARMS = ("alone", "beside a nice-19 thread", "beside a normal thread", "beside a nice-19 process",
        "beside a SCHED_IDLE thread", "beside a SCHED_IDLE process")


def download_all(port: int, n: int) -> float:
    import httpx
    from PIL import Image

    began = time.perf_counter()
    with httpx.Client(limits=httpx.Limits(max_connections=32)) as client:
        def one(i: int) -> None:
            data = client.get(f"http://127.0.0.1:{port}/{i}.jpg").content
            Image.open(io.BytesIO(data)).convert("RGB").resize((48, 48))

        with ThreadPoolExecutor(32) as pool:
            list(pool.map(one, range(n)))
    return time.perf_counter() - began


def embed_forever(stop, niceness: int, idle: bool = False) -> None:  # noqa: ANN001 - a threading or mp Event
    if niceness:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    if idle:  # Linux SCHED_IDLE: runs only on a core nothing else wants, and any woken thread preempts it
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from embed_speed import sample_texts
    from ie_plugins.embedders.minilm import MiniLMEmbedder

    texts, _ = sample_texts(1024 * 8, 0)
    embedder = MiniLMEmbedder()
    while not stop.is_set():
        for lo in range(0, len(texts), 1024):
            if stop.is_set():
                return
            embedder.embed(texts[lo: lo + 1024])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1500)
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "results" / "embed-beside-downloads.jsonl")
    parser.add_argument("--server-in-process", action="store_true",
                        help="serve from a thread of this process, as the simulated web does (its image answers "
                             "then share the GIL with the embedding)")
    parser.add_argument("--arms", default=",".join(ARMS[:4]), help=f"comma-separated, of: {', '.join(ARMS)}")
    parser.add_argument("--repeat", type=int, default=1, help="the arms this many times over, interleaved")
    args = parser.parse_args(argv)
    if args.server_in_process:
        scope: dict = {"__name__": "in_process"}
        sys.argv[1:] = [str(args.latency_ms)]
        exec(SERVER, scope)  # noqa: S102 - the server above, started on a thread here
        port, server = scope["s"].server_address[1], None
    else:
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(args.latency_ms)], stdout=subprocess.PIPE,
                                  text=True)
        port = int(server.stdout.readline())
    rows = []
    try:
        download_all(port, 64)  # warm-up
        for arm in [a.strip() for a in args.arms.split(",")] * args.repeat:
            stop: object = None
            worker: object = None
            if arm not in ARMS:
                raise SystemExit(f"unknown arm {arm!r}; known: {', '.join(ARMS)}")
            if arm != "alone":
                niceness, idle = 0 if "normal" in arm else 19, "SCHED_IDLE" in arm
                if "process" in arm:
                    ctx = multiprocessing.get_context("spawn")
                    stop = ctx.Event()
                    worker = ctx.Process(target=embed_forever, args=(stop, niceness, idle))
                else:
                    stop = threading.Event()
                    worker = threading.Thread(target=embed_forever, args=(stop, niceness, idle))
                worker.start()  # type: ignore[attr-defined]
                time.sleep(20)  # the model loaded and embedding
            seconds = download_all(port, args.n)
            if worker is not None:
                stop.set()  # type: ignore[attr-defined]
                worker.join(120)  # type: ignore[attr-defined]
            rows.append({"arm": arm, "seconds": round(seconds, 1)})
            alone = [r["seconds"] for r in rows if r["arm"] == "alone"] or [seconds]
            print(f"{arm:<28} {seconds:7.1f} s  {seconds / alone[-1]:.2f}x alone", flush=True)
    finally:
        if server is not None:
            server.terminate()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as fh:
        for row in rows:
            fh.write(json.dumps({**row, "n": args.n, "latency_ms": args.latency_ms, "cores": os.cpu_count(),
                                 "server_in_process": args.server_in_process,
                                 "date": time.strftime("%Y-%m-%d %H:%M")}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
