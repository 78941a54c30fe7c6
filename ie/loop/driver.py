"""The exploration loop as a resumable state machine: the driver runs each iteration's stages in order.

  sample   -> concepts drawn from the concept brain, planned as queries     (ie/loop/sample.py)
  search   -> each planned query searched once; hits recorded with it        (ie/loop/search.py)
  download -> every new URL fetched once, validated, deduplicated, guarded   (ie/loop/download.py)
  reward   -> new images scored against the target; each query's reward      (ie/loop/reward.py)
  estimate -> rewards added to the GP; replay buffer grows                   (ie/loop/estimate.py)
  train    -> SSL on new candidates + PCR x (replay + target); checkpoints   (ie/loop/train.py)
  evaluate -> target kNN / linear probe, relevant-query precision            (ie/loop/evaluate.py)

Every stage is keyed by (iteration, stage) in the run store and idempotent, so ``ie resume`` after Ctrl-C, a
crash or ``kill -9`` re-runs only unfinished work. Stages never call the driver: each gets a typed
:class:`~ie.loop.context.RunContext` and returns what it recorded.
"""

from __future__ import annotations

import errno
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from ie.api import IEError
from ie.config import ExploreConfig
from ie.faults import fault_point
from ie.host.manager import PluginManager, get_plugin_manager
from ie.loop.checkpoint import export_backbone
from ie.api import cache_dir
from ie.loop.context import RunContext, Session, Stage, StopRequested, check_plugin_names
from ie.loop.download import DownloadStage
from ie.loop.estimate import EstimateStage
from ie.loop.evaluate import EvaluateStage
from ie.loop.model import ModelState
from ie.loop.pauses import end_pauses, pause_until
from ie.loop.reward import RewardStage
from ie.loop.sample import SampleStage, brain_options
from ie.loop.search import SearchStage
from ie.loop.train import TrainStage
from ie.store import RunStore, free_disk

if TYPE_CHECKING:
    import numpy as np

    from ie.api import TextEmbedder, Vocabulary
    from ie.concepts.background import BackgroundEmbedding
    from ie.concepts.brain import EmbeddingSource

PIPELINE: tuple[Stage, ...] = (SampleStage(), SearchStage(), DownloadStage(), RewardStage(), EstimateStage(),
                               TrainStage(), EvaluateStage())
STAGES = tuple(stage.name for stage in PIPELINE)

__all__ = ["Explorer", "PIPELINE", "RUNTIME_FIELDS", "RUNTIME_OPTION_TABLES", "STAGES", "StopRequested",
           "steer", "with_ray_address"]


def _free_gb(path: Path) -> float:
    return free_disk(path)[1]


def _disk_full(err: BaseException) -> bool:
    if isinstance(err, sqlite3.OperationalError):
        return "disk is full" in str(err)
    return isinstance(err, OSError) and err.errno == errno.ENOSPC


# Settings that say how a run is carried out, not what it finds: they may change on `ie resume`.
RUNTIME_FIELDS = frozenset({"device", "iterations", "max_hours", "max_images", "min_free_gb", "executor",
                            "keep_checkpoints", "checkpoint_every"})
# [options.<kind>] tables that are runtime too (where the executor runs: a run may move to another cluster)
RUNTIME_OPTION_TABLES = frozenset({"executor"})


def with_ray_address(config: ExploreConfig, address: str) -> ExploreConfig:
    """``config`` run on the Ray cluster at ``address`` (``[options.executor.ray] address``, executor ``ray``)."""
    import dataclasses

    tables = dict(config.options.get("executor") or {})
    tables["ray"] = {**tables.get("ray", {}), "address": address}
    return dataclasses.replace(config, options={**config.options, "executor": tables}, executor="ray")


