"""Generated sections of the docs site, from the code itself (so they cannot go stale).

Each generator returns Markdown. ``scripts/mkdocs_hooks.py`` replaces markers such as
``<!-- ie:cli-reference -->`` in docs/*.md with their output at build time; run
``python scripts/docs_gen.py MARKER [ARG]`` to print one section (e.g. ``cli-reference``).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import inspect
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BUILTIN_DISTRIBUTION = "internet-explorer"


def cell(text: Any) -> str:
    """One Markdown table cell: no pipes or newlines."""
    return " ".join(str(text).split()).replace("|", "\\|")


def rst_to_md(text: str) -> str:
    """The little reStructuredText our docstrings use: ``code`` and :role:`target`."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


# CLI ------------------------------------------------------------------------------------------
def walk_commands() -> Iterator[tuple[list[str], Any, Any]]:
    """(path, click command, click context) for ``ie`` and every sub-command, depth first, sorted."""
    import typer

    from ie.cli.app import app

    root = typer.main.get_command(app)

    def walk(cmd: Any, path: list[str], parent: Any) -> Iterator[tuple[list[str], Any, Any]]:
        ctx = cmd.context_class(cmd, info_name=path[-1], parent=parent)  # typer may vendor its own click
        yield path, cmd, ctx
        if is_group(cmd):
            for name in sorted(cmd.list_commands(ctx)):
                sub = cmd.get_command(ctx, name)
                if sub is not None and not getattr(sub, "hidden", False):
                    yield from walk(sub, [*path, name], ctx)

    yield from walk(root, ["ie"], None)


def is_group(cmd: Any) -> bool:
    return hasattr(cmd, "list_commands") and hasattr(cmd, "get_command")


def command_paths() -> list[str]:
    """Every command as typed: ``ie``, ``ie explore``, ``ie vocab list``, ..."""
    return [" ".join(path) for path, _, _ in walk_commands()]


def _param_row(param: Any, ctx: Any) -> str:
    """``| names <type> | help [default, required] |`` from the parameter's own help record."""
    record = param.get_help_record(ctx) if hasattr(param, "get_help_record") else None
    if record is None:  # plain click arguments have no help record
        record = (" / ".join([*param.opts, *param.secondary_opts]), getattr(param, "help", "") or "")
    names, help_text = record
    return f"| `{cell(names)}` | {cell(help_text)} |"


def _first_line(cmd: Any) -> str:
    return cmd.short_help or inspect.cleandoc(cmd.help or "").split("\n")[0]


def cli_reference() -> str:
    """One section per command with usage, description and a table of its arguments and options."""
    out = []
    for path, cmd, ctx in walk_commands():
        level = "#" * min(2 + len(path) - 1, 4)
        out.append(f"{level} {' '.join(path)}\n")
        if cmd.help:
            out.append(inspect.cleandoc(cmd.help).split("\b")[0].strip() + "\n")
        pieces = " ".join(cmd.collect_usage_pieces(ctx))
        out.append(f"```\n{ctx.command_path} {pieces}\n```\n")
        params = [p for p in cmd.params if not getattr(p, "hidden", False)]
        if params:
            out.append("| argument / option | help |\n|---|---|")
            out.extend(_param_row(p, ctx) for p in params)
            out.append("")
        if is_group(cmd):
            subs = [(n, cmd.get_command(ctx, n)) for n in sorted(cmd.list_commands(ctx))]
            out.append("| command | what it does |\n|---|---|")
            out.extend(f"| `{' '.join([*path, n])}` | {cell(_first_line(c))} |" for n, c in subs if c)
            out.append("")
    return "\n".join(out)


# configuration --------------------------------------------------------------------------------
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


def config_reference() -> str:
    """A table of every ExploreConfig field and a complete ie.toml with the defaults."""
    from ie.config import ExploreConfig

    defaults = ExploreConfig()
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    toml = ["[explore]"]
    option_tables: list[str] = []
    for f in dataclasses.fields(ExploreConfig):
        value = getattr(defaults, f.name)
        type_name = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        rows.append(f"| `{f.name}` | `{cell(type_name)}` | `{cell(_toml_value(value) if f.name != 'options' else '...')}` "
                    f"| {cell(f.metadata.get('help', ''))} |")
        if f.name == "options":
            for kind, plugins in value.items():
                for name, opts in plugins.items():
                    option_tables.append(f"\n[explore.options.{kind}.{name}]")
                    option_tables.extend(f"{k} = {_toml_value(v)}" for k, v in opts.items())
        else:
            toml.append(f"{f.name} = {_toml_value(value)}")
    example = "\n".join(toml + option_tables)
    return "\n".join(rows) + f"\n\nEvery default, as an `ie.toml`:\n\n```toml\n{example}\n```\n"


