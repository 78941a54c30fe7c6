"""``ie vocab ...`` and ``ie concepts explain``."""

from __future__ import annotations

from typer.testing import CliRunner

from ie.cli.app import app

runner = CliRunner()


def test_vocab_count_wordnet_prints_the_number_alone():
    result = runner.invoke(app, ["vocab", "count", "wordnet"])
    assert result.exit_code == 0, result.output
    assert result.output == "146347\n"


def test_vocab_show_and_list(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("red panda\tsmall arboreal mammal\nsnow leopard\n")
    result = runner.invoke(app, ["vocab", "show", "file", "--option", f"path={f}", "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert result.output == "file:red panda\tred panda: small arboreal mammal\n"
    shown = runner.invoke(app, ["vocab", "show", "wordnet", "--limit", "2"]).output.splitlines()
    assert shown[0].startswith("wn:n00001740:entity\tentity: that which is perceived") and len(shown) == 2
    listing = runner.invoke(app, ["vocab", "list"])
    assert listing.exit_code == 0 and "wordnet" in listing.output and "146,347" in listing.output


def test_concepts_explain_reads_the_brain_state_from_the_run_store(tmp_path):
    from ie.concepts import ConceptBrain, embed_vocabulary
    from ie.host.manager import get_plugin_manager
    from ie.store import RunStore

    f = tmp_path / "animals.txt"
    names = ["red panda", "giant panda", "panda bear", "snow leopard", "violin", "cello", "viola", "trumpet"]
    f.write_text("\n".join(names) + "\n")
    manager = get_plugin_manager()
    vocab = manager.create("vocabulary", "file", {"path": str(f)})
    emb = embed_vocabulary(vocab, manager.create("embedder", "hashing", {}))
    brain = ConceptBrain(vocab.concepts(), emb, seed=0)
    brain.observe(["file:red panda", "file:violin"], [0.9, 0.1], iteration=0)
    run = tmp_path / "run"
    store = RunStore.open(run)
    store.add_concepts(vocab.concepts())
    store.set_state("config", {"vocab": "file", "embedder": "hashing", "options": {"vocabulary": {"file": {"path": str(f)}}}})
    store.set_state("brain", brain.to_state())
    store.close()
    result = runner.invoke(app, ["concepts", "explain", str(run), "--limit", "3"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "│" in line and "file:" in line]
    assert len(lines) == 3
    assert "panda" in lines[0]  # the untried concept most like the rewarded one leads
    assert "2 concepts observed through iteration 0" in result.output


def test_vocab_embed_does_a_run_s_embedding_ahead_and_goes_on_from_a_partial_one(tmp_path, monkeypatch):
    import pytest

    from ie.concepts import cache_path, cache_progress, embed_vocabulary
    from ie.host.manager import get_plugin_manager
    from ie.loop.session import host_options
    from ie_plugins.embedders.hashing import HashingEmbedder

    class Interrupted(HashingEmbedder):  # the same cache key: Ctrl-C after the first batch
        calls = 0

        def embed(self, texts):
            Interrupted.calls += 1
            if Interrupted.calls == 2:
                raise KeyboardInterrupt
            return super().embed(texts)

    monkeypatch.setenv("IE_CACHE_DIR", str(tmp_path / "cache"))
    f = tmp_path / "c.txt"
    f.write_text("".join(f"concept {i}\n" for i in range(2500)))
    manager = get_plugin_manager()
    vocab = manager.create("vocabulary", "file", {**host_options(0), "path": str(f)})
    embedder = manager.create("embedder", "hashing", host_options(0))
    assert cache_progress(vocab, embedder) == 0
    with pytest.raises(KeyboardInterrupt):
        embed_vocabulary(vocab, Interrupted(), flush_every=1)
    assert cache_progress(vocab, embedder) == 1024
    args = ["vocab", "embed", "file", "--option", f"path={f}", "--embedder", "hashing"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "going on from 1,024 of 2,500" in result.output and "1,476 concepts embedded" in result.output
    assert cache_path(vocab, embedder).exists() and cache_progress(vocab, embedder) == 2500  # what a run looks for
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "already embedded" in again.output