def steer(config: ExploreConfig, runtime: dict[str, Any], run_dir: str | Path) -> ExploreConfig:
    """``config`` with the runtime settings of ``runtime`` changed; a spec field (one that fixes the run's
    queries, images or model) or an unknown one is refused in one line."""
    import dataclasses

    fields = {f.name for f in dataclasses.fields(ExploreConfig)}
    for key, value in runtime.items():
        if key == "options":
            changed = sorted(k for k in set(value) | set(config.options)
                             if k not in RUNTIME_OPTION_TABLES and value.get(k) != config.options.get(k))
            if changed:
                raise IEError(f"[options.{changed[0]}] cannot change on resume: it is part of the run spec stored in "
                              f"{run_dir}; only {', '.join(sorted(RUNTIME_OPTION_TABLES))} options may")
            continue
        if key not in fields:
            raise IEError(f"unknown setting {key!r} for ie resume; it may change: {', '.join(sorted(RUNTIME_FIELDS))}")
        if key not in RUNTIME_FIELDS and getattr(config, key) != value:
            raise IEError(f"{key} cannot change on resume: it is part of the run spec stored in {run_dir} and fixes "
                          f"what the run finds (it is {getattr(config, key)!r}); start a new run with another --run "
                          f"to use {value!r}")
    return dataclasses.replace(config, **runtime)


