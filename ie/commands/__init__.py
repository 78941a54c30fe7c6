"""CLI command modules. Each module defines ``register(app: typer.Typer) -> None`` and is discovered
by :mod:`ie.cli`; keep heavy imports inside the command functions."""
