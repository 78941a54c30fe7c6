"""A third-party reward plugin: how close an image's colours are to the target's (``colour-histogram``).

Each image becomes a joint RGB histogram (``bins`` per channel, default 4, so 64 cells), normalised to sum
to 1; the target is the mean histogram of up to ``max_target`` (500) of its images; an image's reward is
the histogram intersection with it (0 to 1). The model's features are not used, so this reward does not
change as the model trains: a cheap baseline, and an example of the RewardFunction contract.

    pip install -e examples/custom_reward
    ie plugins                                   # lists colour-histogram
    ie explore --reward colour-histogram ...     # options: [explore.options.reward.colour-histogram]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ie.api import Featurizer, RewardFunction, hookimpl


def colour_histogram(path: Path, bins: int) -> np.ndarray:
    """Joint RGB histogram of an image (downscaled to 64 px for speed), summing to 1."""
    from PIL import Image

    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB").resize((64, 64)), dtype=np.int64)
    cells = (pixels * bins // 256).reshape(-1, 3)
    index = (cells[:, 0] * bins + cells[:, 1]) * bins + cells[:, 2]
    histogram = np.bincount(index, minlength=bins**3).astype(np.float64)
    return histogram / histogram.sum()


class ColourHistogramReward(RewardFunction):
    name = "colour-histogram"

    def __init__(self, options=None):  # type: ignore[no-untyped-def]
        super().__init__(options)
        self.bins = int(self.options.get("bins", 4))
        self.max_target = int(self.options.get("max_target", 500))
        self.target_histogram: np.ndarray | None = None

    def fit_target(self, target: Sequence[Path], featurizer: Featurizer, class_names: Sequence[str] = ()) -> None:
        step = max(1, len(target) // self.max_target)
        histograms = [colour_histogram(Path(p), self.bins) for p in list(target)[::step][: self.max_target]]
        self.target_histogram = np.mean(histograms, axis=0) if histograms else None

    def score(self, images: Sequence[Path], featurizer: Featurizer) -> np.ndarray:
        if self.target_histogram is None:
            raise RuntimeError("fit_target must be called before score")
        return np.array([np.minimum(colour_histogram(Path(p), self.bins), self.target_histogram).sum()
                         for p in images], dtype=np.float32)


@hookimpl
def ie_register_rewards(register):  # type: ignore[no-untyped-def]
    register("colour-histogram", ColourHistogramReward, help="colour-histogram intersection with the target (example)")
