"""`ie export`: the curated images of a run for use elsewhere (imagefolder, webdataset tar shards, parquet), each with
its provenance: licence, licence URL, creator, source page, source URL and engine (``metadata.jsonl`` beside an
image folder, a ``.json`` per image in WebDataset shards, columns in parquet), paths relative to the export.
``licences`` keeps only images whose licence is in the given families (``cc0,pdm,by,by-sa``)."""

from __future__ import annotations

import io
import json
import re
import shutil
import tarfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ie.api import IEError
from ie.outputs.licences import licence_key, licence_url
from ie.store import RunStore
from ie.store.reads import rewarded_images

FORMATS = ("imagefolder", "webdataset", "parquet")


@dataclass(frozen=True)
class ExportItem:
    sha256: str
    path: str  # in the run until written; then relative to the export folder (or the shard's member name)
    url: str | None
    concept: str
    reward: float
    license: str | None
    license_family: str | None  # cc0, pdm, by, by-sa, ..., arr; None: unknown
    license_url: str | None
    creator: str | None
    source_page: str | None
    engine: str | None


def curated(store: RunStore, min_reward: float | None = None,
            licences: frozenset[str] | None = None) -> Iterator[ExportItem]:
    """Every rewarded image with its best concept and provenance, at or above ``min_reward`` and (if given) of
    a licence family in ``licences``, best first."""
    for row in rewarded_images(store):
        family = licence_key(row.license)
        if min_reward is not None and row.reward < min_reward:
            continue
        if licences is not None and family not in licences:
            continue
        yield ExportItem(row.sha256, str(store.run_dir / row.path), row.source_url, row.concept or "unknown",
                         row.reward, row.license, family, row.license_url or licence_url(row.license), row.creator,
                         row.source_page, row.engine)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "unknown"


def export_run(run_dir: str | Path, out: str | Path, fmt: str, min_reward: float | None = None,
               shard_size: int = 1000, licences: frozenset[str] | None = None) -> int:
    """Export to ``out`` in ``fmt``; returns the number of images."""
    if fmt not in FORMATS:
        raise IEError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    store = RunStore.open_existing(run_dir, reconcile=True)
    items = list(curated(store, min_reward, licences))
    store.close()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "imagefolder":
        written = []
        for item in items:
            relative = Path(_slug(item.concept)) / f"{item.sha256}{Path(item.path).suffix}"
            (out / relative.parent).mkdir(exist_ok=True)
            shutil.copyfile(item.path, out / relative)
            written.append(replace(item, path=relative.as_posix()))
        (out / "metadata.jsonl").write_text("".join(json.dumps(asdict(i)) + "\n" for i in written))
    elif fmt == "webdataset":
        for start in range(0, len(items), shard_size):
            with tarfile.open(out / f"shard-{start // shard_size:06d}.tar", "w") as tar:
                for item in items[start:start + shard_size]:
                    tar.add(item.path, arcname=f"{item.sha256}.jpg")
                    meta = json.dumps(asdict(replace(item, path=f"{item.sha256}.jpg"))).encode()
                    info = tarfile.TarInfo(f"{item.sha256}.json")
                    info.size = len(meta)
                    tar.addfile(info, io.BytesIO(meta))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {k: [getattr(i, k) for i in items] for k in ExportItem.__dataclass_fields__ if k != "path"}
        columns["image"] = [Path(i.path).read_bytes() for i in items]
        pq.write_table(pa.table(columns), out / "images.parquet")
    return len(items)
