"""pytest fixtures for ie and plugin authors (installed as the ``pytest11`` entry point ``ie``).

- ``ie_run_store``: a fresh :class:`ie.store.RunStore` in a temporary run directory.
- ``ie_plugin_manager``: a plugin manager with the installed plugins, private to the test.
- ``ie_register_plugin``: ``ie_register_plugin(module_or_object, name=None)`` registers a plugin in
  ``ie_plugin_manager`` (and the process-wide one) for this test only.
- ``ie_image_server``: a loopback HTTP server serving generated JPEGs (``server.image_urls(10)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ie.testing.imageserver import ImageServer


@pytest.fixture
def ie_run_store(tmp_path: Path) -> Iterator[Any]:
    from ie.store import RunStore

    store = RunStore.open(tmp_path / "run")
    yield store
    store.close()


@pytest.fixture
def ie_plugin_manager(monkeypatch: pytest.MonkeyPatch) -> Any:
    import ie.host.manager

    manager = ie.host.manager.PluginManager()
    monkeypatch.setattr(ie.host.manager, "_default", manager)
    return manager


@pytest.fixture
def ie_register_plugin(ie_plugin_manager: Any) -> Iterator[Callable[..., Any]]:
    registered: list[str] = []

    def register(plugin: object, name: str | None = None) -> Any:
        info = ie_plugin_manager.register(plugin, name=name)
        registered.append(info.name)
        return info

    yield register
    for name in registered:
        ie_plugin_manager.unregister(name)


@pytest.fixture
def ie_image_server() -> Iterator[ImageServer]:
    server = ImageServer()
    yield server
    server.close()
