"""``ie reproduce DATASET``: the paper's settings for one of its four datasets, an honest estimate of the time,
disk and search quota they need, the paper's Table 1 numbers, and (``--run``) a finished run's own numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

if TYPE_CHECKING:  # pragma: no cover
    from ie.api import Quota

PAPER_ROWS = {
    "clip_rn50": "CLIP ResNet-50 (oracle)",
    "random": "Random exploration",
    "ie": "Internet Explorer (descriptors + label set)",
}


@dataclass(frozen=True)
class PaperDataset:
    key: str
    title: str
    target: Optional[str]  # the ie target plugin name; None when there is no built-in target
    train_images: int
    classes: int
    paper: dict[str, float] = field(default_factory=dict)  # Table 1, linear probe top-1 %
    note: str = ""


DATASETS: dict[str, PaperDataset] = {d.key: d for d in (
    PaperDataset("birdsnap", "Birdsnap", None, 47_000, 500, {"clip_rn50": 57.1, "random": 39.6, "ie": 62.8},
                 "Birdsnap has no torchvision dataset: it is a list of Flickr URLs, many of them dead now. Fetch what "
                 "is left with the authors' script, lay it out as data/birdsnap/train/<species>/*.jpg and "
                 "data/birdsnap/test/<species>/*.jpg (the `folder` target), and keep `target` in the config pointing "
                 "there. Expect fewer training images than the paper had."),
    PaperDataset("flowers102", "Flowers-102", "flowers102", 2_040, 102, {"clip_rn50": 96.0, "random": 95.3, "ie": 99.1}),
    PaperDataset("food101", "Food-101", "food101", 75_750, 101, {"clip_rn50": 86.4, "random": 77.0, "ie": 84.6}),
    PaperDataset("oxford_pets", "Oxford-IIIT Pets", "oxford_pets", 3_680, 37,
                 {"clip_rn50": 88.4, "random": 85.6, "ie": 90.8}),
)}


def engine_quotas() -> list[Quota]:
    """Every registered engine's declared quotas (``SearchEngine.QUOTAS``, as its service documents them)."""
    from ie.host.manager import get_plugin_manager

    return [q for r in get_plugin_manager().registry("engine") for q in getattr(r.factory, "QUOTAS", ())]


@dataclass(frozen=True)
class Assumptions:
    """The rates behind the estimate; all are stated to the user, none is measured here."""

    keep_rate: float = 0.6  # share of hits that download, decode and survive dedupe/leak checks
    kb_per_image: float = 30.0  # stored JPEG, shorter side 256 px, quality 90 (~300 KB as served)
    train_images_per_s: float = 350.0  # MoCo-v3 ResNet-50, 224 px, AMP, one RTX 3090-class GPU
    download_images_per_s: float = 40.0  # sustained, many hosts, with resizing
    checkpoint_gb: float = 0.61  # measured: ResNet-50 + momentum copy + heads (407 MB) + optimizer state (207 MB)


def _fmt_hours(hours: float) -> str:
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h" if hours < 72 else f"{hours / 24:.1f} days"


def estimate(cfg: Any, assume: Assumptions = Assumptions()) -> list[tuple[str, str, str]]:
    """(quantity, value, arithmetic) rows for a config: images, training time, download time, disk."""
    n, q, per_query = cfg.iterations, cfg.queries_per_iter, cfg.images_per_query
    urls = q * per_query
    kept = urls * assume.keep_rate
    samples = kept * (1 + cfg.pcr) * cfg.epochs
    train_h = n * samples / assume.train_images_per_s / 3600
    download_h = n * urls / assume.download_images_per_s / 3600
    images_gb = n * kept * assume.kb_per_image / 1e6
    kept_ckpts = min(n, cfg.keep_checkpoints) if cfg.keep_checkpoints > 0 else n
    ckpt_gb = kept_ckpts * assume.checkpoint_gb
    return [
        ("URLs per iteration", f"{urls:,}", f"{q} queries x {per_query} hits"),
        ("images kept per iteration", f"{kept:,.0f}", f"{urls:,} x {assume.keep_rate:.0%} that download and survive dedupe"),
        ("training samples per iteration", f"{samples:,.0f}",
         f"{kept:,.0f} new x (1 + PCR {cfg.pcr:g}) x {cfg.epochs:g} epochs"),
        ("training time", _fmt_hours(train_h),
         f"{n} iterations x {samples:,.0f} / {assume.train_images_per_s:.0f} img/s (MoCo-v3 R50 224 px, one RTX 3090-class GPU)"),
        ("download time", _fmt_hours(download_h), f"{n} x {urls:,} URLs / {assume.download_images_per_s:.0f} img/s"),
        ("total (plus search, below)", _fmt_hours(train_h + download_h), "the paper: 30-40 h on one RTX 3090"),
        ("disk: images", f"{images_gb:,.1f} GB",
         f"{n} x {kept:,.0f} images x {assume.kb_per_image:.0f} KB (stored at {cfg.resize or 'full'} px; ~300 KB as served)"),
        ("disk: checkpoints", f"{ckpt_gb:,.1f} GB",
         f"the newest {kept_ckpts} of {n} iterations' checkpoints (keep_checkpoints) x {assume.checkpoint_gb} GB"),
    ]


