"""Where is the signal lost between the image reward and the next iteration's queries? Per iteration of a finished
run whose engine knows ground truth (simweb, clipart: ``relevance(query)``, ``image_relevance(url)``):

- **image AUC**: ROC AUC of the image reward, relevant vs other new images (the run's own metric);
- **concept AUC**: ROC AUC of the concept reward, relevant vs other queries (relevant: >= half of the query's top
  results are relevant, as the precision metric counts), overall and split by how many images a query kept
  (fewer than half of ``images_per_query`` vs the rest): whether few-image queries blur it;
- **GP rank**: the run's GP refitted on the concept rewards through that iteration (the run's own brain options
  and seed), and where the vocabulary's relevant concepts then rank by its score among the eligible ones (median
  rank; the vocabulary's relevant concepts are those whose own query is relevant by the engine's ground truth,
  found by asking the engine for every concept that shares a word with its corpus), how many sit in the top
  tier, and the relevant share of the next draw's probability mass beside the next iteration's precision.

    python benchmarks/explore_simweb.py --target clipart --queries 256 --policies gp --seeds 0 --keep-runs runs/bench
    python benchmarks/diagnose_signal.py runs/bench/clipart-gp-0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def auc(labels: list[bool], scores: list[float]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores)) if 0 < sum(labels) < len(labels) else float("nan")


def relevant_concepts(engine: Any, concepts: list[Any]) -> np.ndarray:
    """Ground truth over the vocabulary: whether each concept's own query is relevant (>= 0.5 of its top results).
    Only concepts sharing a word with the engine's corpus are asked (the others find nothing) when the engine says
    which words its corpus has (clipart's BM25); else every concept is asked."""
    words: set[str] | None = None
    local = getattr(engine, "local", None)
    if local is not None and getattr(local, "mode", "bm25") != "clip":
        from ie_plugins.engines.local import tokenize

        words = {w for item in local.items for w in tokenize(item.caption)}
    out = np.zeros(len(concepts), dtype=bool)
    for i, concept in enumerate(concepts):
        if words is not None:
            from ie_plugins.engines.local import tokenize

            if not words.intersection(tokenize(concept.name)):
                continue
        out[i] = (engine.relevance(concept.name) or 0.0) >= 0.5
    return out


_RELEVANT: dict[tuple[Any, ...], np.ndarray] = {}


def diagnose(run_dir: Path) -> list[dict[str, float]]:
    from ie.concepts.brain import ConceptBrain
    from ie.concepts.embeddings import embed_vocabulary
    from ie.api import cache_dir
    from ie.config import ExploreConfig
    from ie.host.manager import get_plugin_manager
    from ie.loop.session import Session
    from ie.store import RunStore
    from ie.store.reads import search_spent

    store = RunStore.open_existing(run_dir)
    cfg = ExploreConfig.from_saved(store.get_state("config"))
    session = Session.build(cfg, run_dir, get_plugin_manager())
    judges = [e for e in session.engines.values() if callable(getattr(e, "relevance", None))]
    if not judges:
        raise SystemExit(f"{run_dir}: no engine of this run knows ground truth (relevance)")
    engine = judges[0]
    target = session.load_target()
    vocabulary = session.create("vocabulary", cfg.vocab, class_names=list(target.class_names))
    concepts = list(vocabulary.concepts())
    embeddings = np.asarray(embed_vocabulary(vocabulary, session.create("embedder", cfg.embedder),
                                             cache_dir() / "embeddings"))
    state = store.get_state("brain")
    key = (tuple(cfg.engines), cfg.target, cfg.vocab, len(concepts))  # the same ground truth for every seed's run
    if key not in _RELEVANT:
        _RELEVANT[key] = relevant_concepts(engine, concepts)
    is_relevant = _RELEVANT[key]
    top_tier = int(state["options"]["tiers"][0][0])
    metrics = store.metrics()
    rewards = store.concept_rewards()
    queries = {q["id"]: q for q in store.queries()}
    limit = cfg.images_per_query
    rows = []
    iterations = sorted({r["iteration"] for r in rewards})
    for k in iterations:
        brain = ConceptBrain(concepts, embeddings, options=state["options"], seed=state["seed"])
        seen = [r for r in rewards if r["iteration"] <= k]
        brain.observe([r["concept_id"] for r in seen], [r["value"] for r in seen], iteration=k)
        if not state["options"].get("exclude_tried", True):  # as the run's estimate stage: spent searches retire
            brain.retire([q["concept_id"] for q in queries.values()
                          if q["iteration"] <= k and search_spent(q["status"], q["n_hits"], limit, q["error"])])
        mine = [r for r in rewards if r["iteration"] == k]
        labels = [(engine.relevance(queries[r["query_id"]]["text"]) or 0.0) >= 0.5 for r in mine]
        values = [r["value"] for r in mine]
        kept = [len(store.query_image_shas(r["query_id"])) for r in mine]
        full = [n >= limit / 2 for n in kept]
        score = brain.score()
        eligible = brain.eligible()
        order = np.argsort(-np.where(eligible, score, -np.inf), kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        candidates = is_relevant & eligible
        prob = brain.probabilities()
        rows.append({
            "iteration": k, "queries": len(mine), "relevant_queries": int(sum(labels)),
            "image_auc": metrics.get(k, {}).get("reward_auc", float("nan")),
            "concept_auc": auc(labels, values),
            "concept_auc_full": auc([lab for lab, f in zip(labels, full) if f], [v for v, f in zip(values, full) if f]),
            "concept_auc_few": auc([lab for lab, f in zip(labels, full) if not f],
                                   [v for v, f in zip(values, full) if not f]),
            "few_image_share": float(np.mean([not f for f in full])) if full else float("nan"),
            "relevant_in_vocabulary": int(is_relevant.sum()),
            "median_rank": float(np.median(rank[candidates])) if candidates.any() else float("nan"),
            "eligible": int(eligible.sum()),
            "relevant_in_top_tier": int(np.isin(order[:top_tier], np.flatnonzero(is_relevant)).sum()),
            "top_tier": top_tier,
            "next_draw_relevant_mass": float(prob[is_relevant].sum()),
            "next_precision": metrics.get(k + 1, {}).get("relevant_query_precision", float("nan")),
        })
    session.close()
    store.close()
    return rows


def print_table(run_dir: Path, rows: list[dict[str, float]]) -> None:
    print(f"\n{run_dir}: {rows[0]['relevant_in_vocabulary'] if rows else 0} concepts of the vocabulary are relevant "
          f"by the engine's ground truth")
    print("| iteration | relevant queries | image AUC | concept AUC | concept AUC, queries with >= half the images / "
          "fewer (share fewer) | median GP rank of the relevant concepts (of eligible) | relevant in the top tier | "
          "next draw's relevant mass | next iteration's precision |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['iteration']} | {r['relevant_queries']} / {r['queries']} | {r['image_auc']:.2f} | "
              f"{r['concept_auc']:.2f} | {r['concept_auc_full']:.2f} / {r['concept_auc_few']:.2f} "
              f"({r['few_image_share']:.0%}) | {r['median_rank']:,.0f} (of {r['eligible']:,}) | "
              f"{r['relevant_in_top_tier']} / {r['top_tier']} | {r['next_draw_relevant_mass']:.3f} | "
              f"{r['next_precision']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="finished run directories")
    args = parser.parse_args()
    for run_dir in args.runs:
        print_table(run_dir, diagnose(run_dir))


if __name__ == "__main__":
    main()
