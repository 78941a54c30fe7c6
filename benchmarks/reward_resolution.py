"""At what resolution should the start model score rewards? ROC AUC of the kNN reward (k = 15, the clip-art
animals target's train images) for the clip-art web's target-relevant images (all 194) vs a seeded sample of the
others, by feature size, on the original images (up to 256 px) and on copies stored at 64 px (what a run with
``resize = 64`` keeps). Also the relevant share of the reward's top 100.

    python benchmarks/reward_resolution.py [--sizes 64,96,128,160,224] [--others 1500]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="64,96,128,160,224")
    parser.add_argument("--others", type=int, default=1500, help="non-relevant corpus images sampled")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import numpy as np
    import torch
    from PIL import Image
    from sklearn.metrics import roc_auc_score

    from ie.host.manager import get_plugin_manager
    from ie.learning.backbones import create_backbone
    from ie.learning.features import ModelFeaturizer

    from _clipart_web import clipart_animals_web

    manager = get_plugin_manager()
    target, relevant, others = clipart_animals_web(manager)
    others = [others[i] for i in np.random.default_rng(args.seed).choice(len(others), args.others, replace=False)]
    paths, labels = relevant + others, np.array([1] * len(relevant) + [0] * len(others))
    torch.manual_seed(args.seed)
    backbone, _ = create_backbone("efficientnet_lite0", init="imagenet")
    with tempfile.TemporaryDirectory() as tmp:
        stored = []
        for i, path in enumerate(paths):  # shorter side 64, as the downloader stores with resize = 64
            image = Image.open(path).convert("RGB")
            scale = 64 / min(image.size)
            if scale < 1:
                image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                                     Image.BICUBIC)
            stored.append(Path(tmp) / f"{i}.jpg")
            image.save(stored[-1], quality=90)
        print(f"{len(relevant)} relevant vs {len(others)} other clip-art web images")
        print("feature px | images | reward ROC AUC | relevant in top 100 | seconds")
        for size in [int(s) for s in args.sizes.split(",")]:
            for name, files in (("original", paths), ("stored at 64", stored)):
                began = time.perf_counter()
                featurizer = ModelFeaturizer(backbone, id=f"{name}-{size}", image_size=size, device="cpu")
                reward = manager.create("reward", "knn", {})
                reward.fit_target([x.path for x in target.train], featurizer, target.class_names)
                values = reward.score(files, featurizer)
                top = labels[np.argsort(-values)[:100]].mean()
                print(f"{size} | {name} | {roc_auc_score(labels, values):.3f} | {top:.2f} | "
                      f"{time.perf_counter() - began:.0f}", flush=True)


if __name__ == "__main__":
    main()
