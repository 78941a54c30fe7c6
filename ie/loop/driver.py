"""The exploration loop as a resumable state machine.

Every iteration runs the stages below; each is keyed by (iteration, stage) in the run store and is
idempotent, so ``ie resume`` after Ctrl-C, a crash or ``kill -9`` re-runs only unfinished work:

  sample   -> concepts drawn from the concept brain, planned as queries (unique per engine and text)
  search   -> each planned query searched once; its hits recorded with it in one transaction
  download -> every new URL fetched once, validated, deduplicated, leak-guarded; outcome recorded
  reward   -> new images scored against the target; each query's concept reward
  estimate -> rewards added to the GP; replay buffer grows by the top share of new images
  train    -> SSL on new candidates + PCR x (replay + target); checkpoints inside the stage
  evaluate -> kNN accuracy on a labelled target, relevant-query precision where ground truth exists
"""

from __future__ import annotations

import errno
import math
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from ie.api import IEError
from ie.config import ExploreConfig
from ie.faults import fault_point
from ie.loop.model import ModelState
from ie.host.manager import PluginManager
from ie.loop.context import Session, cache_dir
from ie.store import RunStore, free_disk

STAGES = ("sample", "search", "download", "reward", "estimate", "train", "evaluate")


PAPER_VOCABULARY = 146_347
PAPER_TIERS = ((250, 0.8), (1000, 0.1))


def scaled_tiers(vocabulary_size: int, queries_per_iter: int) -> list[list[float]]:
    """The paper's tiers (top 250 -> 80% of the mass, 250-1000 -> 10%) were set for 146,347 WordNet concepts.
    A smaller vocabulary gets boundaries at the same share of it, but never below 2x and 8x the queries per
    iteration (so one iteration cannot exhaust the top tier); WordNet-sized ones get the paper's numbers."""
    if vocabulary_size >= PAPER_VOCABULARY:
        return [list(t) for t in PAPER_TIERS]
    out = []
    for (end, mass), floor in zip(PAPER_TIERS, (2, 8)):
        out.append([min(end, max(round(end * vocabulary_size / PAPER_VOCABULARY), floor * queries_per_iter)), mass])
    return out


def _free_gb(path: Path) -> float:
    return free_disk(path)[1]


def _disk_full(err: BaseException) -> bool:
    if isinstance(err, sqlite3.OperationalError):
        return "disk is full" in str(err)
    return isinstance(err, OSError) and err.errno == errno.ENOSPC


class StopRequested(Exception):
    """Raised at a safe point after Ctrl-C or when a budget is spent."""