def quota_rows(cfg: Any) -> list[tuple[str, str, str, str, str, str]]:
    """Per engine: calls per iteration, calls in all, time at the engine's rate, days under its daily cap."""
    rows = []
    for quota in engine_quotas():
        name = quota.label
        per_query = math.ceil(cfg.images_per_query / quota.page_size)
        calls = cfg.queries_per_iter * per_query
        total = calls * cfg.iterations
        days = f"{total / quota.daily_cap:,.0f}" if quota.daily_cap else "-"
        rows.append((name, f"{calls:,}", f"{total:,}", _fmt_hours(total / quota.rate_per_second / 3600), days,
                     quota.note))
    return rows


def find_config(dataset: str, config: Optional[Path]) -> Path:
    from ie.api import IEError

    if config is not None:
        return config
    import ie

    for root in (Path.cwd(), Path(ie.__file__).resolve().parents[1]):
        candidate = root / "examples" / "reproduce" / f"{dataset}.toml"
        if candidate.exists():
            return candidate
    raise IEError(f"examples/reproduce/{dataset}.toml not found here or in the ie source tree; "
                  "run from a clone of the repository or pass --config FILE")


def run_numbers(run: Path) -> tuple[dict[str, float], Optional[str]]:
    """The last evaluated iteration's kNN (and linear, when recorded) top-1 in %, the start baseline, the test-set
    size ``n_test`` (when recorded), and the run's target."""
    from ie.store import RunStore

    store = RunStore.open_existing(run)
    try:
        metrics = store.metrics()
        baseline = store.get_state("baseline", {}) or {}
        target = (store.get_state("config", {}) or {}).get("target")
    finally:
        store.close()
    out: dict[str, float] = {}
    evaluated = [i for i in sorted(metrics) if "knn_top1" in metrics[i]]
    if evaluated:
        last = metrics[evaluated[-1]]
        out["iteration"] = float(evaluated[-1])
        out.update({k: 100 * last[k] for k in ("knn_top1", "linear_top1") if k in last})
    if "start" in baseline and "knn_top1" in baseline["start"]:
        out["start_knn_top1"] = 100 * baseline["start"]["knn_top1"]
    n_test = (metrics[evaluated[-1]] if evaluated else {}).get("n_test", baseline.get("start", {}).get("n_test"))
    if n_test:  # runs recorded before n_test have none: their numbers show bare
        out["n_test"] = n_test
    return out, target


