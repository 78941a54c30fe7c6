"""`ie report`: a static HTML page (opens from disk) with curves, top concepts and outcome tables."""

from __future__ import annotations

import html
import os
from pathlib import Path

from ie.learning.uncertainty import change_note, wilson_interval
from ie.store import RunStore
from ie.outputs.licences import licence_counts
from ie.store.reads import concept_best_images, engine_totals, kept_image_licences, top_concepts


def _plot(path: Path, series: dict[str, list[tuple[int, float]]], title: str, ylabel: str) -> bool:
    series = {k: v for k, v in series.items() if v}
    if not series:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    for label, points in series.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def _table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _concept_grid(store: RunStore, report_dir: Path, limit: int = 8, per_concept: int = 8) -> str:
    parts = []
    for name, value in top_concepts(store, None, limit):
        rows = concept_best_images(store, name, per_concept)
        thumbs = "".join(
            f'<img src="{html.escape(os.path.relpath(store.run_dir / p, report_dir))}" title="{v:.3f}">'
            for p, v in rows)
        parts.append(f"<h3>{html.escape(name)} <small>reward {value:.3f}</small></h3><div class=grid>{thumbs}</div>")
    return "".join(parts)


def _number(value: float | None) -> str:
    """Counts (whole numbers: queries, images kept) as integers, rates and rewards with 3 decimals."""
    if value is None or value != value:
        return "-"
    return f"{int(value)}" if float(value).is_integer() and abs(value) >= 1 else f"{value:.3f}"


def _versus_start(config: dict, start: dict[str, float], last: dict[str, float]) -> str:
    """The start model's and the last iteration's target kNN top-1 with 95% intervals, and whether the change is
    more than noise (runs recorded before ``n_test``: bare numbers)."""
    n = last.get("n_test", start.get("n_test"))

    def interval(value: float | None) -> str:
        if value is None or not n:
            return "-"
        low, high = wilson_interval(value, n)
        return f"[{low:.3f}, {high:.3f}]"

    ours = last["knn_top1"]
    begin = start.get("knn_top1")
    rows = [[f"starting model ({config.get('arch')}, init {config.get('init', 'random')})",
             "-" if begin is None else f"{begin:.3f}", interval(begin)],
            ["ours (last iteration)", f"{ours:.3f}", interval(ours)]]
    if begin is not None:
        rows.append(["change from the starting model", f"{ours - begin:+.3f}", change_note(ours, begin, n) or "-"])
    # the paper's CLIP-oracle row needs CLIP weights: `ie evaluate --model clip:RN50 --target ...` prints it
    size = f", {n:.0f} test images" if n else ""
    return (f"<h2>ours vs the starting model (target kNN top-1{size})</h2>"
            + _table(["model", "accuracy", "95% interval"], rows))


def write_report(run_dir: str | Path) -> Path:
    """Write ``run_dir/report/index.html`` (+ PNG plots) and return its path."""
    store = RunStore.open_existing(run_dir, reconcile=True)
    out = store.run_dir / "report"
    out.mkdir(exist_ok=True)
    metrics = store.metrics()
    config = store.get_state("config", {})
    baseline = store.get_state("baseline", {})

    def series(key: str) -> list[tuple[int, float]]:
        return [(i, m[key]) for i, m in sorted(metrics.items()) if key in m]

    sections = [f"<h1>internet-explorer run: {html.escape(store.run_dir.name)}</h1>",
                f"<p>target <b>{html.escape(str(config.get('target')))}</b>, engines "
                f"{html.escape(', '.join(config.get('engines', [])))}, SSL {html.escape(str(config.get('ssl')))}, "
                f"reward {html.escape(str(config.get('reward')))}, {len(metrics)} iterations</p>"]
    if _plot(out / "rewards.png", {"mean image reward": series("mean_image_reward"),
                                   "mean concept reward": series("mean_concept_reward")}, "rewards", "reward"):
        sections.append('<img src="rewards.png">')
    start_knn = baseline.get("start", {}).get("knn_top1")
    if _plot(out / "accuracy.png", {"kNN top-1": series("knn_top1"),
                                    **({"kNN top-1, start model": [(i, start_knn) for i, _ in series("knn_top1")]}
                                       if start_knn is not None else {}),
                                    "linear probe top-1": series("linear_top1"),
                                    "relevant-query precision": series("relevant_query_precision"),
                                    "reward ROC AUC": series("reward_auc"),
                                    "relevant concepts' rank / vocabulary (0 = top)": series("relevant_concept_rank")},
             "target accuracy / precision", "fraction"):
        sections.append('<img src="accuracy.png">')
    accuracy = series("knn_top1")
    if accuracy:
        sections.append(_versus_start(config, baseline.get("start", {}), metrics[accuracy[-1][0]]))
    sections.append("<h2>metrics by iteration</h2>")
    keys = sorted({k for m in metrics.values() for k in m} - {"n_test"})  # the test-set size: in the table above
    sections.append(_table(["iteration", *keys], [[i, *(_number(m.get(k)) for k in keys)]
                                                  for i, m in sorted(metrics.items())]))
    counts = store.outcome_counts()
    sections.append("<h2>download outcomes</h2>" + _table(["outcome", "urls"], sorted(counts.items())))
    sections.append(f"<p>leak guard: <b>{counts.get('leak', 0)}</b> downloads dropped as near-duplicates of "
                    "the target's test/val images</p>")
    licences = licence_counts(kept_image_licences(store))
    sections.append("<h2>licences of kept images</h2>"
                    + _table(["licence family", "images"], [[k, v] for k, v in licences.items()])
                    + "<p>unknown: the engine gave no licence, or one no family matches; `ie export --license "
                    "cc0,pdm,by,by-sa` keeps only reusable images, each with its licence URL, creator and source "
                    "page</p>")
    engines = engine_totals(store)
    sections.append("<h2>engines</h2>" + _table(["engine", "queries", "hits", "failed"], [list(r) for r in engines]))
    sections.append("<h2>top concepts and their best images</h2>" + _concept_grid(store, out))
    style = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:2px 8px}.grid img{width:64px;height:64px;object-fit:cover;margin:2px}")
    page = f"<!doctype html><meta charset=utf-8><title>ie report</title><style>{style}</style>{''.join(sections)}"
    index = out / "index.html"
    index.write_text(page)
    store.close()
    return index
