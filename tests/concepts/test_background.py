"""The vocabulary embedding beside the run (:mod:`ie.concepts.background`): the brain draws its first, uniform
sample without the embeddings, asks for them once when the GP first fits, and draws exactly what a brain given
them at once draws; the background thread runs at the lowest priority, hands its errors to the caller, and a stop
keeps what it had done."""

from __future__ import annotations

import os
import sys
import threading

import numpy as np
import pytest

from ie.concepts import ConceptBrain, cache_path, embed_vocabulary
from ie.concepts.background import BackgroundEmbedding
from ie.concepts.embeddings import EmbeddingStopped

from .bandit import clustered
from .test_embedders import CountingEmbedder, ListVocabulary


class Source:
    """A lazy embedding source that counts how often it is asked."""

    def __init__(self, x: np.ndarray):
        self.x, self.calls = x, 0

    def __call__(self) -> np.ndarray:
        self.calls += 1
        return self.x


@pytest.mark.parametrize("options", [{}, {"name_words": 0.3}, {"policy": "no-gp"}])
def test_a_lazy_brain_draws_first_without_the_embeddings_then_as_an_eager_one(options):
    concepts, x, label = clustered(3000, 6, dim=16, seed=4)
    source = Source(x)
    lazy, eager = ConceptBrain(concepts, source, options, seed=2), ConceptBrain(concepts, x, options, seed=2)
    rng = np.random.default_rng(0)
    for it in range(3):
        picked = lazy.sample(48)
        assert [c.id for c in picked] == [c.id for c in eager.sample(48)]
        if it == 0:
            assert source.calls == 0  # the uniform first draw needed no embedding
        rewards = (label[[int(c.id[1:]) for c in picked]] == 0) + 0.1 * rng.random(48)
        for brain in (lazy, eager):
            brain.observe([c.id for c in picked], rewards, iteration=it)
    np.testing.assert_allclose(lazy.scores()[2], eager.scores()[2])
    assert source.calls == (0 if options.get("policy") == "no-gp" else 1)  # asked once, when the GP first fitted
    resumed = ConceptBrain.from_state(lazy.to_state(), concepts, Source(x))
    assert [c.id for c in resumed.sample(48)] == [c.id for c in eager.sample(48)]


def test_a_lazy_source_of_the_wrong_length_is_refused_when_asked():
    concepts, x, _ = clustered(200, 2, dim=8)
    brain = ConceptBrain(concepts, Source(x[:-1]), seed=0)
    brain.observe([concepts[0].id], [1.0])
    with pytest.raises(ValueError, match="200 concepts but 199 embeddings"):
        brain.scores()


def test_label_set_mode_asks_for_the_embeddings_at_once():
    concepts, x, _ = clustered(500, 4, dim=8)
    source = Source(x)
    ConceptBrain(concepts, source, seed=0, label_ids=[concepts[0].id, concepts[1].id])
    assert source.calls == 1  # the pruning to the labels' neighbourhood reads them


class Gated(CountingEmbedder):
    """Waits at its second batch until ``gate`` is set; records each call's thread and its priority."""

    def __init__(self, fail_at: int | None = None):
        super().__init__("gated")
        self.gate, self.niceness, self.threads, self.fail_at = threading.Event(), [], [], fail_at

    def embed(self, texts):
        self.threads.append(threading.get_native_id())
        if sys.platform.startswith("linux"):
            self.niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        if self.calls == 1:
            assert self.gate.wait(60), "the gate was never opened"
        if self.calls == self.fail_at:
            raise RuntimeError("the model fell over")
        return super().embed(texts)


def _vocabulary(n: int = 10) -> ListVocabulary:
    return ListVocabulary([f"concept {'x' * i}" for i in range(n)])


def _priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _wait_for(condition, seconds: float = 30.0) -> None:
    deadline = threading.Event()
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        deadline.wait(0.01)
    raise AssertionError("the background thread never got there")