def secrets_table() -> str:
    """Generated from what each plugin declares (its factory's ``SECRETS``)."""
    from ie.host.manager import get_plugin_manager

    manager = get_plugin_manager()
    rows = ["| variable | plugin |", "|---|---|"]
    for registry in manager.registries.values():
        for registration in registry:
            rows += [f"| `{name}` | `{registration.kind} {registration.name}` |"
                     for name in getattr(registration.factory, "SECRETS", ())]
    return "\n".join(rows) + "\n"


ENV_HELP = {
    "IE_DISABLE_PLUGINS": "comma-separated plugin names to block (e.g. a broken third-party plugin)",
    "IE_TRACE_PLUGINS": "`1` prints every plugin registration and hook call to stderr",
    "IE_CACHE_DIR": "shared cache: vocabulary embeddings, materialised targets (default `~/.cache/ie`)",
    "IE_SIMWEB_PORT": "preferred loopback port of the simulated web (default 47011)",
    "IE_CONTACT": "your e-mail or URL, sent in the User-Agent (Wikimedia asks for it)",
    "IE_LAION_URL": "URL of your clip-retrieval backend (engine `laion`)",
    "IE_LAION_INDEX": "index name on that backend (engine `laion`)",
    "IE_LOCAL_PATH": "default `path` of the `local` engine (a folder or caption table)",
    "IE_OFFLINE": "`1`: never download datasets (torchvision targets); `HF_HUB_OFFLINE=1` does the same",
    "IE_FAULT": "tests only: kill the process at a named point (crash-recovery tests)",
}


def environment_table() -> str:
    """Every ``IE_*`` environment variable the code reads, found by scanning the source."""
    found: dict[str, set[str]] = {}
    for path in sorted([*(REPO / "ie").rglob("*.py"), *(REPO / "plugins").rglob("*.py")]):
        for name in re.findall(r"[\"'](IE_[A-Z][A-Z0-9_]+)[\"']", path.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(str(path.relative_to(REPO)))
    rows = ["| variable | meaning | read in |", "|---|---|---|"]
    for name in sorted(found):
        where = ", ".join(f"`{p}`" for p in sorted(found[name])[:3])
        rows.append(f"| `{name}` | {cell(ENV_HELP.get(name, 'see the source'))} | {where} |")
    return "\n".join(rows) + "\n"


# plugins --------------------------------------------------------------------------------------
def builtin_modules() -> dict[str, str]:
    """Entry-point name -> module, for the plugins this distribution ships."""
    return {ep.name: ep.value.split(":")[0] for ep in importlib.metadata.entry_points(group="ie")
            if ep.dist is not None and ep.dist.name == BUILTIN_DISTRIBUTION}


def plugin_reference(kind: str) -> str:
    """The built-in plugins of one kind: a summary table, then each plugin module's docstring."""
    from ie.host.manager import PluginManager

    manager = PluginManager()
    modules = builtin_modules()
    registrations = sorted((r for r in manager.registry(kind) if r.plugin in modules), key=lambda r: r.name)
    rows = [f"| {kind} | entry point | module | summary |", "|---|---|---|---|"]
    rows += [f"| `{r.name}` | `{r.plugin}` | `{modules[r.plugin]}` | {cell(r.help)} |" for r in registrations]
    sections = []
    for plugin in dict.fromkeys(r.plugin for r in registrations):
        doc = inspect.getdoc(importlib.import_module(modules[plugin])) or ""
        names = ", ".join(f"`{r.name}`" for r in registrations if r.plugin == plugin)
        sections.append(f"### {plugin}\n\nRegisters {names} (module `{modules[plugin]}`).\n\n{rst_to_md(doc)}\n")
    return "\n".join(rows) + "\n\n" + "\n".join(sections)


# run store ------------------------------------------------------------------------------------
TABLE_HELP = {
    "meta": "schema version of the store",
    "state": "resumable run state as JSON: config, concept-brain state, baseline metrics, ...",
    "stages": "one row per (iteration, stage) with its status: what `ie resume` skips",
    "concepts": "the vocabulary of the run (id, name, the text the embedder saw)",
    "queries": "every planned/searched query: iteration, concept, engine, descriptor, status, error",
    "hits": "every search result of every query, with license and attribution",
    "downloads": "one outcome per URL (ok / failed reason / duplicate / leak ...), with timing",
    "images": "kept images: content hash, path under images/, size, perceptual hash, source",
    "image_rewards": "reward of each image under a reward function",
    "concept_rewards": "reward of each query's concept (mean of its top-10 image rewards)",
    "replay": "images in the replay buffer and the iteration that added them",
    "checkpoints": "model checkpoints per iteration",
    "metrics": "per-iteration metrics: knn_top1, queries, images_kept, mean rewards, ...",
}


def store_schema() -> str:
    """Every table of the run store, built by applying ie.store.schema.MIGRATIONS to an in-memory database."""
    from ie.store.schema import MIGRATIONS, SCHEMA_VERSION

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for version in sorted(MIGRATIONS):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
    out = [f"Schema version **{SCHEMA_VERSION}** (migrations: {', '.join(map(str, sorted(MIGRATIONS)))}).\n"]
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY rowid"):
        out.append(f"### {table}\n\n{TABLE_HELP.get(table, '')}\n")
        out.append("| column | type | key |\n|---|---|---|")
        for _, name, type_, notnull, _, pk in conn.execute(f"PRAGMA table_info({table})"):
            key = "primary" if pk else ("not null" if notnull else "")
            out.append(f"| `{name}` | {type_ or ''} | {key} |")
        indexes = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index' AND tbl_name=? "
                                              "AND sql IS NOT NULL", (table,))]
        out.append(f"\nIndexes: {', '.join(f'`{i}`' for i in indexes)}.\n" if indexes else "")
    return "\n".join(out)


