"""Does contrasting the kNN reward with web images help? ROC AUC of the reward (EfficientNet-Lite0 ImageNet start,
128 px, k = 15 against the clip-art animals target's train images) for target-relevant vs other clip-art web
images, plain (the paper's) and minus each image's similarity to its ``background_k`` nearest background images.

The background is what a run has: a sample of web images at the web's own base rate of relevant ones (here half
of the relevant images, the other half is scored, plus 1,000 others); the scored set is the other relevant half
and 1,500 further others. Also the relevant share of the reward's top 100.

    python benchmarks/reward_contrast.py [--background-k 5,15,50] [--background-drop 0,0.25,0.5] [--seed 0]
    python benchmarks/reward_contrast.py --web simweb [--simweb-target warm-dotted] [--seed 1]

``--web simweb``: the simulated web as a demo run sees it: the target's train images, a background of 16 images of
each of 24 random concepts (the demo's first iteration), and scored images of 80 relevant concepts, 80 look-alikes
(the target's colour or pattern on another background: irrelevant by the ground truth) and 160 other concepts, 2
images each; also the AUC of relevant vs look-alikes alone. Rows: plain kNN, the kNN contrast (``contrast = knn``)
and the classifier (``contrast = classifier``, the default when ``reward_background`` is on).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

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
    parser.add_argument("--web", default="clipart", choices=["clipart", "simweb"])
    parser.add_argument("--simweb-target", default="blue-striped")
    args = parser.parse_args()

    import numpy as np
    import torch
    from sklearn.metrics import roc_auc_score

    from ie.host.manager import get_plugin_manager
    from ie.learning.backbones import create_backbone
    from ie.learning.features import ModelFeaturizer

    from _clipart_web import clipart_animals_web

    manager = get_plugin_manager()
    rng = np.random.default_rng(args.seed)
    hard = None
    if args.web == "simweb":
        import tempfile

        train, scored, labels, hard, background = simweb_web(Path(tempfile.mkdtemp()), args.simweb_target, args.seed)
        from types import SimpleNamespace

        target = SimpleNamespace(train=[SimpleNamespace(path=p) for p in train], class_names=())
        half = int(labels.sum())
        args.others = len(labels) - half
    else:
        target, relevant, others = clipart_animals_web(manager)
        relevant = [relevant[i] for i in rng.permutation(len(relevant))]
        others = [others[i] for i in rng.choice(len(others), args.others + args.background, replace=False)]
        half = len(relevant) // 2
        scored = relevant[:half] + others[: args.others]
        labels = np.array([1] * half + [0] * args.others)
        background = relevant[half:] + others[args.others:]
    torch.manual_seed(args.seed)
    backbone, _ = create_backbone("efficientnet_lite0", init="imagenet")
    featurizer = ModelFeaturizer(backbone, id="start", image_size=args.feature_size, device="cpu")
    print(f"{args.web}: scored {half} relevant + {args.others} others (base rate {labels.mean():.2f}); background: "
          f"{len(background)} web images; {args.feature_size} px; seed {args.seed}")
    print("reward | ROC AUC | relevant in top 100" + (" | ROC AUC relevant vs look-alikes" if hard is not None else ""))
    ks, drops = [int(k) for k in args.background_k.split(",")], [float(d) for d in args.background_drop.split(",")]
    settings = ([("plain kNN (the paper)", None)]
                + [(f"kNN contrast, background_k = {k}, drop 0", {"contrast": "knn", "background_k": k,
                                                               "background_drop": 0.0}) for k in ks[:-1]]
                + [(f"kNN contrast, background_k = {ks[-1]}, drop {d}", {"contrast": "knn", "background_k": ks[-1],
                                                                       "background_drop": d}) for d in drops]
                + [(f"classifier contrast, C = {c}", {"contrast": "classifier", "classifier_c": c, "seed": args.seed})
                   for c in (0.1, 1.0, 10.0)])
    for name, options in settings:
        reward = manager.create("reward", "knn", options or {})
        reward.fit_target([x.path for x in target.train], featurizer, target.class_names)
        if options is not None:
            reward.fit_background(background, featurizer)
        values = reward.score(scored, featurizer)
        top = labels[np.argsort(-values)[:100]].mean()
        extra = ""
        if hard is not None:
            pair = (labels == 1) | hard
            extra = f" | {roc_auc_score(labels[pair], values[pair]):.3f}"
        print(f"{name} | {roc_auc_score(labels, values):.3f} | {top:.2f}{extra}", flush=True)


def simweb_web(folder: Path, target_name: str, seed: int) -> tuple[list[Path], list[Path], Any, Any, list[Path]]:
    """(target train images, scored images, their labels, their look-alike mask, background) written to ``folder``."""
    import numpy as np

    from ie_plugins.simweb.render import appearance_from_slug, render
    from ie_plugins.simweb.world import TARGETS, TRAIN_BASE, all_appearances

    definition, rng = TARGETS[target_name], np.random.default_rng(seed)
    everything = all_appearances()
    relevant = [a for a in everything if definition.relevant(a)]
    look_alikes = [a for a in everything if not definition.relevant(a)
                   and (a.colour in definition.colours or a.pattern in definition.patterns)]
    others = [a for a in everything if not definition.relevant(a) and a not in look_alikes]

    def pick(pool: list[Any], n: int) -> list[Any]:
        return [pool[i] for i in rng.choice(len(pool), min(n, len(pool)), replace=False)]

    def write(appearances: list[Any], per: int, base: int, tag: str) -> list[Path]:
        paths = []
        for a in appearances:
            for i in range(per):
                path = folder / tag / f"{a.slug}-{i}.jpg"
                path.parent.mkdir(parents=True, exist_ok=True)
                render(a, base + i, seed, 64).save(path, quality=90)
                paths.append(path)
        return paths

    classes = [appearance_from_slug(slug) for slug in definition.classes]
    train = write(classes, 40, TRAIN_BASE, "target")
    groups = (pick(relevant, 80), pick(look_alikes, 80), pick(others, 160))
    scored = [p for g, name in zip(groups, ("relevant", "look-alike", "other")) for p in write(g, 2, 0, name)]
    labels = np.array([1] * 160 + [0] * 480)
    hard = np.array([False] * 160 + [True] * 160 + [False] * 320)
    background = write(pick(list(everything), 24), 16, 500, "background")
    return train, scored, labels, hard, background


if __name__ == "__main__":
    main()
