"""Download benchmark: ie's downloader vs img2dataset on the same loopback URL list.

Serves N generated JPEGs (500-1500 px, 20-50 ms latency, ~2% failures) from a loopback server in its own
process, downloads the list with both tools (resize shorter side to 256, 64 requests in flight each), and
measures the Pillow decode+resize ceiling on the same files. Prints the ratio line

    download: ie X img/s, img2dataset Y img/s, ratio R

Usage: python benchmarks/download_vs_img2dataset.py [--n 2000] [--quick] [--store] [--skip-img2dataset]
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations asks PyPI for updates on import

CONCURRENCY = 64  # img2dataset: processes_count=2 x thread_count=32
RESIZE = 256


# --- data -----------------------------------------------------------------------------------------
def generate_images(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """N photo-like JPEGs (smooth colour fields + texture + noise), 500-1500 px a side; cached in ``folder``."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{i:06d}.jpg" for i in range(n)]
    missing = [i for i, p in enumerate(paths) if not p.exists()]
    if missing:
        print(f"generating {len(missing)} images in {folder} (once) ...", file=sys.stderr)
    for i in missing:
        rng = np.random.default_rng(seed * 1_000_003 + i)
        w, h = int(rng.integers(500, 1501)), int(rng.integers(500, 1501))
        if max(w, h) / min(w, h) > 2.5:
            h = int(w / 1.5)
        small = rng.integers(0, 256, (int(rng.integers(3, 9)), int(rng.integers(3, 9)), 3), dtype=np.uint8)
        field = np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC), dtype=np.int16)
        yy, xx = np.mgrid[0:h, 0:w]
        texture = (np.sin(xx / rng.uniform(3, 30)) * np.cos(yy / rng.uniform(3, 30)) * 25)[..., None]
        noise = rng.normal(0, 8, (h, w, 1))
        pixels = np.clip(field + texture + noise, 0, 255).astype(np.uint8)
        tmp = paths[i].with_suffix(".tmp")
        Image.fromarray(pixels).save(tmp, "JPEG", quality=int(rng.integers(80, 95)))
        tmp.rename(paths[i])
    return paths


# --- server ---------------------------------------------------------------------------------------
def _serve(folder: str, port_conn: multiprocessing.connection.Connection, latency: tuple[float, float],
           fail_every: int) -> None:
    root = Path(folder)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive for clients that want it

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            time.sleep(random.uniform(*latency))
            name = self.path.rsplit("/", 1)[-1]
            idx = int(name.split(".")[0]) if name.split(".")[0].isdigit() else -1
            if idx < 0 or (fail_every and idx % fail_every == fail_every - 1):
                status, body, ctype = (404 if idx % 2 else 500), b"nope", "text/plain"
            else:
                try:
                    body, status, ctype = (root / name).read_bytes(), 200, "image/jpeg"
                except OSError:
                    body, status, ctype = b"nope", 404, "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 512

        def handle_error(self, request: object, client_address: object) -> None:
            pass

    httpd = Server(("127.0.0.1", 0), Handler)
    port_conn.send(httpd.server_address[1])
    httpd.serve_forever()


class BenchServer:
    def __init__(self, folder: Path, latency: tuple[float, float] = (0.02, 0.05), fail_every: int = 50):
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(str(folder), child, latency, fail_every), daemon=True)
        self.proc.start()
        self.port = parent.recv()
        self.host = f"127.0.0.1:{self.port}"

    def urls(self, paths: list[Path]) -> list[str]:
        return [f"http://{self.host}/img/{p.name}" for p in paths]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.join(5)


# --- contenders -----------------------------------------------------------------------------------
def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)  # this process, all its threads
    return usage.ru_utime + usage.ru_stime


def run_ie(urls: list[str], host: str, *, executor: str = "process",
           store_dir: Path | None = None) -> tuple[int, float, float]:
    """(images kept, seconds, CPU seconds of this process: meaningful for the thread pool only)."""
    from ie.download import DownloadOptions, download_list, download_to_store

    options = DownloadOptions(allowed_hosts=frozenset({host}), concurrency=CONCURRENCY, per_host=CONCURRENCY,
                              resize_shorter=RESIZE, jpeg_quality=90, retries=0, executor=executor,  # type: ignore[arg-type]
                              total_timeout=30, min_size=0, max_aspect=1e9)
    start, cpu = time.perf_counter(), _cpu_seconds()
    if store_dir is not None:
        from ie.store import RunStore

        with RunStore.open(store_dir) as store:
            ok = download_to_store(urls, store, iteration=0, options=options, progress=False).ok
    else:
        ok = sum(r.outcome.ok for r in download_list(urls, options))
    return ok, time.perf_counter() - start, _cpu_seconds() - cpu