# paper numbers, benchmarks --------------------------------------------------------------------
def paper_table() -> str:
    from ie.cli.commands.reproduce import DATASETS, PAPER_ROWS

    head = "| linear probe, top-1 % | " + " | ".join(d.title for d in DATASETS.values()) + " |"
    rows = [head, "|---" * (len(DATASETS) + 1) + "|"]
    for key, label in PAPER_ROWS.items():
        rows.append(f"| {label} | " + " | ".join(f"{d.paper[key]:.1f}" for d in DATASETS.values()) + " |")
    return "\n".join(rows) + "\n"


def benchmark_results() -> str:
    """benchmarks/RESULTS.md when the lead has written it, else a clearly marked empty table."""
    results = REPO / "benchmarks" / "RESULTS.md"
    if results.exists():
        return results.read_text(encoding="utf-8")
    rows = ["!!! warning \"Figures not filled in yet\"", "    The lead fills this table from a full `make bench` run "
            "(or writes `benchmarks/RESULTS.md`, which then replaces it).", "",
            "| benchmark | ours | reference | ratio | machine |", "|---|---|---|---|---|"]
    for name in ("download_vs_img2dataset", "reward_knn", "ssl_step", "concepts_gp", "explore_simweb"):
        rows.append(f"| `{name}` | TODO | TODO | TODO | TODO |")
    return "\n".join(rows) + "\n"


def error_catalogue() -> str:
    sys.path.insert(0, str(Path(__file__).parent))
    from docs_errors import error_catalogue as catalogue

    return catalogue(REPO)


GENERATORS: dict[str, Callable[..., str]] = {
    "cli-reference": cli_reference,
    "config-reference": config_reference,
    "secrets": secrets_table,
    "environment": environment_table,
    "plugins": plugin_reference,
    "store-schema": store_schema,
    "paper-table": paper_table,
    "benchmark-results": benchmark_results,
    "errors": error_catalogue,
}
MARKER = re.compile(r"<!--\s*ie:([a-z-]+)(?:\s+([a-z_-]+))?\s*-->")


def render_markers(markdown: str) -> str:
    """Replace every ``<!-- ie:NAME [ARG] -->`` with the generator's output; unknown names raise."""

    def replace(match: re.Match[str]) -> str:
        name, arg = match.group(1), match.group(2)
        if name not in GENERATORS:
            raise KeyError(f"unknown docs marker ie:{name}; known: {', '.join(GENERATORS)}")
        return GENERATORS[name](arg) if arg else GENERATORS[name]()

    return MARKER.sub(replace, markdown)


if __name__ == "__main__":
    print(GENERATORS[sys.argv[1]](*sys.argv[2:]))
