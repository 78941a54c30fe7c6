"""Library warnings raised while an image is decoded become part of its recorded reason, never console output.

Hand-written because ``warnings.catch_warnings`` swaps process-wide state and is not safe in the thread pool that
decodes images. Instead one ``showwarning`` hook is installed, and it routes each warning to the list of the thread
that raised it (when that thread is inside :func:`recorded_warnings`) or on to Python's usual output. Pillow's
warnings are set to "always" so that every image that warns is recorded, not only the first.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

_local = threading.local()
_forward: list[Any] = [warnings.showwarning]  # the hook ours displaced: warnings outside a block still reach it
_MODULES = r"(PIL|ie\.download\.validate)(\..*)?$"  # Pillow, or our decode call when Pillow warns one frame up


def _show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
          file: TextIO | None = None, line: str | None = None) -> None:
    sink: list[str] | None = getattr(_local, "sink", None)
    if sink is None:
        _forward[0](message, category, filename, lineno, file, line)
        return
    if category.__name__ not in sink:
        sink.append(category.__name__)


def _install() -> None:
    # Re-checked on every use: a test runner or a notebook may have swapped the hook or reset the filters since.
    if warnings.showwarning is not _show:
        _forward[0] = warnings.showwarning
        warnings.showwarning = _show
    if not any(f[0] == "always" and f[3] is not None and f[3].pattern == _MODULES for f in warnings.filters):
        warnings.filterwarnings("always", module=_MODULES)


@contextmanager
def recorded_warnings() -> Iterator[list[str]]:
    """Collect the class names of the warnings this thread raises inside the block, printing none of them."""
    _install()
    previous: Any = getattr(_local, "sink", None)
    _local.sink = []
    try:
        yield _local.sink
    finally:
        _local.sink = previous
