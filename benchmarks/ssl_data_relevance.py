"""Does self-supervised training on *relevant* web images give better target features than on random ones?

The premise behind "target kNN accuracy after exploration >= the random run's" (part 5), measured without the
explorer in between: SSL (MoCo-v3 by default) from the same random init, same steps and seed, on the target's
train split mixed with simweb images of

- ``none``: no training (the random-init features),
- ``target``: the target's train split alone,
- ``relevant``: concepts relevant to the target (what a perfect exploration policy would download),
- ``random``: concepts drawn uniformly (what random exploration downloads),

then kNN top-1 on the target as the loop evaluates it (k = 20, train -> test split). ``+-`` is the binomial standard error of the test set.

    python benchmarks/ssl_data_relevance.py                      # resnet18, 64 px, 150 steps (CPU: ~8 min)
    python benchmarks/ssl_data_relevance.py --quick              # 20 steps, 2 pools (smoke)
    python benchmarks/ssl_data_relevance.py --steps 5000 --device cuda --batch-size 256   # a GPU budget
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

POOLS = ["none", "target", "relevant", "random"]


def render_pool(world: Any, folder: Path, concepts: list, per_concept: int, seed: int,
                image_size: int) -> list[Path]:
    """The images the simweb engine would serve for ``concepts`` (indices 0..per_concept-1), as JPEG files."""
    from ie_plugins.simweb.render import render_jpeg

    paths = []
    for concept in concepts:
        appearance = world.appearance(concept.id)
        for index in range(per_concept):
            path = folder / appearance.slug / f"{index:04d}.jpg"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(render_jpeg(appearance, index, seed, image_size))
            paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="blue-striped", help="simweb target definition")
    parser.add_argument("--pools", default=",".join(POOLS))
    parser.add_argument("--ssl", default="mocov3")
    parser.add_argument("--ssl-options", default="{}", help='JSON, e.g. \'{"temperature": 0.2, "momentum": 0.99}\'')
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--concepts", type=int, default=48, help="concepts per web pool")
    parser.add_argument("--images-per-concept", type=int, default=16)
    parser.add_argument("--test-per-class", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quick", action="store_true", help="20 steps, pools none and relevant")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.pools = 20, "none,relevant"

    from rich.console import Console
    from rich.table import Table

    from ie.evaluate import evaluate_featurizer
    from ie.features import ModelFeaturizer
    from ie.plugins import get_plugin_manager
    from ie.train import Trainer, resolve_device
    from ie_plugins.simweb.world import get_world

    device = resolve_device(args.device)
    pm = get_plugin_manager()
    world = get_world({"seed": args.seed, "target": args.target})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        target = pm.create("target", "simweb", {"seed": args.seed, "target": args.target, "cache_dir": root / "target",
                                                "n_test": args.test_per_class}).load()
        rng = random.Random(args.seed)
        relevant = world.relevant_concepts()
        web = {"none": [], "target": [], "relevant": rng.sample(relevant, min(args.concepts, len(relevant))),
               "random": rng.sample(list(world.concepts), args.concepts)}
        for pool in [p.strip() for p in args.pools.split(",") if p.strip()]:
            concepts = web[pool]
            images = render_pool(world, root / "web", concepts, args.images_per_concept, args.seed, args.image_size)
            images += [item.path for item in target.train]
            trainer = Trainer(pm.create("ssl", args.ssl, json.loads(args.ssl_options)), args.arch,
                              image_size=args.image_size, batch_size=args.batch_size,
                              checkpoint_dir=root / "ckpt" / pool, device=device, seed=args.seed)
            began = time.perf_counter()
            if pool != "none":
                trainer.fit(images, args.steps)
            seconds = time.perf_counter() - began
            featurizer = ModelFeaturizer(trainer.backbone, id=pool, image_size=args.image_size, device=device)
            accuracy = evaluate_featurizer(featurizer, target, linear=False)["knn_top1"]  # the loop's evaluation
            share = sum(world.is_relevant(c.id) for c in concepts) / len(concepts) if concepts else float("nan")
            rows.append((pool, share, len(images), 0 if pool == "none" else args.steps, accuracy, seconds))
            print(f"ssl_data_relevance[{pool}]: kNN top-1 {accuracy:.3f}, {len(images)} images, "
                  f"{seconds:.0f} s", flush=True)
    n_test = len(target.test)
    table = Table(title=f"target kNN top-1 after SSL on each pool ({args.target}, {args.arch} {args.image_size} px, "
                        f"{args.ssl}, batch {args.batch_size}, seed {args.seed}, {n_test} test images, "
                        f"chance {1 / len(target.class_names):.3f})")
    for column in ("pool", "relevant concepts", "images", "steps", "kNN top-1", "train s"):
        table.add_column(column)
    for pool, share, n, steps, accuracy, seconds in rows:
        se = math.sqrt(accuracy * (1 - accuracy) / n_test)
        table.add_row(pool, "-" if math.isnan(share) else f"{share:.0%}", str(n), str(steps),
                      f"{accuracy:.3f} +- {se:.3f}", f"{seconds:.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
