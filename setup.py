"""Package layout: the core is `ie/`; the built-in plugins live in `plugins/` and install as `ie_plugins`.

pyproject.toml cannot glob sub-packages of a renamed directory, so the package list is computed here.
"""
from setuptools import find_packages, setup

setup(
    package_dir={"ie": "ie", "ie_plugins": "plugins"},
    packages=find_packages(include=["ie", "ie.*"])
    + ["ie_plugins"]
    + ["ie_plugins." + name for name in find_packages("plugins")],
)
