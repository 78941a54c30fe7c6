"""CLI command modules. Each module defines ``register(app: typer.Typer) -> None`` and is discovered
by :mod:`ie.cli.app`; keep heavy imports inside the command functions."""
