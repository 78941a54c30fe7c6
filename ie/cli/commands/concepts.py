"""``ie vocab list|count|show|embed`` and ``ie concepts explain RUN_DIR``. Heavy imports stay inside the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ie.cli.commands._options import parse_options

vocab_app = typer.Typer(help="Concept vocabularies: list them, count and show their concepts.", no_args_is_help=True)
concepts_app = typer.Typer(help="The concept brain of a run.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(vocab_app, name="vocab")
    app.add_typer(concepts_app, name="concepts")


def _vocabulary(name: str, options: dict[str, Any]) -> Any:
    from ie.host.manager import get_plugin_manager
    from ie.loop.session import host_options

    return get_plugin_manager().create("vocabulary", name, {**host_options(0), **options})


OPTION_HELP = "Vocabulary option key=value (repeatable), e.g. path=concepts.txt or class_names='[\"rose\"]'."


@vocab_app.command("list")
def vocab_list() -> None:
    """Every registered vocabulary with its size (or why it cannot be loaded without options)."""
    from rich.console import Console
    from rich.table import Table

    from ie.api import IEError
    from ie.host.manager import get_plugin_manager

    table = Table(title="vocabularies")
    for column in ("name", "concepts", "plugin", "help"):
        table.add_column(column)
    for reg in sorted(get_plugin_manager().registry("vocabulary"), key=lambda r: r.name):
        try:
            size = f"{len(reg.factory({})):,}"
        except (IEError, ValueError, OSError):
            size = "needs options"
        table.add_row(reg.name, size, reg.plugin, reg.help)
    Console().print(table)


@vocab_app.command("count")
def vocab_count(name: str, option: list[str] = typer.Option([], "--option", "-o", help=OPTION_HELP)) -> None:
    """Print the number of concepts of vocabulary NAME, alone (``ie vocab count wordnet`` -> 146347)."""
    typer.echo(len(_vocabulary(name, parse_options(option))))


@vocab_app.command("show")
def vocab_show(
    name: str,
    limit: int = typer.Option(20, "--limit", "-n", help="How many concepts (0: all)."),
    offset: int = typer.Option(0, "--offset", help="Skip this many first."),
    option: list[str] = typer.Option([], "--option", "-o", help=OPTION_HELP),
) -> None:
    """Print concept ids and the texts a text embedder sees, one per line (tab-separated)."""
    concepts = _vocabulary(name, parse_options(option)).concepts()
    end = len(concepts) if limit <= 0 else offset + limit
    for c in concepts[offset:end]:
        typer.echo(f"{c.id}\t{c.embed_text()}")


@vocab_app.command("embed")
def vocab_embed(
    name: str,
    embedder: str = typer.Option("minilm", "--embedder", "-e", help="The text embedder a run will use."),
    option: list[str] = typer.Option([], "--option", "-o", help=OPTION_HELP),
    embedder_option: list[str] = typer.Option([], "--embedder-option", help="Embedder option key=value "
                                              "(repeatable), as in the run's [options.embedder.NAME] table."),
) -> None:
    """Embed vocabulary NAME now, ahead of a run (``ie vocab embed wordnet``): once per machine and cached, so a run
    finds it done. A run does it too, beside its first iteration; Ctrl-C keeps the chunks done either way."""
    import time

    from ie.concepts import cache_path, cache_progress, embed_vocabulary
    from ie.host.manager import get_plugin_manager
    from ie.loop.session import host_options
    from ie.progress import progress_bar

    vocabulary = _vocabulary(name, parse_options(option))
    model = get_plugin_manager().create("embedder", embedder, {**host_options(0), **parse_options(embedder_option)})
    path, total = cache_path(vocabulary, model), len(vocabulary)
    done = cache_progress(vocabulary, model)
    if done == total:
        typer.echo(f"{total:,} concepts of {name} already embedded by {embedder}: {path}")
        return
    if done:
        typer.echo(f"going on from {done:,} of {total:,} concepts embedded earlier")
    began = time.monotonic()
    with progress_bar(f"embedding {total:,} concepts of {name} with {embedder}", total) as bar:
        embed_vocabulary(vocabulary, model, progress=lambda n, _total: bar.update(n))
    typer.echo(f"{total - done:,} concepts embedded in {(time.monotonic() - began) / 60:.1f} min: {path}")


class _StoredVocabulary:
    """The concepts a run stored in its database, in their original order (a stand-in vocabulary)."""

    def __init__(self, name: str, concepts: list[Any]):
        self.name, self._concepts = name, concepts

    def concepts(self) -> list[Any]:
        return self._concepts

    def __len__(self) -> int:
        return len(self._concepts)


@concepts_app.command("explain")
def concepts_explain(
    run_dir: Path = typer.Argument(..., help="A run directory (runs/NAME)."),
    limit: int = typer.Option(20, "--limit", "-n", help="How many top concepts."),
    untried: bool = typer.Option(False, "--untried", help="Only concepts not queried yet."),
) -> None:
    """The brain's current top concepts by sampling probability: mu, sigma, score and probability."""
    from rich.console import Console
    from rich.table import Table

    from ie.api import IEError
    from ie.concepts import ConceptBrain, embed_vocabulary
    from ie.host.manager import get_plugin_manager
    from ie.loop.session import host_options
    from ie.store import RunStore
    from ie.store.reads import stored_concepts

    store = RunStore.open_existing(run_dir)
    try:
        state = store.get_state("brain") or store.get_state("concepts")
        config = store.get_state("config") or {}
        concepts = stored_concepts(store)
    finally:
        store.close()
    if state is None:
        raise IEError(f"{run_dir} has no concept-brain state yet (it is saved after the first estimate stage)")
    manager = get_plugin_manager()
    tables = config.get("options") or {}
    host = host_options(int(config.get("seed") or 0))  # what the run gave every plugin
    vocab_name = config.get("vocab") or (concepts[0].vocabulary if concepts else "")
    vocabulary: Any = _StoredVocabulary(vocab_name, concepts)
    try:  # the plugin's own vocabulary object names the embedding cache file the run used
        plugin_vocab = manager.create("vocabulary", vocab_name, {**host, **tables.get("vocabulary", {}).get(vocab_name, {})})
        if [c.id for c in plugin_vocab.concepts()] == [c.id for c in concepts]:
            vocabulary = plugin_vocab
    except Exception:  # noqa: BLE001 - e.g. labels needs the target's class names: use the stored concepts
        pass
    embedder_name = config.get("embedder", "hashing")
    embedder = manager.create("embedder", embedder_name, {**host, **tables.get("embedder", {}).get(embedder_name, {})})
    from ie.progress import progress_bar

    with progress_bar(f"embedding {len(vocabulary):,} concepts (once)", len(vocabulary)) as bar:
        embeddings = embed_vocabulary(vocabulary, embedder, progress=lambda done, total: bar.update(done))
    brain = ConceptBrain.from_state(state, list(vocabulary.concepts()), embeddings)
    mu, sigma, prob = brain.scores()
    score = brain.score()
    idx_obs, y_obs = brain.observed()
    observed = dict(zip(idx_obs.tolist(), y_obs.tolist()))
    order = [i for i in sorted(range(len(prob)), key=lambda i: (-prob[i], -score[i])) if not (untried and i in observed)]
    typer.echo(f"{run_dir}: {len(observed)} concepts observed through iteration {brain.observed_through}; "
               f"top {limit} of {len(order)} by sampling probability")
    table = Table()
    for column in ("rank", "concept", "id", "mu", "sigma", "score", "reward", "prob"):
        table.add_column(column, justify="right" if column not in ("concept", "id") else "left")
    for rank, i in enumerate(order[:limit], 1):
        c = brain.concepts[i]
        reward = f"{observed[i]:.4f}" if i in observed else ""
        table.add_row(str(rank), c.name, c.id, f"{mu[i]:.4f}", f"{sigma[i]:.4f}", f"{score[i]:.4f}", reward, f"{prob[i]:.2e}")
    Console(width=160).print(table)
    if brain.hyper is not None:
        h = brain.hyper
        typer.echo(f"GP: lengthscale {h.lengthscale:.3g}, signal var {h.signal_var:.3g}, noise var {h.noise_var:.3g} "
                   f"(standardised rewards), fitted on {brain.fitted_on} observations")