class Explorer:
    """Runs (or resumes) exploration in ``run_dir``. Library use: ``Explorer(config, run_dir).run()``."""

    def __init__(self, config: ExploreConfig | None = None, run_dir: str | Path = "runs/demo", *,
                 manager: PluginManager | None = None, console: Console | None = None, progress: bool = True):
        self.run_dir = Path(run_dir)
        self.store = RunStore.open(self.run_dir)
        saved = self.store.get_state("config")
        if saved is not None and config is not None and ExploreConfig.from_dict(saved) != config:
            raise IEError(f"{self.run_dir} already holds a run with another config: `ie resume {self.run_dir}` "
                          "continues it; pass --fresh (or another --run) to start over")
        self.config = config or (ExploreConfig.from_dict(saved) if saved else ExploreConfig())
        if saved is None:
            self.store.set_state("config", self.config.to_dict())
        self.console = console or Console()
        self.progress = progress
        self.manager = manager
        self._stop_reason: str | None = None
        self._started = time.monotonic()

    @classmethod
    def resume(cls, run_dir: str | Path, **kwargs: Any) -> Explorer:
        if not RunStore.exists(run_dir):
            raise IEError(f"{run_dir} is not a run directory (no ie.sqlite); start one with `ie explore --run {run_dir}`")
        return cls(None, run_dir, **kwargs)

    # setup -----------------------------------------------------------------------------------
    def _setup(self) -> None:
        from ie.concepts import ConceptBrain, embed_vocabulary

        cfg = self.config
        self.session = Session.build(cfg, self.run_dir, self.manager)
        with self.console.status("loading target, vocabulary and embeddings"):
            self.target = self.session.load_target()
            vocab_extra = {"class_names": self.target.class_names} if cfg.vocab == "labels" else {}
            self.vocabulary = self.session.create("vocabulary", cfg.vocab, **vocab_extra)
            self.concepts = list(self.vocabulary.concepts())
            self.concept_by_id = {c.id: c for c in self.concepts}
            embedder = self.session.create("embedder", cfg.embedder)
            embeddings = embed_vocabulary(self.vocabulary, embedder, cache_dir() / "embeddings")
        if not self.store.get_state("concepts_stored"):
            self.store.add_concepts(self.concepts)
            self.store.set_state("concepts_stored", len(self.concepts))
        label_ids = self._label_concepts() if cfg.label_set else None
        brain_state = self.store.get_state("brain")
        options = {"tiers": scaled_tiers(len(self.concepts), cfg.queries_per_iter),
                   **cfg.plugin_options("concepts", "brain"), "policy": cfg.policy}
        if brain_state is not None:
            self.brain = ConceptBrain.from_state(brain_state, self.concepts, embeddings)
        else:
            self.brain = ConceptBrain(self.concepts, embeddings, options=options, seed=cfg.seed, label_ids=label_ids)
        self.descriptors = self.session.create("descriptors", cfg.descriptors) if cfg.descriptors else None
        self.reward_fn = self.session.create("reward", cfg.reward)
        self.model = ModelState(self.session, self.store, self.target)
        self.session.emit("run_started", config=cfg.to_dict())

    def _label_concepts(self) -> list[str]:
        names = {n.lower() for n in self.target.class_names}
        return [c.id for c in self.concepts if c.name.lower() in names]

    # driving ---------------------------------------------------------------------------------
    def run(self) -> Path:
        """Run the remaining iterations; returns the report path. Ctrl-C stops at the next safe point."""
        self._setup()
        previous = self._install_sigint()
        try:
            if self.target.labeled and self.config.evaluate and "start" not in self.store.get_state("baseline", {}):
                self.store.set_state("baseline", {"start": self.model.evaluate(-1)})
            try:
                for iteration in range(self.config.iterations):
                    if all(self.store.stage_done(iteration, s) for s in STAGES):
                        continue
                    self.session.emit("iteration_started", iteration)
                    for stage in STAGES:
                        self._run_stage(iteration, stage)
                    self._finish_iteration(iteration)
                self.model.export_backbone(self.run_dir / "checkpoints" / "backbone_timm.pth")
            except (OSError, sqlite3.OperationalError) as err:
                if not _disk_full(err):
                    raise
                # every write is atomic (temp file + rename, SQLite transactions): the unfinished stage is redone
                raise StopRequested(f"the disk holding {self.run_dir} is full ({_free_gb(self.run_dir):.1f} GB "
                                    "free); free some space or lower keep_checkpoints") from err
        except StopRequested as stop:
            self.console.print(f"[yellow]stopped:[/] {stop}. Resume with: [bold]ie resume {self.run_dir}[/]")
            self.session.emit("run_finished", status="stopped", reason=str(stop))
            raise
        finally:
            signal.signal(signal.SIGINT, previous) if previous is not None else None
            self.session.close()
        from ie.outputs.report import write_report

        report = write_report(self.run_dir)
        self.session.emit("run_finished", status="done", report=str(report))
        self.console.print(f"report: [bold]{report}[/]")
        return report

    def _install_sigint(self) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum: int, frame: Any) -> None:
            if self._stop_reason is not None:  # second Ctrl-C: stop now (the store stays consistent)
                raise KeyboardInterrupt
            self._stop_reason = "interrupted (Ctrl-C)"
            self.console.print("[yellow]Ctrl-C: stopping at the next safe point (press again to stop now)[/]")

        return signal.signal(signal.SIGINT, handler)

    def _check_stop(self) -> None:
        cfg = self.config
        if self._stop_reason is None and cfg.max_hours and time.monotonic() - self._started > cfg.max_hours * 3600:
            self._stop_reason = f"--max-hours {cfg.max_hours} reached"
        if self._stop_reason is None and cfg.max_images and len(self.store.images()) >= cfg.max_images:
            self._stop_reason = f"--max-images {cfg.max_images} reached"
        if self._stop_reason is not None:
            raise StopRequested(self._stop_reason)
        if cfg.min_free_gb and (free := _free_gb(self.run_dir)) < cfg.min_free_gb:
            raise StopRequested(f"only {free:.2f} GB free on the disk holding {self.run_dir} (min_free_gb = "
                                f"{cfg.min_free_gb}); free some space or lower keep_checkpoints")

    def _run_stage(self, iteration: int, stage: str) -> None:
        if self.store.stage_done(iteration, stage):
            return
        self._check_stop()
        info = getattr(self, f"_stage_{stage}")(iteration) or {}
        fault_point(f"{stage}:{iteration}:before-mark")
        # the brain's state (observations, RNG) is saved with the stage that changed it, in one transaction:
        # a crash before the mark replays the stage from the previous state and draws exactly the same
        state = {"brain": self.brain.to_state()} if stage in ("sample", "estimate") else None
        self.store.mark_stage(iteration, stage, "done", info, state)
        self.session.emit("stage_finished", iteration, stage=stage, **info)

    # stages ----------------------------------------------------------------------------------
    def _stage_sample(self, i: int) -> dict[str, Any]:
        cfg = self.config
        concepts = self.brain.sample(cfg.queries_per_iter)
        rng = random.Random(f"{cfg.seed}:{i}:queries")
        weights = cfg.engine_weights or [1.0] * len(cfg.engines)
        planned = 0
        for concept in concepts:
            descriptor = None
            if self.descriptors is not None and rng.random() < 0.5:
                options = self.descriptors.descriptors(concept, 5)
                descriptor = rng.choice(options) if options else None
            text = f"{descriptor} {concept.name}" if descriptor else concept.name
            engine = rng.choices(cfg.engines, weights=weights)[0]
            if self.store.searched(engine, text):
                continue  # the same query on the same engine is never searched twice in a run
            self.store.add_query(i, concept.id, text, engine, descriptor)
            planned += 1
        return {"planned": planned}

    def _stage_search(self, i: int) -> dict[str, Any]:
        from ie.loop.search import search_queries

        planned = self.store.queries(iteration=i, status="planned")
        return search_queries(self, planned, self._check_stop)

    def _stage_download(self, i: int) -> dict[str, Any]:
        from ie.download import DedupeIndex, DownloadOptions, download_to_store

        rows = self.store.query(
            "SELECT h.url, h.engine FROM hits h JOIN queries q ON q.id = h.query_id WHERE q.iteration=? "
            "ORDER BY q.id, h.rank", (i,))
        done = self.store.downloaded_urls()
        urls = list(dict.fromkeys(r[0] for r in rows if r[0] not in done))
        private_engines = {name for name, e in self.session.engines.items() if e.serves_private_urls}
        allowed = {_host_port(r[0]) for r in rows if r[1] in private_engines}
        options = DownloadOptions(resize_shorter=self.config.resize or None, allowed_hosts=frozenset(allowed),
                                  allow_private_hosts=self.config.allow_private_hosts,
                                  **self.config.plugin_options("download", "options"))
        dedupe = DedupeIndex(phash_threshold=options.phash_threshold, leak_threshold=options.leak_threshold)
        dedupe.seed_from_store(self.store.image_hashes())
        dedupe.add_leak_files([str(x.path) for x in self.target.test + self.target.val])
        summary = download_to_store(urls, self.store, iteration=i, options=options, dedupe=dedupe,
                                    progress=self.progress, executor=self.session.executor)
        return {"urls": len(urls), **{f"outcome_{k}": v for k, v in summary.counts.items()}}

    def _stage_reward(self, i: int) -> dict[str, Any]:
        featurizer = self.model.featurizer()
        self.reward_fn.fit_target([x.path for x in self.target.train], featurizer, self.target.class_names)
        scored = self.store.image_rewards()
        new = [img for img in self.store.images(iteration=i) if img.sha256 not in scored]
        if new:
            values = self.reward_fn.score([img.path for img in new], featurizer)
            self.store.add_image_rewards(i, {img.sha256: float(v) for img, v in zip(new, values)}, self.config.reward)
            fault_point(f"reward:{i}:after-image-rewards")
        reference = self._reward_reference(featurizer)
        rewards = self.store.image_rewards()
        triples, empty = [], []
        for q in self.store.queries(iteration=i, status="done"):
            shas = [r[0] for r in self.store.query(
                "SELECT DISTINCT d.sha256 FROM hits h JOIN downloads d ON d.url = h.url "
                "WHERE h.query_id=? AND d.sha256 IS NOT NULL", (q["id"],))]
            values = [rewards[s] for s in shas if s in rewards]
            if values:
                triples.append((q["id"], q["concept_id"], self.reward_fn.concept_reward(values) - reference))
            else:
                empty.append((q["id"], q["concept_id"]))
        # a query that yielded no image counts as the worst concept of its iteration (not as 0, which would be
        # far outside the cosine scale and swamp the GP)
        floor = min((t[2] for t in triples), default=0.0)
        self.store.add_concept_rewards(i, triples + [(qid, cid, floor) for qid, cid in empty])
        return {"scored": len(new), "concepts": len(triples) + len(empty), "reward_reference": reference}

    def _reward_reference(self, featurizer: Any) -> float:
        """Concept rewards are measured against the target's own held-out (val) images under the same model:
        the model changes every iteration, and a fast-moving one (random init, BN statistics settling) shifts
        every cosine; subtracting this per-iteration reference keeps rewards of different iterations
        comparable for the GP. 0 when the target has no val split or ``calibrate_rewards`` is off."""
        if not (self.config.calibrate_rewards and self.target.val):
            return 0.0
        values = self.reward_fn.score([x.path for x in self.target.val], featurizer)
        return float(self.reward_fn.concept_reward(values))

    def _stage_estimate(self, i: int) -> dict[str, Any]:
        rows = self.store.query("SELECT concept_id, value FROM concept_rewards WHERE iteration=?", (i,))
        if self.brain.observed_through < i:
            self.brain.observe([r[0] for r in rows], [r[1] for r in rows], iteration=i)
            fault_point(f"estimate:{i}:after-observe")
        rewards = self.store.image_rewards(iteration=i)
        ranked = sorted(rewards, key=lambda s: (-rewards[s], s))
        keep = ranked[: math.ceil(len(ranked) * self.config.replay_fraction)]
        self.store.add_to_replay(i, keep)
        return {"observed": len(rows), "replay_added": len(keep)}

    def _stage_train(self, i: int) -> dict[str, Any]:
        return self.model.train(i)

    def _stage_evaluate(self, i: int) -> dict[str, Any]:
        metrics: dict[str, float] = {}
        if self.target.labeled and self.config.evaluate:
            metrics.update(self.model.evaluate(i))
        metrics.update(self._query_metrics(i))
        self.store.add_metrics(i, metrics)
        return metrics

    def _query_metrics(self, i: int) -> dict[str, float]:
        queries = self.store.queries(iteration=i)
        rewards = {r["query_id"]: r["value"] for r in self.store.concept_rewards() if r["iteration"] == i}
        image_rewards = list(self.store.image_rewards(iteration=i).values())
        out = {"queries": float(len(queries)), "images_kept": float(len(self.store.images(iteration=i))),
               "mean_image_reward": sum(image_rewards) / len(image_rewards) if image_rewards else 0.0,
               "mean_concept_reward": sum(rewards.values()) / len(rewards) if rewards else 0.0}
        relevance = [r for r in (self._relevance(q["engine"], q["text"]) for q in queries) if r is not None]
        if relevance:
            out["relevant_query_precision"] = sum(1.0 for r in relevance if r >= 0.5) / len(relevance)
        out.update(self._reward_quality(i))
        return out

    def _reward_quality(self, i: int) -> dict[str, float]:
        """Where an engine knows which served images are relevant to the target (simweb, clipart): the share of
        relevant new images, and the ROC AUC of the image reward at telling them from the others (0.5 = chance):
        whether the rewards the policy learns from carry signal at all."""
        judges = [j for j in (getattr(e, "image_relevance", None) for e in self.session.engines.values()) if callable(j)]
        if not judges:
            return {}
        rewards = self.store.image_rewards(iteration=i)
        labels, scores = [], []
        for image in self.store.images(iteration=i):
            truth = next((t for t in (j(image.source_url or "") for j in judges) if t is not None), None)
            if truth is not None and image.sha256 in rewards:
                labels.append(bool(truth))
                scores.append(rewards[image.sha256])
        if not labels:
            return {}
        out = {"relevant_image_share": sum(labels) / len(labels)}
        if 0 < sum(labels) < len(labels):
            from sklearn.metrics import roc_auc_score

            out["reward_auc"] = float(roc_auc_score(labels, scores))
        return out

    def _relevance(self, engine: str, text: str) -> float | None:
        judge = getattr(self.session.engines.get(engine), "relevance", None)
        return judge(text) if callable(judge) else None

    def _finish_iteration(self, i: int) -> None:
        from ie.outputs.summary import print_iteration_summary

        metrics = self.store.metrics().get(i, {})
        self.session.emit("iteration_finished", i, **metrics)
        print_iteration_summary(self.console, self.store, i, metrics)


def _host_port(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"

