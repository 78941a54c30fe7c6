"""``ie train`` and ``ie evaluate``: the learning side on the command line (heavy imports inside commands)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from ie.cli.commands._options import parse_options


def resolve_target(spec: str, cache_dir: Path | None = None, seed: int = 0) -> Any:
    """The :class:`ie.api.TargetData` for ``--target``, resolved exactly as ``ie explore`` resolves it, with the
    same host options (a seeded target, e.g. simweb's, is the run's own only with the run's seed)."""
    from ie.host.manager import get_plugin_manager
    from ie.loop.session import host_options, load_target

    return load_target(spec, get_plugin_manager(), lambda name: host_options(seed, cache=cache_dir))


ACCURACIES = ("knn_top1", "linear_top1", "zero_shot_top1")


def with_intervals(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` plus ``<accuracy>_low``/``_high``, the 95% Wilson interval from ``n_test`` (where it is given)."""
    from ie.learning.uncertainty import wilson_interval

    if not result.get("n_test"):
        return result
    out = dict(result)
    for key in ACCURACIES:
        if key in result:
            out[f"{key}_low"], out[f"{key}_high"] = wilson_interval(result[key], result["n_test"])
    return out


def _print(result: dict[str, Any], as_json: bool) -> None:
    result = with_intervals(result)
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    for key, value in result.items():
        if key.endswith(("_low", "_high")) and key.rsplit("_", 1)[0] in ACCURACIES:
            continue
        typer.echo(f"{key:>18}: {value:.4f}" if isinstance(value, float) else f"{key:>18}: {value}")
        if f"{key}_low" in result:
            typer.echo(f"{'95% interval':>18}: [{result[key + '_low']:.4f}, {result[key + '_high']:.4f}] "
                       f"(n={result['n_test']:.0f} test images)")


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train(
        images: Path = typer.Argument(..., help="folder of training images (searched recursively)", exists=True,
                                      file_okay=False, readable=True),
        ssl: str = typer.Option("mocov3", "--ssl", help="SSL method plugin (see `ie plugins`)"),
        arch: str = typer.Option("resnet50", "--arch", help="any timm model name"),
        image_size: int = typer.Option(224, "--image-size"),
        batch_size: int = typer.Option(224, "--batch-size", help="the paper: 224"),
        steps: int = typer.Option(1000, "--steps"),
        out: Path = typer.Option(Path("runs/train"), "--out", help="checkpoint directory"),
        resume: bool = typer.Option(False, "--resume", help="continue from the newest checkpoint in --out"),
        init: str = typer.Option("auto", "--init",
                                 help="auto | imagenet | random | timm[:tag] | checkpoint:PATH (`ie plugins` lists starts)"),
        seed: int = typer.Option(0, "--seed"),
        workers: int = typer.Option(0, "--workers", help="DataLoader worker processes"),
        checkpoint_every: int = typer.Option(0, "--checkpoint-every", help="also checkpoint every N steps"),
        device: str = typer.Option("auto", "--device"),
        option: list[str] = typer.Option([], "--option", "-o", help="SSL option key=value (repeatable)"),
        nproc: int = typer.Option(1, "--nproc", min=1,
                                  help="data-parallel processes on this machine (DDP, one per GPU); "
                                       "--batch-size stays the global batch"),
    ) -> None:
        """Train an SSL method on an image folder; writes step-*.pt checkpoints and backbone.safetensors.

        With --nproc N the command re-launches itself under torchrun, the same as running
        `torchrun --standalone --nproc_per_node N -m ie train IMAGES ...` (without --nproc); on several machines
        use torchrun's --nnodes/--rdzv-endpoint. Rank 0 alone writes checkpoints and prints.
        """
        from ie.learning import distributed
        from ie.api import IEError
        from ie.learning.data import list_images
        from ie.host.manager import get_plugin_manager
        from ie.learning.train import Trainer, latest_checkpoint

        if nproc > 1 and not distributed.launched_by_torchrun():
            import subprocess

            args = ["train", str(images), "--ssl", ssl, "--arch", arch, "--image-size", str(image_size),
                    "--batch-size", str(batch_size), "--steps", str(steps), "--out", str(out), "--init", init,
                    "--seed", str(seed), "--workers", str(workers), "--checkpoint-every", str(checkpoint_every),
                    "--device", device, *(["--resume"] if resume else []), *[f"--option={o}" for o in option]]
            raise typer.Exit(subprocess.call(distributed.torchrun_command(nproc, "ie", args)))
        try:
            paths = list_images(images)
            if not paths:
                raise IEError(f"no images under {images}")
            if latest_checkpoint(out) is not None and not resume:
                raise IEError(f"{out} already holds checkpoints; pass --resume to continue, or choose another --out")
            from ie.loop.session import host_options

            method = get_plugin_manager().create("ssl", ssl, {**host_options(seed), **parse_options(option)})
            distributed.init_from_env(device)
            trainer = Trainer(method, arch, image_size=image_size, batch_size=batch_size, checkpoint_dir=out,
                              device=device, seed=seed, num_workers=workers, checkpoint_every=checkpoint_every,
                              init=init)
            result = trainer.fit(paths, steps)
            weights, main = out / "backbone.safetensors", distributed.is_main()
            if main:
                trainer.save_timm_state_dict(weights)
            distributed.barrier()
        finally:
            distributed.shutdown()
        if not main:
            return
        typer.echo(f"{len(paths)} images, steps {result.resumed_from}->{result.steps}, "
                   f"last loss {result.losses[-1] if result.losses else float('nan'):.4f}, "
                   f"{result.images_per_second:.1f} images/s")
        typer.echo(f"checkpoint: {result.checkpoint}\nbackbone weights (timm): {weights}")

    @app.command("evaluate")
    def evaluate(
        target: str = typer.Option(..., "--target", help="target name (e.g. flowers102) or image folder"),
        checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="ie train checkpoint or backbone weights",
                                                  exists=True, dir_okay=False, readable=True),
        model: Optional[str] = typer.Option(None, "--model", help="clip:<open_clip model>, e.g. clip:RN50"),
        clip_weights: Optional[str] = typer.Option(None, "--clip-weights",
                                                   help="local open_clip checkpoint (default: the 'openai' tag)"),
        arch: Optional[str] = typer.Option(None, "--arch", help="timm arch (read from ie checkpoints)"),
        image_size: Optional[int] = typer.Option(None, "--image-size", help="default: the checkpoint's, or 224"),
        cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="default: the shared cache, $IE_CACHE_DIR or ~/.cache/ie"),
        device: str = typer.Option("auto", "--device"),
        batch_size: int = typer.Option(128, "--batch-size"),
        seed: Optional[int] = typer.Option(None, "--seed", help="the run's seed, for a seeded target such as simweb "
                                           "(default: the checkpoint's, else 0)"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """kNN (k=20) and linear-probe accuracy of a checkpoint, or the CLIP oracle (incl. zero-shot)."""
        from ie.api import IEError
        from ie.api import cache_dir as shared_cache_dir

        try:
            if (checkpoint is None) == (model is None):
                raise IEError("pass exactly one of --checkpoint PATH and --model clip:NAME")
            cache_dir = cache_dir or shared_cache_dir()
            if seed is None and checkpoint is not None:
                from ie.learning.backbones import read_checkpoint

                seed = int(read_checkpoint(checkpoint).get("seed") or 0)
            data = resolve_target(target, cache_dir, seed or 0)
            if model is not None:
                from ie.learning.evaluate import evaluate_model

                result = evaluate_model(model, data, clip_weights=clip_weights or "openai", device=device,
                                        batch_size=batch_size)
            else:
                result = _evaluate_checkpoint(checkpoint, data, arch, image_size, cache_dir, device, batch_size)
        except IEError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from err
        _print({"target": data.name, "model": model or str(checkpoint), **result}, as_json)


def _evaluate_checkpoint(checkpoint: Path, data: Any, arch: str | None, image_size: int | None, cache_dir: Path,
                         device: str, batch_size: int) -> dict[str, float]:
    import hashlib

    from ie.api import IEError
    from ie.learning.backbones import IE_CHECKPOINT_FORMAT, create_backbone, read_checkpoint
    from ie.learning.evaluate import evaluate_featurizer
    from ie.learning.features import ModelFeaturizer

    meta = read_checkpoint(checkpoint)
    if meta.get("format") == IE_CHECKPOINT_FORMAT:
        arch, image_size = arch or meta["arch"], image_size or int(meta["image_size"])
    if arch is None:
        raise IEError(f"{checkpoint} does not name its architecture; pass --arch")
    backbone, _ = create_backbone(arch, init=f"checkpoint:{checkpoint}")
    stat = checkpoint.stat()
    ident = hashlib.sha256(f"{checkpoint.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    featurizer = ModelFeaturizer(backbone, id=f"{arch}-{ident}", image_size=image_size or 224, device=device,
                                 batch_size=batch_size, cache_dir=cache_dir / "features")
    return evaluate_featurizer(featurizer, data)
