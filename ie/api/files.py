"""Files every part of ie writes the same way: the shared cache folder, and atomic writes.

One helper each, used by the core and by plugins alike (part of the public plugin API)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def cache_dir(*parts: str) -> Path:
    """The shared cache (vocabulary embeddings, materialised targets, image embeddings), or a folder in it:
    ``$IE_CACHE_DIR``, else ``$XDG_CACHE_HOME/ie``, else ``~/.cache/ie``. Not created."""
    root = os.environ.get("IE_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ie"
    return Path(root).expanduser().joinpath(*parts)


@contextmanager
def atomic_write(path: str | Path, *, fsync: bool = False) -> Iterator[BinaryIO]:
    """Write ``path`` through a uniquely named temp sibling, renamed over ``path`` on success and deleted on any
    failure: readers see the old file or the whole new one, never a part, and concurrent writers (threads,
    processes) never share a temp file. ``fsync`` makes the content durable before the rename.

    Write through the yielded file (``torch.save(obj, f)``, not ``torch.save(obj, filename)``): a full disk then
    raises ``OSError(ENOSPC)``, which the loop turns into a resumable stop, where torch's own file writer raises an
    opaque ``RuntimeError``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with open(tmp, "wb") as handle:  # opened by path, so ``handle.name`` says which file is being written
            yield handle
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: bytes, *, fsync: bool = False) -> None:
    """``data`` into ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, fsync=fsync) as handle:
        handle.write(data)
