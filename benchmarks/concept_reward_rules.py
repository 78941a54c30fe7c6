"""Which concept reward ranks a web's relevant queries best, and what do the result titles know? Read back from
finished runs on the clip-art web (``explore_simweb.py --keep-runs``), query by query:

- **concept reward rules**, each from the same stored image rewards of each query: the padded top-10 mean
  (``pad_short_queries``), the paper's top-10 mean over the images there are, the mean, the median, shrunk means;
  per (run, iteration): ROC AUC of relevant vs other queries (all, and those with >= 1 image; an empty query at
  the iteration's lowest) and the relevant share of its 10 best-rewarded queries. Relevant: the engine's ground
  truth, >= half of the query's top results relevant (as the precision metric counts);
- **relevance feedback**: after each iteration, the words of the rewarded images' hit titles scored as the run
  scores them (:func:`ie.concepts.feedback.title_word_scores`), every untried WordNet concept by its best name word,
  and the relevant share of the 256 best, beside the relevant share of the run's own next draw.

    python benchmarks/explore_simweb.py --target clipart --queries 256 --policies gp-words --seeds 0,1,2,3,4 \\
        --keep-runs runs/clip
    python benchmarks/concept_reward_rules.py runs/clip/clipart-gp-words-*
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rules(pooled: list[float]) -> dict[str, Callable[[list[float]], float | None]]:
    p10, p50 = np.percentile(pooled, 10), np.percentile(pooled, 50)

    def top(v: list[float]) -> list[float]:
        return sorted(v, reverse=True)[:10]
    return {
        "top-10 mean, padded at the 10th percentile (pad_short_queries)": lambda v: (sum(top(v)) + p10 * (10 - len(top(v)))) / 10,
        "top-10 mean of the images there are (the paper's)": lambda v: float(np.mean(top(v))) if v else None,
        "mean": lambda v: float(np.mean(v)) if v else None,
        "median": lambda v: float(np.median(v)) if v else None,
        "mean shrunk to the median by 2 images": lambda v: (sum(v) + 2 * p50) / (len(v) + 2),
        "top-10 mean shrunk to the 10th percentile by 1 image": lambda v: (sum(top(v)) + p10) / (len(top(v)) + 1),
    }


def auc(labels: list[bool], scores: list[float]) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores)) if 0 < sum(labels) < len(labels) else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=256, help="feedback: the best concepts whose relevance is read")
    args = parser.parse_args()
    from ie.concepts.feedback import NameWords, title_word_scores
    from ie.store import RunStore
    from ie.store.reads import titled_image_rewards, stored_concepts
    from ie.config import ExploreConfig
    from ie.host.manager import get_plugin_manager
    from ie.loop.session import Session

    first = RunStore.open_existing(args.runs[0])
    session = Session.build(ExploreConfig.from_saved(first.get_state("config")), args.runs[0], get_plugin_manager())
    first.close()
    engine = next(e for e in session.engines.values() if callable(getattr(e, "relevance", None)))
    known: dict[str, bool] = {}

    def relevant(name: str) -> bool:
        if name not in known:
            known[name] = engine.relevance(name) >= 0.5
        return known[name]

    table: dict[str, dict[str, list[float]]] = {}
    feedback: dict[int, list[tuple[float, float, float]]] = {}
    names: NameWords | None = None
    for run in args.runs:
        store = RunStore.open(run)
        concepts = stored_concepts(store)
        names = names or NameWords([c.name for c in concepts])
        rewards = store.image_rewards()
        iterations = sorted({q["iteration"] for q in store.queries()})
        for it in iterations:
            per = [(relevant(q["text"]), [rewards[s] for s in store.query_image_shas(q["id"]) if s in rewards])
                   for q in store.queries(iteration=it, status="done")]
            pooled = [x for _, v in per for x in v]
            if not pooled:
                continue
            for name, rule in rules(pooled).items():
                values = [rule(v) for _, v in per]
                floor = min(x for x in values if x is not None)
                scores = [floor if x is None else x for x in values]
                labels = [r for r, _ in per]
                row = table.setdefault(name, {"all": [], "found": [], "top10": []})
                for key, got in (("all", auc(labels, scores)),
                                 ("found", auc([r for r, v in per if v], [s for s, (_, v) in zip(scores, per) if v]))):
                    if got is not None:
                        row[key].append(got)
                best = np.argsort(-np.asarray(scores), kind="stable")[:10]
                row["top10"].append(float(np.mean([labels[i] for i in best])))
            if it + 1 in iterations:  # feedback from what was scored through this iteration
                words = title_word_scores(titled_image_rewards(store, through_iteration=it))
                tried = {q["concept_id"] for q in store.queries() if q["iteration"] <= it}
                index = {c.id: i for i, c in enumerate(concepts)}
                shares = []
                for how in ("max", "mean"):
                    score = names.scores(words, how)
                    score[[index[c] for c in tried if c in index]] = -np.inf
                    best = [i for i in np.argsort(-score, kind="stable")[: args.top] if np.isfinite(score[i])]
                    shares.append(float(np.mean([relevant(concepts[i].name) for i in best])) if best else 0.0)
                next_draw = [relevant(q["text"]) for q in store.queries(iteration=it + 1)]
                feedback.setdefault(it, []).append((shares[0], shares[1],
                                                    float(np.mean(next_draw)) if next_draw else float("nan")))
        store.close()
    session.close()
    print("| concept reward | ROC AUC, all queries | ROC AUC, queries with images | relevant share of the 10 best |")
    print("|---|---|---|---|")
    for name, row in sorted(table.items(), key=lambda kv: -statistics.mean(kv[1]["all"])):
        print(f"| {name} | {statistics.mean(row['all']):.3f} | {statistics.mean(row['found']):.3f} | "
              f"{statistics.mean(row['top10']):.3f} |")
    print(f"({len(table[next(iter(table))]['all'])} (run, iteration) pairs)")
    print(f"\n| after iteration | relevant share of the feedback's {args.top} best untried concepts, per run: name "
          "scored by its best word | by the mean of its words | of the run's next draw |")
    print("|---|---|---|---|")
    for it, rows in sorted(feedback.items()):
        print(f"| {it} | " + " | ".join(" ".join(f"{row[k]:.3f}" for row in rows) for k in range(3)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
