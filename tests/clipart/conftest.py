"""The openclipart-png data for the clipart tests, materialised once per session into a temp cache.

The data is required, never skipped: ``make setup`` fetches it (scripts/fetch_openclipart.sh). On a development
machine without it, the copy extracted under /tmp/debs is used through IE_OPENCLIPART_DIR.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ie.api import IEError
from ie_plugins.clipart import data

DEV_COPY = Path("/tmp/debs/oc/usr/share/openclipart/png")


@pytest.fixture(scope="session")
def clipart_root() -> Iterator[Path]:
    """The png folder the plugin finds by itself, else the development copy (through IE_OPENCLIPART_DIR)."""
    missing = ""
    with pytest.MonkeyPatch.context() as patch:
        try:
            root = data.find_root()
        except IEError as error:
            missing = str(error)
            patch.setenv("IE_OPENCLIPART_DIR", str(DEV_COPY))
        if missing and not DEV_COPY.is_dir():
            pytest.fail(f"the clipart tests need openclipart-png: {missing}", pytrace=False)
        yield root if not missing else data.find_root()


@pytest.fixture(scope="session")
def clipart_files(clipart_root: Path) -> dict[str, str]:
    return data.list_pngs(clipart_root)


@pytest.fixture(scope="session")
def clipart_cache(clipart_root: Path, tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A cache dir holding both presets, materialised once per test run (about 90 s on two busy cores): parallel
    workers (pytest-xdist) share it through the run's common temp folder, the first one building it under a lock."""
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    cache = shared / "clipart-cache"
    with FileLock(str(shared / "clipart-cache.lock")):
        for preset in data.PRESETS:
            data.prepare(preset, cache_dir=cache)
    return cache
