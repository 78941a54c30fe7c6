"""`ie explore`, `ie resume`, `ie report`, `ie export`."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any, Optional

import typer

from ie.cli.commands._options import parse_options


def register(app: typer.Typer) -> None:
    app.command("explore")(explore)
    app.command("resume")(resume)
    app.command("report")(report)
    app.command("export")(export)


def explore(
    run: Path = typer.Option(Path("runs/demo"), "--run", help="Run directory (created if missing)."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML config (default ./ie.toml)."),
    target: Optional[str] = typer.Option(None, help="Target: plugin name or image folder."),
    engine: Optional[list[str]] = typer.Option(None, "--engine", help="Search engine (repeat to mix)."),
    ssl: Optional[str] = typer.Option(None, help="SSL method: mocov3 | simsiam | ..."),
    reward: Optional[str] = typer.Option(None, help="Reward: knn | clip | ..."),
    vocab: Optional[str] = typer.Option(None, help="Vocabulary: wordnet | simweb | file | labels | ..."),
    embedder: Optional[str] = typer.Option(None, help="Text embedder: hashing | minilm | clip-text"),
    policy: Optional[str] = typer.Option(None, help="gp (paper) | random | no-gp (ablation)"),
    iterations: Optional[int] = typer.Option(None, help="Iterations."),
    queries_per_iter: Optional[int] = typer.Option(None, help="Concepts per iteration (paper: 256)."),
    images_per_query: Optional[int] = typer.Option(None, help="Hits per query (paper: 100)."),
    arch: Optional[str] = typer.Option(None, help="timm backbone."),
    init: Optional[str] = typer.Option(None, "--init", help="Start: auto | imagenet | random | timm[:tag] | "
                                       "checkpoint:PATH (`ie plugins` lists the named starts)."),
    image_size: Optional[int] = typer.Option(None, "--image-size", help="Training resolution (paper: 224)."),
    feature_size: Optional[int] = typer.Option(None, "--feature-size", help="Resolution of rewards and evaluation "
                                               "(default 128; 0 = the training resolution)."),
    seed: Optional[int] = typer.Option(None, help="Seed."),
    device: Optional[str] = typer.Option(None, help="auto | cpu | cuda"),
    max_hours: Optional[float] = typer.Option(None, help="Budget: stop after this many hours."),
    max_images: Optional[int] = typer.Option(None, help="Budget: stop after this many kept images."),
    label_set: Optional[bool] = typer.Option(None, "--label-set/--no-label-set", help="Label-set mode."),
    executor: Optional[str] = typer.Option(None, help="Where search/download/scoring run: local | ray."),
    ray_address: Optional[str] = typer.Option(None, help="Ray cluster address (auto, ray://head:10001)."),
    license: Optional[str] = typer.Option(None, "--license", help="Keep only images under these licence families, "
                                          "e.g. cc0,pdm,by,by-sa (asked of engines that filter, checked on hits)."),
    option: list[str] = typer.Option([], "--option", "-o", help="Any plugin option, KIND.NAME.KEY=VALUE "
                                     "(e.g. engine.flickr.license=cc0, reward.knn.k=15); repeatable."),
    fresh: bool = typer.Option(False, "--fresh", help="Delete RUN first and start over."),
) -> None:
    """Explore the web for images that help a model on the target; resumable with `ie resume`."""
    from ie.loop.driver import Explorer, StopRequested, with_ray_address

    overrides = dict(target=target, engines=engine or None, ssl=ssl, reward=reward, vocab=vocab, embedder=embedder,
                     policy=policy, iterations=iterations, queries_per_iter=queries_per_iter,
                     images_per_query=images_per_query, arch=arch, init=init, image_size=image_size,
                     feature_size=feature_size, seed=seed,
                     device=device, max_hours=max_hours, max_images=max_images, label_set=label_set, executor=executor,
                     licenses=[f.strip().lower() for f in license.split(",") if f.strip()] if license else None)
    cfg = load_config_explained(config, overrides)
    if option:
        cfg = dataclasses.replace(cfg, options=merge_options(cfg.options, option))
    if ray_address:
        cfg = with_ray_address(cfg, ray_address)
        cfg = dataclasses.replace(cfg, executor=executor or "ray")
    if fresh and run.exists():
        shutil.rmtree(run)
    try:
        Explorer(cfg, run).run()
    except StopRequested:
        raise typer.Exit(3) from None


def load_config_explained(path: Optional[str], overrides: dict[str, Any]) -> Any:
    """:func:`ie.config.load_config`, where a missing ``--target`` also names a misspelt engine (nearest name)
    and the engines' API keys that are not set, so the user fixes everything in one go."""
    from ie.api import IEError
    from ie.config import TargetNeededError, load_config, secrets_status
    from ie.host.manager import get_plugin_manager

    try:
        return load_config(path, overrides)
    except TargetNeededError as err:
        registry = get_plugin_manager().registry("engine")
        factories = [registry.get(name).factory for name in err.engines]  # an unknown name: "did you mean"
        # a factory that is no SearchEngine subclass declares at most SECRETS
        declared = [name for factory in factories
                    for name in (factory.required_secrets() if hasattr(factory, "required_secrets")
                                 else getattr(factory, "SECRETS", ()))]
        missing = [name for name, state in secrets_status(declared).items() if state == "missing"]
        keys = f"; and set {', '.join(missing)} (environment or `ie config`)" if missing else ""
        raise IEError(f"{err}{keys}") from None