def _table(title: str, columns: list[str], rows: list[tuple[str, ...]]) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def reproduce(
    dataset: str = typer.Argument(..., help="flowers102 | food101 | oxford_pets | birdsnap"),
    run: Optional[Path] = typer.Option(None, "--run", help="A finished run directory: show its numbers beside the paper's."),
    config: Optional[Path] = typer.Option(None, "--config", help="Config file (default examples/reproduce/DATASET.toml)."),
    start: bool = typer.Option(False, "--start/--dry-run", help="--dry-run (default) prints the plan; --start runs it."),
) -> None:
    """The paper's settings for DATASET: estimate of time, disk and quota, the paper's Table 1, the command to run."""
    from rich.console import Console

    from ie.api import IEError
    from ie.config import load_config

    if dataset not in DATASETS:
        raise IEError(f"no paper dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    info = DATASETS[dataset]
    path = find_config(dataset, config)
    cfg = load_config(path)
    run_dir = Path("runs") / dataset
    command = f"ie explore --config {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path} --run {run_dir}"
    console = Console(width=max(120, Console().width))
    console.print(f"[bold]{info.title}[/]: {info.classes} classes, ~{info.train_images:,} training images; "
                  f"config {path}")
    console.print(f"settings: engines {cfg.engines}, vocab {cfg.vocab}, embedder {cfg.embedder}, descriptors "
                  f"{cfg.descriptors or 'none'}, label set {cfg.label_set}, {cfg.queries_per_iter} queries x "
                  f"{cfg.images_per_query} images, {cfg.arch} at {cfg.image_size} px, batch {cfg.batch_size}, "
                  f"{cfg.ssl}, {cfg.epochs:g} epochs, reward {cfg.reward}, PCR {cfg.pcr:g}, init {cfg.init}")
    if info.note:
        console.print(f"[yellow]note:[/] {info.note}")
    console.print(_table(f"estimate for {cfg.iterations} iterations (assumptions stated; measure yours with "
                         "`make bench`)", ["quantity", "value", "arithmetic"], estimate(cfg)))
    console.print(_table("search quota by engine (the config uses " + ", ".join(cfg.engines) + ")",
                         ["engine", "calls / iter", "calls in all", "time at its rate", "days under daily cap",
                          "status in 2026"], quota_rows(cfg)))
    numbers = None
    if run is not None:
        numbers, run_target = run_numbers(run)
        if run_target is not None and run_target not in (cfg.target, info.target):
            console.print(f"[yellow]warning:[/] {run} explored target {run_target!r}, not {info.title}")
    print_comparison(console, info, numbers)
    console.print(f"\nrun it with:\n  [bold]{command}[/]\n  (or `ie reproduce {dataset} --start`; resume with "
                  f"`ie resume {run_dir}`; linear probe at the end: `ie evaluate --target {info.target or cfg.target} "
                  f"--checkpoint {run_dir}/checkpoints/backbone_timm.pth`)")
    if start:
        check_ready(cfg)
        from ie.loop.driver import Explorer, StopRequested

        try:
            Explorer(cfg, run_dir).run()
        except StopRequested:
            raise SystemExit(3) from None


def print_comparison(console: Any, info: PaperDataset, numbers: Optional[dict[str, float]]) -> None:
    """The paper's Table 1 column for the dataset, with the run's own numbers below it when given (with their
    95% intervals where the run recorded its test-set size)."""
    from ie.learning.uncertainty import wilson_interval

    rows = [(f"paper: {label}", f"{info.paper[key]:.1f}") for key, label in PAPER_ROWS.items()]
    if numbers is not None:
        def pct(key: str) -> str:
            if key not in numbers:
                return "not recorded"
            if "n_test" not in numbers:
                return f"{numbers[key]:.1f}"
            low, high = wilson_interval(numbers[key] / 100, numbers["n_test"])
            return f"{numbers[key]:.1f} (95% {100 * low:.1f}-{100 * high:.1f}, n={numbers['n_test']:.0f})"

        iteration = f"iteration {numbers['iteration']:.0f}" if "iteration" in numbers else "no evaluation yet"
        rows += [("this run: start, kNN k=20", pct("start_knn_top1")),
                 (f"this run: kNN k=20 ({iteration})", pct("knn_top1")),
                 ("this run: linear probe", pct("linear_top1"))]
    console.print(_table(f"{info.title}: paper Table 1 (linear probe)" + (" and this run" if numbers else ""),
                         ["model", "top-1 %"], rows))
    if numbers is not None and "linear_top1" not in numbers:
        console.print("the paper reports linear-probe accuracy; the loop records kNN only: run the `ie evaluate` "
                      "command below for the linear probe of the final backbone.")


def check_ready(cfg: Any) -> None:
    """Refuse to start what cannot work: a missing init checkpoint or Birdsnap folder."""
    from ie.api import IEError

    init = cfg.init.removeprefix("checkpoint:")
    if cfg.init.startswith("checkpoint:") and not Path(init).exists():
        raise IEError(f"init checkpoint {init} is missing: download the MoCo-v3 ResNet-50 ImageNet checkpoint "
                      "(r-50-1000ep.pth.tar from github.com/facebookresearch/moco-v3) to that path, or set "
                      "init = \"random\" in the config (expect much lower numbers)")
    if cfg.target not in {d.target for d in DATASETS.values()} and not Path(cfg.target).is_dir():
        raise IEError(f"target folder {cfg.target} does not exist (see the note above)")


def register(app: typer.Typer) -> None:
    app.command("reproduce")(reproduce)
