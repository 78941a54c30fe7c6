"""PNG -> JPEG for the clipart store: RGB on white, at most 256 px, quality 90; in a pool of processes.

Each JPEG is written to a temp file and renamed, so an interrupted conversion resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

from ie.api import write_atomic

MAX_SIDE, JPEG_QUALITY = 256, 90
MAX_PIXELS = 300_000_000  # larger PNGs (two 623-megapixel stop signs) are skipped: ~2.5 GB each once decoded
CHUNK = 16


def to_jpeg(src: str, dst: str, max_pixels: int = MAX_PIXELS) -> str | None:
    """``src`` alpha-composited onto white, at most MAX_SIDE px, as a JPEG at ``dst``; None, or why it failed."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # checked below, before decoding
    try:
        with Image.open(src) as im:
            if im.width * im.height > max_pixels:
                return f"too large: {im.width}x{im.height} pixels"
            im.load()
            alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info  # tRNS: P, L, RGB
            small = im.convert("RGBA" if alpha else "RGB") if im.mode != ("RGBA" if alpha else "RGB") else im
            small.thumbnail((MAX_SIDE, MAX_SIDE))
            if small.mode == "RGBA":
                white = Image.new("RGB", small.size, (255, 255, 255))
                white.paste(small, mask=small.getchannel("A"))
                small = white
            out = io.BytesIO()
            small.save(out, "JPEG", quality=JPEG_QUALITY)
    except Exception as err:  # noqa: BLE001 - any decoder error: skip the image, count it
        return f"{type(err).__name__}: {err}"[:200]
    write_atomic(Path(dst), out.getvalue())
    return None


def convert_many(pairs: list[tuple[str, str]]) -> list[tuple[str, str | None]]:
    """Worker: convert each ``(png, jpg)``; ``(png, None)`` on success, ``(png, reason)`` when it cannot decode."""
    return [(src, to_jpeg(src, dst)) for src, dst in pairs]


def convert_all(root: Path, reals: list[str], store: Path, stamp: str, version: int,
                workers: int | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """Convert the PNGs ``reals`` (relative to ``root``) not yet in ``store``. Returns the failures (path ->
    reason) and the PNGs whose JPEG is byte-identical to another's (path -> the first such path), both also
    kept in ``store/index.json`` under ``stamp`` (the package's fingerprint) so later calls return at once."""
    index = store / "index.json"
    if index.is_file() and (data := json.loads(index.read_text())).get("fingerprint") == stamp \
            and data.get("version") == version:
        return dict(data["skipped"]), dict(data["same"])
    jpg = {r: store / Path(r).with_suffix(".jpg") for r in reals}
    big_first = sorted(reals, key=lambda r: -(root / r).stat().st_size)  # no large straggler at the end
    todo = [(str(root / r), str(jpg[r])) for r in big_first if not jpg[r].exists()]
    reasons = {Path(src).relative_to(root).as_posix(): why for src, why in _run(todo, workers) if why}
    skipped = {r: reasons.get(r, "not converted") for r in sorted(reals) if not jpg[r].exists()}
    first: dict[str, str] = {}  # JPEG digest -> the first PNG that gave it
    same = {}
    for real in sorted(set(reals) - set(skipped)):
        digest = hashlib.sha256(jpg[real].read_bytes()).hexdigest()
        if first.setdefault(digest, real) != real:
            same[real] = first[digest]
    write_atomic(index, json.dumps({"fingerprint": stamp, "version": version, "skipped": skipped,
                                    "same": same}).encode())
    return skipped, same


def _run(todo: list[tuple[str, str]], workers: int | None) -> list[tuple[str, str | None]]:
    """Convert ``todo`` in ``workers`` threads (default 2) with a progress bar on stderr. Threads, not processes:
    Pillow releases the GIL while it decodes, resizes and encodes, and a thread pool needs no picklable
    ``__main__`` (a process pool started with spawn re-imports the caller's script)."""
    from concurrent.futures import ThreadPoolExecutor

    from rich.console import Console
    from rich.progress import Progress

    chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
    results: list[tuple[str, str | None]] = []
    workers = workers or min(2, os.cpu_count() or 1)
    with Progress(console=Console(stderr=True), transient=True, disable=len(todo) < 200) as progress:
        task = progress.add_task(f"clipart: converting {len(todo)} PNGs to JPEG", total=len(todo))
        with ThreadPoolExecutor(max(1, workers)) as pool:
            for done in pool.map(convert_many, chunks):
                results += done
                progress.advance(task, len(done))
    return results