def test_background_embedding_matches_the_foreground_one_at_the_lowest_priority(tmp_path):
    mine = _priority() if sys.platform.startswith("linux") else 0
    vocab, embedder = _vocabulary(), Gated()
    background = BackgroundEmbedding(vocab, embedder, tmp_path / "bg").start()
    seen: list[int] = []
    embedder.gate.set()
    out = background.result(lambda done, total: seen.append(total))
    np.testing.assert_array_equal(out, embed_vocabulary(vocab, CountingEmbedder("gated"), tmp_path / "fg"))
    assert not background.running and background.done == background.total == 10
    assert cache_path(vocab, embedder, tmp_path / "bg").exists()
    if sys.platform.startswith("linux"):
        assert set(embedder.niceness) == {19}  # nice is per thread on Linux: the caller's own stays as it was
        assert _priority() == mine


def test_a_stopped_background_embedding_keeps_what_it_did(tmp_path):
    vocab, embedder = _vocabulary(), Gated()
    background = BackgroundEmbedding(vocab, embedder, tmp_path, batch_size=2).start()
    _wait_for(lambda: embedder.calls >= 1)  # the first batch done, the second waiting at the gate
    background.stop(timeout_s=0)  # asked to stop: it will after the batch it is on
    embedder.gate.set()
    background.stop()
    assert not background.running and embedder.calls == 2
    with pytest.raises(EmbeddingStopped):
        background.result()
    rest = CountingEmbedder("gated")
    out = embed_vocabulary(vocab, rest, tmp_path, batch_size=2)
    assert rest.calls == 3  # the two batches done were kept
    np.testing.assert_array_equal(out[:, 0], [len(f"concept {'x' * i}") for i in range(10)])


def test_an_error_in_the_background_reaches_the_caller(tmp_path):
    embedder = Gated(fail_at=1)
    embedder.gate.set()
    background = BackgroundEmbedding(_vocabulary(), embedder, tmp_path, batch_size=2).start()
    with pytest.raises(RuntimeError, match="the model fell over"):
        background.result()


def test_waiting_can_be_given_up_while_the_embedding_goes_on(tmp_path):
    """The driver gives up waiting at a Ctrl-C (``abort``); the embedding itself stops only when told to."""
    embedder = Gated()
    background = BackgroundEmbedding(_vocabulary(), embedder, tmp_path, batch_size=2).start()
    asked: list[int] = []
    with pytest.raises(EmbeddingStopped):
        background.result(abort=lambda: bool(asked.append(1)) or len(asked) > 2, poll_s=0.01)
    assert background.running  # still at its gate
    embedder.gate.set()
    assert background.result().shape == (10, 4)


def test_finish_embeds_the_rest_on_the_waiting_thread(tmp_path):
    """When the GP needs them, the thread stops after its batch and the caller embeds the rest at its own priority."""
    vocab, embedder = _vocabulary(), Gated()
    background = BackgroundEmbedding(vocab, embedder, tmp_path, batch_size=2).start()
    _wait_for(lambda: embedder.calls >= 1)
    threading.Timer(0.2, embedder.gate.set).start()
    seen: list[int] = []
    out = background.finish(lambda done, total: seen.append(done))
    np.testing.assert_array_equal(out[:, 0], [len(f"concept {'x' * i}") for i in range(10)])
    me = threading.get_native_id()
    assert embedder.threads[:2] != [me, me] and embedder.threads[2:] == [me, me, me]  # 2 batches there, 3 here
    if sys.platform.startswith("linux"):
        assert embedder.niceness[:2] == [19, 19] and embedder.niceness[2:] == [_priority()] * 3
    assert seen[-1] == 10 and cache_path(vocab, embedder, tmp_path).exists()
    # finished, not stopped: the run's end reports no stopped embedding, and the result is the one finish gave
    assert background.error is None and background.done == background.total == 10
    np.testing.assert_array_equal(background.result(), out)


def test_one_process_or_thread_at_a_time_computes_a_cache_file(tmp_path):
    """Two embeddings of one vocabulary at once (a run's background thread and `ie vocab embed`): one computes,
    the other waits and loads its file."""

    class Slow(CountingEmbedder):
        def embed(self, texts):
            threading.Event().wait(0.05)
            return super().embed(texts)

    vocab, embedder = _vocabulary(), Slow("slow")
    results: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: results.append(embed_vocabulary(vocab, embedder, tmp_path, 2)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 2 and embedder.calls == 5  # 5 batches, computed once
    np.testing.assert_array_equal(results[0], results[1])