class Explorer:
    """Runs (or resumes) exploration in ``run_dir``. Library use: ``Explorer(config, run_dir).run()``."""

    def __init__(self, config: ExploreConfig | None = None, run_dir: str | Path = "runs/demo", *,
                 manager: PluginManager | None = None, console: Console | None = None, progress: bool = True,
                 background_embedding: bool = True):
        self.run_dir = Path(run_dir)
        # an uncached vocabulary embedding runs beside iteration 0 (ie.concepts.background); False: before it
        self.background_embedding = background_embedding
        self._embedding: BackgroundEmbedding | None = None
        self.embedding_wait_s = 0.0  # how long the run waited for a background embedding
        if config is not None:  # a misspelt plugin name or option fails before the run directory is touched
            check_plugin_names(config, manager or get_plugin_manager())
        self.store = RunStore.open(self.run_dir)
        saved = self.store.get_state("config")
        if saved is not None and config is not None and ExploreConfig.from_saved(saved) != config:
            raise IEError(f"{self.run_dir} already holds a run with another config: `ie resume {self.run_dir}` "
                          "continues it; pass --fresh (or another --run) to start over")
        self.config = config or (ExploreConfig.from_saved(saved) if saved else ExploreConfig())
        # the config is stored once the run has set up (see run()): a run that fails to start fixes nothing
        self._config_saved = saved is not None
        self.console = console or Console()
        self.progress = progress
        self.manager = manager
        self._stop_reason: str | None = None
        self._started = time.monotonic()

    @classmethod
    def resume(cls, run_dir: str | Path, runtime: dict[str, Any] | None = None, **kwargs: Any) -> Explorer:
        """The run in ``run_dir``, to go on with ``.run()``. ``runtime`` changes settings that do not fix the
        run's results (:data:`RUNTIME_FIELDS`: device, iterations, budgets, executor); the new values are
        stored, so a later resume keeps them. Changing any other field is refused, naming the field.
        ``runtime["ray_address"]`` moves the run to that Ray cluster (:func:`with_ray_address`)."""
        runtime = dict(runtime or {})
        ray_address = runtime.pop("ray_address", None)
        RunStore.require(run_dir)
        explorer = cls(None, run_dir, **kwargs)
        if not explorer._config_saved:
            explorer.store.close()
            raise IEError(f"{run_dir} holds no started run (it failed before its first stage); start it again "
                          f"with `ie explore --run {run_dir}`")
        if ray_address:
            moved = with_ray_address(explorer.config, ray_address)
            runtime = {"options": moved.options, "executor": runtime.get("executor", "ray"), **runtime}
        if runtime:
            explorer.config = steer(explorer.config, runtime, run_dir)
            explorer.store.set_state("config", explorer.config.to_dict())
        return explorer

    # setup -----------------------------------------------------------------------------------
    def _setup(self) -> RunContext:
        from ie.concepts import ConceptBrain, cache_path, embed_vocabulary
        from ie.progress import progress_bar

        cfg, store = self.config, self.store
        self.session = session = Session.build(cfg, self.run_dir, self.manager)
        # keys and quotas checked with one cheap call before any long work (at every start: a resume after a
        # quota pause learns at once whether the engine is back)
        # (an engine whose quota was spent is not asked before its stored reset time)
        paused_until = dict(store.get_state("engine_paused_until", {}))
        try:
            answered = session.check_engine_access(lambda line: self.console.print(f"[yellow]{line}[/]"),
                                                   paused_until)
        finally:  # a quota found spent now is not asked again before it resets, even when the run stops here
            pause_until(store, session.quota_resets)
        disabled = dict(self.store.get_state("disabled_engines", {}))
        back = sorted(set(disabled) & answered)  # an engine stopped earlier (quota, outage) that answers again
        if back:
            self.console.print(f"engines back in use: {', '.join(back)}")
        now = {k: v for k, v in disabled.items() if k not in answered}
        now.update({name: disabled.get(name, "quota spent at the session's start")
                    for name in set(session.engines) - answered})
        if now != disabled:
            self.store.set_state("disabled_engines", now)
        end_pauses(store, answered)
        with self.console.status("loading target, vocabulary and embeddings"):
            target = session.load_target()
            # every vocabulary may use the target's class names (the `labels` one is made of them)
            vocabulary = session.create("vocabulary", cfg.vocab, class_names=list(target.class_names))
            concepts = list(vocabulary.concepts())
            embedder = session.create("embedder", cfg.embedder)
        # once per (vocabulary, embedder) on this machine, then cached: WordNet x MiniLM takes minutes on a CPU
        brain_state = store.get_state("brain")
        embeddings: EmbeddingSource
        # beside the run only while the GP has nothing to fit (label-set mode prunes the vocabulary by them first)
        if (self.background_embedding and concepts and not cfg.label_set
                and not (brain_state and brain_state.get("observations"))
                and not cache_path(vocabulary, embedder, cache_dir() / "embeddings").exists()):
            embeddings = self._embed_in_background(vocabulary, embedder, concepts[0].embed_text())
        else:
            with progress_bar(f"embedding {len(concepts):,} concepts (once)", len(concepts),
                              enabled=self.progress) as bar:
                embeddings = embed_vocabulary(vocabulary, embedder, cache_dir() / "embeddings",
                                              progress=lambda done, total: bar.update(done))
        if not store.get_state("concepts_stored"):
            store.add_concepts(concepts)
            store.set_state("concepts_stored", len(concepts))
        if brain_state is not None:
            brain = ConceptBrain.from_state(brain_state, concepts, embeddings)
        else:
            names = {n.lower() for n in target.class_names}
            label_ids = [c.id for c in concepts if c.name.lower() in names] if cfg.label_set else None
            options = brain_options(vocabulary, len(concepts), cfg.queries_per_iter,
                                    cfg.plugin_options("concepts", "brain"), cfg.policy)
            brain = ConceptBrain(concepts, embeddings, options=options, seed=cfg.seed, label_ids=label_ids)
        descriptors = session.create("descriptors", cfg.descriptors) if cfg.descriptors else None
        self.context = RunContext(
            config=cfg, store=store, session=session, target=target, brain=brain,
            model=ModelState(session, store, target, progress=self.progress),
            reward_fn=session.create("reward", cfg.reward),
            descriptors=descriptors, console=self.console, progress=self.progress, check_stop=self._check_stop)
        session.emit("run_started", config=cfg.to_dict())
        return self.context

    def _embed_in_background(self, vocabulary: Vocabulary, embedder: TextEmbedder, probe: str) -> EmbeddingSource:
        """Start the vocabulary's embedding beside the run; the brain gets a callable that waits for it."""
        from ie.concepts.background import BackgroundEmbedding
        from ie.concepts.embeddings import EmbeddingStopped
        from ie.progress import progress_bar

        embedder.embed([probe])  # the model loads now: a missing model or package fails before any work
        background = self._embedding = BackgroundEmbedding(vocabulary, embedder, cache_dir() / "embeddings").start()
        total = background.total
        self.console.print(f"embedding {total:,} concepts in the background at low priority (once on this machine); "
                           "iteration 0 draws them uniformly and does not wait for it")

        def wait() -> np.ndarray:
            if not background.running:
                return background.result()
            began, left = time.monotonic(), total - background.done
            with progress_bar(f"embedding {total:,} concepts (once; the concept GP waits for it)", total,
                              enabled=self.progress) as bar:
                try:  # the rest at normal priority; a Ctrl-C stops the run now, not after the embedding
                    embeddings = background.finish(lambda done, _total: bar.update(done),
                                                   abort=lambda: self._stop_reason is not None)
                except EmbeddingStopped:
                    raise StopRequested(str(self._stop_reason)) from None
            self.embedding_wait_s = time.monotonic() - began
            self.console.print(f"the concept GP waited {self.embedding_wait_s:.0f} s for the last {left:,} concept "
                               "embeddings")
            return embeddings

        return wait

    def _stop_embedding(self) -> None:
        """Stop a background embedding the run no longer needs (kept for the next run); say if it had failed."""
        from ie.concepts.embeddings import EmbeddingStopped

        background, self._embedding = self._embedding, None
        if background is None:
            return
        background.stop(timeout_s=120)
        error = background.error
        if error is not None and not isinstance(error, EmbeddingStopped):
            self.console.print(f"[yellow]the concept embedding failed:[/] {type(error).__name__}: {error}; the next "
                               "run tries again")
        elif isinstance(error, EmbeddingStopped):
            self.console.print(f"concept embedding stopped at {background.done:,} of {background.total:,}; the next "
                               "run goes on from there")

    # driving ---------------------------------------------------------------------------------
    def run(self) -> Path:
        """Run the remaining iterations; returns the report path. Ctrl-C stops at the next safe point."""
        try:
            ctx = self._setup()
        except BaseException:
            self._stop_embedding()
            raise
        if not self._config_saved:
            self.store.set_state("config", self.config.to_dict())
            self._config_saved = True
        previous = self._install_sigint()
        try:
            if ctx.target.labeled and self.config.evaluate and "start" not in self.store.get_state("baseline", {}):
                self.store.set_state("baseline", {"start": ctx.model.evaluate(-1)})
            try:
                for iteration in range(self.config.iterations):
                    if all(self.store.stage_done(iteration, s) for s in STAGES):
                        continue
                    self.session.emit("iteration_started", iteration)
                    for stage in PIPELINE:
                        self._run_stage(ctx, iteration, stage)
                    self._finish_iteration(iteration)
                export_backbone(ctx.model.trainer(), self.run_dir / "checkpoints" / "backbone_timm.pth")
                from ie.outputs.report import write_report

                report = write_report(self.run_dir)
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
        else:  # observers hear the end while the store and they are still open
            self.session.emit("run_finished", status="done", report=str(report))
        finally:
            try:
                self._stop_embedding()
            finally:
                signal.signal(signal.SIGINT, previous) if previous is not None else None
                self.session.close()
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
        if self._stop_reason is None and cfg.max_images and self.store.image_count() >= cfg.max_images:
            self._stop_reason = f"--max-images {cfg.max_images} reached"
        if self._stop_reason is not None:
            raise StopRequested(self._stop_reason)
        if cfg.min_free_gb and (free := _free_gb(self.run_dir)) < cfg.min_free_gb:
            raise StopRequested(f"only {free:.2f} GB free on the disk holding {self.run_dir} (min_free_gb = "
                                f"{cfg.min_free_gb}); free some space or lower keep_checkpoints")

    def _run_stage(self, ctx: RunContext, iteration: int, stage: Stage) -> None:
        if self.store.stage_done(iteration, stage.name):
            return
        self._check_stop()
        info = stage.run(ctx, iteration) or {}
        fault_point(f"{stage.name}:{iteration}:before-mark")
        # the brain's state (observations, RNG) is saved with the stage that changed it, in one transaction:
        # a crash before the mark replays the stage from the previous state and draws exactly the same
        state = {"brain": ctx.brain.to_state()} if stage.changes_brain else None
        self.store.mark_stage(iteration, stage.name, "done", info, state)
        self.session.emit("stage_finished", iteration, stage=stage.name, **info)
        fault_point(f"{stage.name}:{iteration}:after-mark")

    def _finish_iteration(self, i: int) -> None:
        from ie.outputs.summary import print_iteration_summary

        metrics = self.store.metrics().get(i, {})
        self.session.emit("iteration_finished", i, **metrics)
        print_iteration_summary(self.console, self.store, i, metrics)
