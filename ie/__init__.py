"""internet-explorer: targeted representation learning on the open web.

Library use::

    from ie.loop.driver import Explorer
    from ie.config import ExploreConfig
    Explorer(ExploreConfig(iterations=2), run_dir="runs/demo").run()
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("internet-explorer")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
