"""Does contrasting the kNN reward with web images help? ROC AUC of the reward (EfficientNet-Lite0 ImageNet start,
128 px, k = 15 against the clip-art animals target's train images) for target-relevant vs other clip-art web
images, plain (the paper's) and minus each image's similarity to its ``background_k`` nearest background images.

The background is what a run has: a sample of web images at the web's own base rate of relevant ones (here half
of the relevant images, the other half is scored, plus 1,000 others); the scored set is the other relevant half
and 1,500 further others. Also the relevant share of the reward's top 100.

    python benchmarks/reward_contrast.py [--background-k 5,15,50] [--background-drop 0,0.25,0.5] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--background-k", default="5,15,50")
    parser.add_argument("--background-drop", default="0,0.25,0.5", help="shares of the background left out, "
                        "most target-like first (tried at the last --background-k)")
    parser.add_argument("--background", type=int, default=1000, help="other images in the background")
    parser.add_argument("--others", type=int, default=1500, help="other images scored")
    parser.add_argument("--feature-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import numpy as np
    import torch
    from sklearn.metrics import roc_auc_score

    from ie.host.manager import get_plugin_manager
    from ie.learning.backbones import create_backbone
    from ie.learning.features import ModelFeaturizer

    from _clipart_web import clipart_animals_web

    manager = get_plugin_manager()
    target, relevant, others = clipart_animals_web(manager)
    rng = np.random.default_rng(args.seed)
    relevant = [relevant[i] for i in rng.permutation(len(relevant))]
    others = [others[i] for i in rng.choice(len(others), args.others + args.background, replace=False)]
    half = len(relevant) // 2
    scored = relevant[:half] + others[: args.others]
    labels = np.array([1] * half + [0] * args.others)
    background = relevant[half:] + others[args.others:]
    torch.manual_seed(args.seed)
    backbone, _ = create_backbone("efficientnet_lite0", init="imagenet")
    featurizer = ModelFeaturizer(backbone, id="start", image_size=args.feature_size, device="cpu")
    print(f"scored: {half} relevant + {args.others} others (base rate {labels.mean():.2f}); background: "
          f"{len(relevant) - half} relevant + {args.background} others; {args.feature_size} px")
    print("reward | ROC AUC | relevant in top 100")
    ks, drops = [int(k) for k in args.background_k.split(",")], [float(d) for d in args.background_drop.split(",")]
    settings = ([("plain kNN (the paper)", None)] + [(f"contrast, background_k = {k}, drop 0", {"background_k": k,
                                                      "background_drop": 0.0}) for k in ks[:-1]]
                + [(f"contrast, background_k = {ks[-1]}, drop {d}", {"background_k": ks[-1], "background_drop": d})
                   for d in drops])
    for name, options in settings:
        reward = manager.create("reward", "knn", options or {})
        reward.fit_target([x.path for x in target.train], featurizer, target.class_names)
        if options is not None:
            reward.fit_background(background, featurizer)
        values = reward.score(scored, featurizer)
        top = labels[np.argsort(-values)[:100]].mean()
        print(f"{name} | {roc_auc_score(labels, values):.3f} | {top:.2f}", flush=True)


if __name__ == "__main__":
    main()
