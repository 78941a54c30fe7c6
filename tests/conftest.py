"""Suite-wide safety: no hub downloads, caches inside the test's temp area."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("IE_CACHE_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "ie-test-cache"))
pytest_plugins = ["pytester"]
