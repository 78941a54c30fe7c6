"""``ie search``: run one query on one engine plugin and print the hits (a table, or JSON)."""

from __future__ import annotations

import json
from typing import Any, Optional

import typer

from ie.cli.commands._options import parse_options


def engine_options(name: str, config: Optional[str], cli_options: dict[str, Any]) -> dict[str, Any]:
    """What a run gives engine ``name`` (the host's options: the config's seed and the cache), then its
    ``[options.engine.<name>]`` table in the project config, then ``--option``, plus user secrets."""
    from ie.config import load_config, user_secrets
    from ie.loop.session import host_options

    cfg = load_config(config)
    options = {**host_options(cfg.seed), **cfg.plugin_options("engine", name), **cli_options}
    secrets = user_secrets()
    if secrets:
        options.setdefault("secrets", secrets)
    return options


def register(app: typer.Typer) -> None:
    @app.command("search")
    def search(
        query: str = typer.Argument(..., help="The text query, e.g. \"red panda\"."),
        engine: str = typer.Option(..., "--engine", "-e", help="Engine plugin name (see `ie plugins`)."),
        limit: int = typer.Option(40, "--limit", "-n", min=1, help="Number of hits wanted."),
        as_json: bool = typer.Option(False, "--json", help="Print the hits as JSON."),
        option: list[str] = typer.Option([], "--option", "-o", help="Engine option key=value (repeatable)."),
        config: Optional[str] = typer.Option(None, "--config", help="Project TOML file (default ./ie.toml)."),
    ) -> None:
        """Search one engine and print the hits: rank, title, url, license."""
        from dataclasses import asdict

        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        from ie.api import IEError
        from ie.host.manager import get_plugin_manager

        err = Console(stderr=True)
        try:
            options = engine_options(engine, config, parse_options(option))
            instance = get_plugin_manager().create("engine", engine, options)
            try:
                hits = instance.search(query, limit)
            finally:
                instance.close()
        except IEError as error:
            action = getattr(error, "action", None)
            err.print(f"[bold red]error:[/] {escape(str(error))}" + (f" [dim](action: {action})[/]" if action else ""))
            # SystemExit, not typer.Exit: ie.cli.app.main runs the app with standalone_mode=False, where a
            # typer.Exit code is returned and lost.
            raise SystemExit(2) from None
        if as_json:
            typer.echo(json.dumps([asdict(hit) for hit in hits], indent=2, default=str))
            return
        table = Table(title=f"{engine}: {query!r} ({len(hits)} hits)")
        for column in ("rank", "title", "url", "license"):
            table.add_column(column, overflow="fold")
        for hit in hits:
            table.add_row(str(hit.rank), escape(hit.title or ""), escape(hit.url), escape(hit.license or ""))
        Console(width=max(120, Console().width)).print(table)