def run_img2dataset(urls: list[str], work: Path) -> tuple[int, float]:
    import logging

    logging.disable(logging.WARNING)
    from img2dataset import download

    url_file = work / "urls.txt"
    url_file.write_text("\n".join(urls) + "\n")
    out = work / "img2dataset-out"
    shutil.rmtree(out, ignore_errors=True)
    processes = 2
    start = time.perf_counter()
    download(url_list=str(url_file), output_folder=str(out), processes_count=processes,
             thread_count=CONCURRENCY // processes, image_size=RESIZE, resize_mode="keep_ratio",
             resize_only_if_bigger=True, output_format="files", input_format="txt", encode_quality=90,
             number_sample_per_shard=max(1, len(urls) // processes), timeout=30, retries=0,
             enable_wandb=False, distributor="multiprocessing")
    seconds = time.perf_counter() - start
    return sum(1 for _ in out.rglob("*.jpg")), seconds


def decode_resize_ms(paths: list[Path], draft: bool) -> float:
    """CPU milliseconds per image of Pillow decode + resize (shorter side 256), one thread."""
    from PIL import Image

    datas = [p.read_bytes() for p in paths]
    start = time.process_time()
    for data in datas:
        im = Image.open(io.BytesIO(data))
        w, h = im.size
        s = RESIZE / min(w, h)
        size = (max(1, round(w * s)), max(1, round(h * s)))
        if draft:
            im.draft("RGB", size)
        im.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    return (time.process_time() - start) / len(datas) * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="images served (default 2000)")
    ap.add_argument("--quick", action="store_true", help="N=300, smaller ceiling sample (a smoke run)")
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "ie-bench-images",
                    help="where the generated JPEGs are cached")
    ap.add_argument("--store", action="store_true", help="also time ie writing into a run store (fsync per image)")
    ap.add_argument("--executor", choices=["thread", "process", "both"], default="both",
                    help="ie's decode pool (default: both, the faster one counts)")
    ap.add_argument("--skip-img2dataset", action="store_true")
    args = ap.parse_args(argv)
    n = 300 if args.quick else args.n
    paths = generate_images(args.data, n)
    sample = paths[: min(len(paths), 60 if args.quick else 300)]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"conditions: {n} JPEGs {sum(p.stat().st_size for p in paths) / n / 1e3:.0f} KB avg, "
          f"{os.cpu_count()} cores, load avg {load:.2f} before start, {CONCURRENCY} requests in flight, "
          f"latency 20-50 ms, 2% failures")

    server = BenchServer(args.data)
    work = Path(tempfile.mkdtemp(prefix="ie-bench-"))
    try:
        urls = server.urls(paths)
        executors = ["thread", "process"] if args.executor == "both" else [args.executor]
        ie_rate, ie_cpu_ms = 0.0, float("nan")
        for ex in executors:
            ok, sec, cpu = run_ie(urls, server.host, executor=ex)
            rate = ok / sec
            ie_rate = max(ie_rate, rate)
            extra = ""
            if ex == "thread":
                ie_cpu_ms = cpu / max(ok, 1) * 1000
                extra = f", {ie_cpu_ms:.1f} CPU ms per image (HTTP + decode + resize + encode + hashes)"
            print(f"ie ({ex} pool): {ok}/{n} ok in {sec:.1f} s = {rate:.1f} img/s{extra}")
        if args.store:
            ok, sec, _ = run_ie(urls, server.host, executor=executors[0], store_dir=work / "run")
            print(f"ie into run store (file fsync + SQLite row per URL): {ok}/{n} ok in {sec:.1f} s = {ok / sec:.1f} img/s")
        i2d_rate = float("nan")
        if not args.skip_img2dataset:
            ok, sec = run_img2dataset(urls, work)
            i2d_rate = ok / sec
            print(f"img2dataset: {ok}/{n} ok in {sec:.1f} s = {i2d_rate:.1f} img/s")
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    cores = os.cpu_count() or 1
    plain_ms, draft_ms = decode_resize_ms(sample, draft=False), decode_resize_ms(sample, draft=True)
    plain, drafted = cores * 1000 / plain_ms, cores * 1000 / draft_ms
    print(f"ceiling (Pillow decode+resize, {len(sample)} files, x {cores} cores): {plain:.1f} img/s plain "
          f"({plain_ms:.1f} CPU ms/img), {drafted:.1f} img/s with draft() ({draft_ms:.1f} CPU ms/img)")
    print(f"ie share of ceiling (wall clock, machine shared): {ie_rate / plain:.0%} of plain, "
          f"{ie_rate / drafted:.0%} of draft")
    if ie_cpu_ms == ie_cpu_ms:
        print(f"ie share of ceiling (CPU per image, load-independent): {plain_ms / ie_cpu_ms:.0%} of plain, "
              f"{draft_ms / ie_cpu_ms:.0%} of draft")
    print(f"download: ie {ie_rate:.1f} img/s, img2dataset {i2d_rate:.1f} img/s, ratio {ie_rate / i2d_rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
