"""The ``ie`` command line (Typer + rich)."""

from ie.cli.app import app, main

__all__ = ["app", "main"]
