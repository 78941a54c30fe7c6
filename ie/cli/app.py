"""The ``ie`` command line (Typer + rich). Commands live in :mod:`ie.cli.commands` modules and plugins."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
import traceback
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from ie import __version__
from ie.api import IEError

app = typer.Typer(
    name="ie",
    help="internet-explorer: targeted representation learning on the open web.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
console = Console()
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ie {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True, help="Print the version."),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an error (also IE_DEBUG=1)."),
) -> None:
    """internet-explorer: targeted representation learning on the open web."""
    if debug:
        os.environ["IE_DEBUG"] = "1"


def _schema(manager: Any, kind: str, name: str) -> list[dict[str, Any]] | None:
    options = manager.registry(kind).get(name).options
    return None if options is None else [option.as_json() for option in options]


@app.command("plugins")
def plugins_command(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List plugins: name, kind, distribution, version, status (broken plugins show their error)."""
    from ie.host.manager import get_plugin_manager

    manager = get_plugin_manager()
    rows = []
    for info in sorted(manager.plugins.values(), key=lambda i: i.name):
        kinds = sorted({kind for kind, _ in info.provides})
        rows.append({
            "name": info.name,
            "kind": ",".join(kinds) if kinds else "-",
            "provides": [f"{kind}:{name}" for kind, name in info.provides],
            "distribution": info.distribution,
            "version": info.version,
            "status": info.status,
            "error": info.error,
            # each provided name's typed options (null: the plugin declares none and takes any key)
            "options": {f"{kind}:{name}": _schema(manager, kind, name) for kind, name in info.provides},
        })
    from ie.learning.starts import list_starts

    starts = [{"start": o.start, "arch": o.arch, "plugin": o.plugin, "installed": o.installed, "missing": o.missing}
              for o in list_starts(manager)]
    for row in rows:  # a weights plugin's row lists the starts it offers
        offered = [s for s in starts if s["plugin"] in {p.split(":", 1)[1] for p in row["provides"]}]
        if offered:
            row["starts"] = offered
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="ie plugins")
    for column in ("name", "kind", "provides", "distribution", "version", "status"):
        table.add_column(column)
    for row in rows:
        style = {"broken": "red", "disabled": "yellow"}.get(row["status"], "")
        status = row["status"] + (f": {row['error']}" if row["error"] else "")
        provides = ", ".join(p.split(":", 1)[1] for p in row["provides"])
        table.add_row(row["name"], row["kind"], provides, row["distribution"] or "", row["version"] or "",
                      status, style=style)
    console.print(table)
    if starts:
        start_table = Table(title="named starts (--init NAME)")
        for column in ("start", "arch", "plugin", "status"):
            start_table.add_column(column)
        for start in starts:
            start_table.add_row(start["start"], start["arch"], start["plugin"],
                                "installed (offline)" if start["installed"] else f"missing: {start['missing']}",
                                style="" if start["installed"] else "yellow")
        console.print(start_table)


@config_app.command("show")
def config_show(
    config: Optional[str] = typer.Option(None, "--config", help="TOML file (default ./ie.toml)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The effective configuration and which secrets are set (values are never shown)."""
    from ie.config import load_config, secrets_status, user_config_path
    from ie.host.manager import get_plugin_manager

    effective = load_config(config).to_dict()
    secrets = secrets_status(get_plugin_manager().declared_secrets())
    if as_json:
        typer.echo(json.dumps({"explore": effective, "secrets": secrets}, indent=2))
        return
    table = Table(title="effective configuration")
    table.add_column("key")
    table.add_column("value")
    for key, value in effective.items():
        table.add_row(key, json.dumps(value))
    console.print(table)
    secret_table = Table(title=f"secrets (environment, or [secrets] in {user_config_path()})")
    secret_table.add_column("variable")
    secret_table.add_column("status")
    for name, status in secrets.items():
        secret_table.add_row(name, status)
    console.print(secret_table)


def _load_command_modules() -> None:
    commands = importlib.import_module("ie.cli.commands")
    for module in pkgutil.iter_modules(commands.__path__):
        if module.name.startswith("_"):
            continue
        importlib.import_module(f"ie.cli.commands.{module.name}").register(app)


def _load_plugin_commands() -> None:
    from ie.host.manager import get_plugin_manager

    manager = get_plugin_manager()
    for impl in manager.hook.ie_register_commands.get_hookimpls():
        try:
            impl.function(cli=app)
        except Exception as err:  # noqa: BLE001 - a broken plugin must not take the CLI down
            err_console.print(f"[yellow]warning:[/] plugin {impl.plugin_name!r} failed to add commands: {err}")


_load_command_modules()


def _is_click_exception(err: BaseException) -> bool:
    """A usage error of click or of the click copy typer bundles (either may raise, depending on the version)."""
    import click

    if isinstance(err, click.ClickException):
        return True
    try:
        from typer._click.exceptions import ClickException as BundledClickException
    except ImportError:  # a typer without a bundled click
        return False
    return isinstance(err, BundledClickException)


def _debug() -> bool:
    return os.environ.get("IE_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def _fail(message: str, code: int) -> None:
    """One plain error line (the traceback too under IE_DEBUG=1 or --debug), then exit ``code``."""
    from rich.markup import escape

    if _debug():
        traceback.print_exc()
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    sys.exit(code)


def main() -> None:
    """Console-script entry point. A user's mistake prints one or two plain lines and exits 2 (usage, inputs),
    a job that failed exits 1, an interrupt 130; never a traceback unless IE_DEBUG=1 (or --debug) asks."""
    import warnings

    from rich.markup import escape

    def show_warning(message, category, *args, **kwargs):  # type: ignore[no-untyped-def]
        err_console.print(f"[yellow]warning:[/] {escape(str(message))}", highlight=False)

    warnings.showwarning = show_warning
    _load_plugin_commands()
    try:
        code = app(standalone_mode=False)
    except IEError as err:
        _fail(str(err), err.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except typer.Abort:
        sys.exit(1)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as err:
        # a path the user gave that is missing, of the wrong kind or not readable
        where = f": {err.filename}" if err.filename else ""
        _fail(f"{err.strerror or err}{where}", 2)
    except Exception as err:  # usage errors: typer 0.2x raises those of the click copy it bundles (typer._click)
        if _is_click_exception(err):
            if _debug():
                traceback.print_exc()
            err.show()  # type: ignore[attr-defined]
            sys.exit(err.exit_code)  # type: ignore[attr-defined]
        # a bug or a failure nobody anticipated: still one line, with the way to see more
        _fail(f"{type(err).__name__}: {err} (run with IE_DEBUG=1 for the traceback, and please report it)", 1)
    sys.exit(code if isinstance(code, int) else 0)