def merge_options(options: dict[str, Any], pairs: list[str]) -> dict[str, Any]:
    """``--option KIND.NAME.KEY=VALUE`` pairs merged into the ``[options.KIND.NAME]`` tables (values parsed as
    JSON when they parse); the tables are then checked like the config file's (unknown key: nearest name)."""
    from ie.api import IEError

    merged = {kind: {name: dict(table) for name, table in tables.items()} for kind, tables in options.items()}
    for key, value in parse_options(pairs).items():
        parts = key.split(".")
        if len(parts) != 3 or not all(parts):
            raise IEError(f"--option {key}=...: expected KIND.NAME.KEY=VALUE, e.g. engine.flickr.license=cc0 or "
                          "reward.knn.k=15")
        kind, name, option = parts
        merged.setdefault(kind, {}).setdefault(name, {})[option] = value
    return merged


def resume(
    run: Path = typer.Argument(..., help="Run directory to continue."),
    device: Optional[str] = typer.Option(None, help="Go on on another device: auto | cpu | cuda | cuda:N."),
    iterations: Optional[int] = typer.Option(None, help="Total iterations: more than the run had extends it."),
    max_hours: Optional[float] = typer.Option(None, help="New time budget for this session (0 = none)."),
    max_images: Optional[int] = typer.Option(None, help="New budget of kept images (0 = none)."),
    executor: Optional[str] = typer.Option(None, help="Where search/download/scoring run: local | ray."),
    ray_address: Optional[str] = typer.Option(None, help="Go on on this Ray cluster (auto, HOST:PORT, "
                                              "ray://head:10001)."),
) -> None:
    """Continue a run after Ctrl-C, a crash or kill -9: no query, download or reward is lost or doubled.
    Runtime settings may change on resume; what fixes the run's results (target, engines, vocabulary, SSL
    method, seed, ...) may not."""
    from ie.loop.driver import Explorer, StopRequested

    runtime = dict(device=device, iterations=iterations, max_hours=max_hours, max_images=max_images,
                   executor=executor, ray_address=ray_address)
    try:
        Explorer.resume(run, runtime={k: v for k, v in runtime.items() if v is not None}).run()
    except StopRequested:
        raise typer.Exit(3) from None


def report(run: Path = typer.Argument(..., help="Run directory.")) -> None:
    """Write RUN/report/index.html (curves, top concepts, outcomes) and print its path."""
    from ie.outputs.report import write_report

    typer.echo(str(write_report(run)))


def export(
    run: Path = typer.Argument(..., help="Run directory."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    fmt: str = typer.Option("imagefolder", "--format", help="imagefolder | webdataset | parquet"),
    min_reward: Optional[float] = typer.Option(None, help="Keep images with reward >= this."),
    license: Optional[str] = typer.Option(None, "--license", help="Keep only these licence families, e.g. "
                                          "cc0,pdm,by,by-sa (also: by-nd, by-nc, by-nc-sa, by-nc-nd, arr)."),
) -> None:
    """Export the curated dataset of a run, each image with its licence, licence URL, creator and source page."""
    from ie.outputs.export import export_run
    from ie.outputs.licences import parse_licence_filter

    licences = parse_licence_filter(license) if license else None
    typer.echo(f"exported {export_run(run, out, fmt, min_reward, licences=licences)} images to {out}")
