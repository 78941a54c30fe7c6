"""The vocabulary's embeddings computed in a background thread at the lowest CPU priority while a run's first
iteration works: its draw is uniform and needs none, so WordNet x MiniLM (minutes on a CPU, once per machine) no
longer holds back the first search. The GP asks for them when it first fits; only then does the run wait, and
only for what is left.

A thread, not a process: any embedder plugin works as it is (no pickling, no second copy of its model). It lowers
its own priority (Linux nice 19; threads it starts later inherit it, e.g. ``minilm``'s workers; pools an embedder
made before, on the calling thread, keep theirs), so the iteration's own work (downloads, features, training)
keeps the cores and the embedding takes what they leave idle. When the GP needs the embeddings, :meth:`finish`
embeds the rest on the waiting thread at its normal priority. Stopping (Ctrl-C, an error, the run's end) keeps
what was done: ``embed_vocabulary`` resumes from its chunks. (torch's thread count is the whole process's, so
``minilm``'s torch backend leaves it as it is off the main thread.)
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ie.api import TextEmbedder, Vocabulary
from ie.concepts.embeddings import EmbeddingStopped, embed_vocabulary

log = logging.getLogger(__name__)
LOWEST_PRIORITY = 19


def lower_this_thread_priority(niceness: int = LOWEST_PRIORITY) -> bool:
    """Give the calling thread (and the threads it starts later) the lowest CPU priority; Linux only, where nice is
    per thread (elsewhere it would apply to the whole process: left alone). Whether it was done."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except OSError as err:  # a sandbox that refuses it: the thread still works, at normal priority
        log.debug("could not lower the embedding thread's priority: %s", err)
        return False
    return True


class BackgroundEmbedding:
    """``embed_vocabulary(vocabulary, embedder, cache_dir)`` in a daemon thread. :meth:`result` waits for it (and
    raises what it raised); :attr:`done` / :attr:`total` tell how far it is; :meth:`stop` ends it at its next
    batch, keeping what was done."""

    def __init__(self, vocabulary: Vocabulary, embedder: TextEmbedder, cache_dir: str | Path | None = None,
                 *, niceness: int = LOWEST_PRIORITY, batch_size: int = 1024):
        self.vocabulary, self.embedder, self.cache_dir, self.niceness = vocabulary, embedder, cache_dir, niceness
        self.batch_size = batch_size
        self.total, self.done = len(vocabulary), 0
        self._stop = threading.Event()
        self._result: np.ndarray | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ie-embed-vocabulary", daemon=True)

    def start(self) -> BackgroundEmbedding:
        self._thread.start()
        return self

    def _run(self) -> None:
        lower_this_thread_priority(self.niceness)
        try:
            self._result = embed_vocabulary(self.vocabulary, self.embedder, self.cache_dir, self.batch_size,
                                            progress=self._progress, should_stop=self._stop.is_set)
        except BaseException as err:  # handed to the thread that asks for the result
            self._error = err

    def _progress(self, done: int, total: int) -> None:
        self.done = done

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def result(self, waiting: Callable[[int, int], None] | None = None, poll_s: float = 0.5,
               abort: Callable[[], bool] | None = None) -> np.ndarray:
        """The embeddings, once computed; ``waiting(done, total)`` is called while it waits. ``abort()`` true
        while it waits: raise :class:`EmbeddingStopped` at once (the embedding goes on until :meth:`stop`)."""
        self._join(waiting, abort, poll_s)
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise EmbeddingStopped("the background embedding was stopped before it finished")
        return self._result

    def _join(self, progress: Callable[[int, int], None] | None, abort: Callable[[], bool] | None,
              poll_s: float) -> None:
        """Wait for the thread to end, telling ``progress`` and giving up when ``abort()`` is true."""
        while self._thread.is_alive():
            if progress is not None:
                progress(self.done, self.total)
            if abort is not None and abort():
                raise EmbeddingStopped("no longer waited for")
            self._thread.join(poll_s)

    @property
    def error(self) -> BaseException | None:
        """What the thread raised (a stop raises :class:`EmbeddingStopped`), once it has ended."""
        return None if self.running else self._error

    def finish(self, progress: Callable[[int, int], None] | None = None, abort: Callable[[], bool] | None = None,
               poll_s: float = 0.5) -> np.ndarray:
        """The embeddings now: the thread is stopped after the batch it is on and the rest is embedded on the
        calling thread, at that thread's priority (a nice-19 thread cannot be raised again without privileges).
        ``progress(done, total)`` as it goes; ``abort()`` true: raise :class:`EmbeddingStopped` (what was done is
        kept). An error the thread met is raised here."""
        if not self.running:
            return self.result()
        self._stop.set()
        self._join(progress, abort, poll_s)
        if self._result is not None:  # it finished its last batch meanwhile
            return self._result
        if self._error is not None and not isinstance(self._error, EmbeddingStopped):
            raise self._error
        result = embed_vocabulary(self.vocabulary, self.embedder, self.cache_dir, self.batch_size, progress=progress,
                                  should_stop=abort)
        # finished here: no longer "stopped" (the run's end would say the next run goes on from the thread's count)
        self._result, self._error, self.done = result, None, self.total
        return result

    def stop(self, timeout_s: float | None = None) -> None:
        """Ask it to stop after the batch it is on, and wait for that (``timeout_s``: at most that long)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
