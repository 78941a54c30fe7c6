"""Suite-wide safety: no hub downloads, caches inside the test's temp area."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("IE_CACHE_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "ie-test-cache"))
pytest_plugins = ["pytester"]


def pytest_collection_modifyitems(config, items):  # noqa: ANN001 - pytest's hook signature
    """Slow end-to-end tests first (stable order otherwise): with parallel workers (`make test`) the longest
    tests then run beside the many short ones instead of after them, which sets the suite's wall time."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
