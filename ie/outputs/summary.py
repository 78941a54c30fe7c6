"""Per-iteration summary printed by the loop, and the top-concepts query `ie concepts explain` shares."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ie.learning.uncertainty import format_accuracy, format_change
from ie.store import RunStore
from ie.outputs.licences import licence_counts
from ie.store.reads import failed_download_count, failure_kind, kept_image_licences, top_concepts


def query_outcomes(store: RunStore, iteration: int) -> dict[str, int]:
    """The iteration's queries by outcome: ``hits`` (the engine answered with results), ``empty`` (no result),
    ``failed (<kind>)`` (auth, quota, throttled, network, paused, ...: :func:`failure_kind`), ``planned`` (not
    searched yet)."""
    counts: dict[str, int] = {}
    for query in store.queries(iteration=iteration):
        if query["status"] == "failed":
            name = f"failed ({failure_kind(query['error'])})"
        elif query["status"] == "done":
            name = "hits" if query["n_hits"] else "empty"
        else:
            name = str(query["status"])
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def print_iteration_summary(console: Console, store: RunStore, iteration: int, metrics: dict[str, float]) -> None:
    failed = failed_download_count(store, iteration)
    table = Table(title=f"iteration {iteration}", show_header=False)
    table.add_row("queries", f"{int(metrics.get('queries', 0))}")
    outcomes = query_outcomes(store, iteration)
    if outcomes:  # they add up to the queries of the iteration: nothing is hidden
        table.add_row("queries by outcome", ", ".join(f"{name} {n}" for name, n in outcomes.items()))
    table.add_row("images kept / failed", f"{int(metrics.get('images_kept', 0))} / {failed}")
    table.add_row("mean image reward", f"{metrics.get('mean_image_reward', 0):.3f}")
    licences = licence_counts(kept_image_licences(store, iteration))
    if licences:  # images with no known licence are counted, never hidden
        table.add_row("licences of kept images", ", ".join(f"{family} {n}" for family, n in licences.items()))
    if "relevant_query_precision" in metrics:
        table.add_row("relevant-query precision", f"{metrics['relevant_query_precision']:.2f}")
    if "reward_auc" in metrics:
        table.add_row("reward ROC AUC (relevant vs other images)", f"{metrics['reward_auc']:.2f}")
    baseline = store.get_state("baseline", {}).get("start", {})
    n_test = metrics.get("n_test", baseline.get("n_test"))  # runs recorded before n_test: bare numbers
    for key, label in (("knn_top1", "kNN"), ("linear_top1", "linear-probe")):
        if key in metrics:
            table.add_row(f"target {label} accuracy", format_accuracy(metrics[key], n_test))
            if baseline.get(key) is not None:
                table.add_row(f"{label} change from start model ({baseline[key]:.3f})",
                              format_change(metrics[key], baseline[key], n_test))
    table.add_row("top concepts", ", ".join(f"{name} ({value:.2f})" for name, value in top_concepts(store, iteration)))
    console.print(table)
