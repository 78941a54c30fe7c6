"""`ie export`: the curated images of a run for use elsewhere (imagefolder, webdataset tar shards, parquet)."""

from __future__ import annotations

import io
import json
import re
import shutil
import tarfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from ie.api import IEError
from ie.store import RunStore
from ie.store.reads import rewarded_images

FORMATS = ("imagefolder", "webdataset", "parquet")


@dataclass(frozen=True)
class ExportItem:
    sha256: str
    path: str
    url: str | None
    concept: str
    reward: float
    license: str | None


def curated(store: RunStore, min_reward: float | None = None) -> Iterator[ExportItem]:
    """Every rewarded image with its best concept, at or above ``min_reward``, best first."""
    rows = rewarded_images(store)
    for sha, path, url, reward, concept, license_ in rows:
        if min_reward is None or reward >= min_reward:
            yield ExportItem(sha, str(store.run_dir / path), url, concept or "unknown", float(reward), license_)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "unknown"


def export_run(run_dir: str | Path, out: str | Path, fmt: str, min_reward: float | None = None,
               shard_size: int = 1000) -> int:
    """Export to ``out`` in ``fmt``; returns the number of images."""
    if fmt not in FORMATS:
        raise IEError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    store = RunStore.open_existing(run_dir, reconcile=True)
    items = list(curated(store, min_reward))
    store.close()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "imagefolder":
        for item in items:
            folder = out / _slug(item.concept)
            folder.mkdir(exist_ok=True)
            shutil.copyfile(item.path, folder / f"{item.sha256}{Path(item.path).suffix}")
        (out / "metadata.jsonl").write_text("".join(json.dumps(asdict(i)) + "\n" for i in items))
    elif fmt == "webdataset":
        for start in range(0, len(items), shard_size):
            with tarfile.open(out / f"shard-{start // shard_size:06d}.tar", "w") as tar:
                for item in items[start:start + shard_size]:
                    tar.add(item.path, arcname=f"{item.sha256}.jpg")
                    meta = json.dumps(asdict(item)).encode()
                    info = tarfile.TarInfo(f"{item.sha256}.json")
                    info.size = len(meta)
                    tar.addfile(info, io.BytesIO(meta))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {k: [getattr(i, k) for i in items] for k in ExportItem.__dataclass_fields__}
        columns["image"] = [Path(i.path).read_bytes() for i in items]
        pq.write_table(pa.table(columns), out / "images.parquet")
    return len(items)
