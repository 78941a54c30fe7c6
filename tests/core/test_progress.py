"""Part 10 item 9: long work reports progress: the one-time vocabulary embedding, feature extraction, training."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ie.api import Concept, Vocabulary
from ie.concepts import embed_vocabulary
from ie.progress import Bar, progress_bar


class Numbers(Vocabulary):
    name = "numbers"

    def __init__(self, n: int):
        super().__init__()
        self._concepts = [Concept(id=f"c{i}", name=f"thing {i}") for i in range(n)]

    def concepts(self) -> list[Concept]:
        return self._concepts


def test_vocabulary_embedding_reports_each_batch_then_uses_the_cache(tmp_path: Path) -> None:
    from ie_plugins.embedders.hashing import HashingEmbedder

    seen: list[tuple[int, int]] = []
    vocabulary, embedder = Numbers(2500), HashingEmbedder()
    first = embed_vocabulary(vocabulary, embedder, tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1024, 2500), (2048, 2500), (2500, 2500)]
    again = embed_vocabulary(vocabulary, embedder, tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert len(seen) == 3 and np.array_equal(first, again)  # cached: nothing to report


def test_bar_draws_only_once_work_starts_and_never_when_disabled(monkeypatch, capsys) -> None:  # noqa: ANN001
    import rich.console

    with progress_bar("work", 10, enabled=False) as quiet:
        quiet.advance(4)
        assert quiet.done == 4 and quiet._progress is None
    # no terminal (a log file, nohup): a plain line at every tenth of the work, never silent
    with progress_bar("embedding 1,000 concepts", 1000) as plain:
        for done in range(0, 1001, 50):
            plain.update(done)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("embedding")]
    assert len(lines) == 11 and lines[-1].startswith("embedding 1,000 concepts: 1,000/1,000")
    monkeypatch.setattr(rich.console.Console, "is_terminal", property(lambda self: True))
    with progress_bar("work", 10) as bar:
        assert bar._progress is None  # a cached result never flashes an empty bar
        bar.update(3)
        bar.advance(2)
        assert bar._progress is not None and bar.done == 5
        assert bar._progress.tasks[0].completed == 5
    assert bar._progress is None
    assert not Bar("nothing", 0, enabled=True).enabled


def test_feature_extraction_reports_every_image(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import torch
    from PIL import Image

    from ie.learning.features import ModelFeaturizer

    paths = []
    for i in range(7):
        path = tmp_path / f"{i}.jpg"
        Image.new("RGB", (40, 40), (i * 30, 10, 200)).save(path)
        paths.append(path)
    backbone = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    featurizer = ModelFeaturizer(backbone, id="toy", image_size=32, device="cpu", batch_size=3, progress=True)
    counts: list[int] = []
    original = Bar.advance

    def spy(self: Bar, n: int = 1) -> None:
        counts.append(n)
        original(self, n)

    monkeypatch.setattr(Bar, "advance", spy)
    assert featurizer(paths).shape == (7, 4)
    assert counts == [3, 3, 1]
