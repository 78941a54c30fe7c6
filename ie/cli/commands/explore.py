"""`ie explore`, `ie resume`, `ie report`, `ie export`."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Optional

import typer


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
    fresh: bool = typer.Option(False, "--fresh", help="Delete RUN first and start over."),
) -> None:
    """Explore the web for images that help a model on the target; resumable with `ie resume`."""
    from ie.config import load_config
    from ie.loop.driver import Explorer, StopRequested, with_ray_address

    overrides = dict(target=target, engines=engine or None, ssl=ssl, reward=reward, vocab=vocab, embedder=embedder,
                     policy=policy, iterations=iterations, queries_per_iter=queries_per_iter,
                     images_per_query=images_per_query, arch=arch, init=init, image_size=image_size,
                     feature_size=feature_size, seed=seed,
                     device=device, max_hours=max_hours, max_images=max_images, label_set=label_set, executor=executor)
    cfg = load_config(config, overrides)
    if ray_address:
        cfg = with_ray_address(cfg, ray_address)
        cfg = dataclasses.replace(cfg, executor=executor or "ray")
    if fresh and run.exists():
        shutil.rmtree(run)
    try:
        Explorer(cfg, run).run()
    except StopRequested:
        raise typer.Exit(3) from None


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
) -> None:
    """Export the curated dataset of a run."""
    from ie.outputs.export import export_run

    typer.echo(f"exported {export_run(run, out, fmt, min_reward)} images to {out}")
