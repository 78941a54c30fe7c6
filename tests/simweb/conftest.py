"""Each simweb test starts with no active target definition (a loaded target sets one per process)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ie_plugins.simweb import world


@pytest.fixture(autouse=True)
def _no_active_target() -> Iterator[None]:
    world.clear_active_targets()
    yield
    world.clear_active_targets()
