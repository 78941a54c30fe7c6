"""Does self-supervised training on *relevant* web images give better target features than on random ones?

Measured without the explorer in between, from the default start (EfficientNet-Lite0 with its offline ImageNet
weights, fine-tuned gently: see docs/benchmarks.md), same steps and seeds, SSL (MoCo-v3) on the target's train split
mixed with web images of

- ``none``: no training (the start model's features),
- ``relevant``: images relevant to the target (what a perfect exploration policy would download),
- ``random``: images drawn uniformly from the web (what random exploration downloads),

then kNN top-1 and linear-probe top-1 on the target as the loop evaluates them (train -> test). Targets: ``simweb``
(the simulated web, blue-striped) and ``clipart`` (real clip-art, the animals preset; its web is the rest of the
openclipart package). Mean +- standard deviation over ``--seeds``.

    python benchmarks/ssl_data_relevance.py --target clipart            # CPU: ~3 min a pool and seed
    python benchmarks/ssl_data_relevance.py --quick                     # 20 steps, seed 0
    python benchmarks/ssl_data_relevance.py --steps 5000 --device cuda --batch-size 256 --image-size 224   # a GPU budget
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

POOLS = ["none", "relevant", "random"]


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


def simweb_pools(root: Path, seed: int, args: argparse.Namespace) -> tuple[Any, dict[str, list[Path]]]:
    from ie.host.manager import get_plugin_manager
    from ie_plugins.simweb.world import get_world

    world = get_world({"seed": seed, "target": "blue-striped"})
    target = get_plugin_manager().create("target", "simweb", {"seed": seed, "target": "blue-striped",
                                                              "cache_dir": root / "target", "n_test": 60}).load()
    rng = random.Random(seed)
    relevant = rng.sample(world.relevant_concepts(), args.concepts)
    anything = rng.sample(list(world.concepts), args.concepts)
    web = root / "web"
    return target, {"relevant": render_pool(world, web, relevant, args.images_per_concept, seed, args.image_size),
                    "random": render_pool(world, web, anything, args.images_per_concept, seed, args.image_size)}


def clipart_pools(root: Path, seed: int, args: argparse.Namespace) -> tuple[Any, dict[str, list[Path]]]:
    from ie.host.manager import get_plugin_manager

    manager = get_plugin_manager()
    target = manager.create("target", "clipart", {"name": "clipart:animals"}).load()
    engine = manager.create("engine", "clipart", {"target": "animals"})
    relevant = sorted(engine.relevant_files())
    corpus = sorted(p for p in engine.corpus_dir.rglob("*.jpg"))
    engine.close()
    rng = random.Random(seed)
    n = min(len(relevant), args.concepts * args.images_per_concept)
    return target, {"relevant": rng.sample(relevant, n), "random": rng.sample(corpus, n)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="simweb", choices=["simweb", "clipart"])
    parser.add_argument("--pools", default=",".join(POOLS))
    parser.add_argument("--ssl", default="mocov3")
    parser.add_argument("--ssl-options", default="{}", help='JSON, e.g. \'{"temperature": 0.2, "momentum": 0.99}\'')
    parser.add_argument("--arch", default="efficientnet_lite0")
    parser.add_argument("--init", default="auto")
    parser.add_argument("--finetune", default="auto", help="auto | gentle | full")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--feature-size", type=int, default=0,
                        help="resolution of the evaluation (0 = --image-size; a run's default feature_size is 128)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--concepts", type=int, default=12, help="simweb concepts per pool (x images per concept)")
    parser.add_argument("--images-per-concept", type=int, default=16)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="bench-out/ssl_data_relevance.jsonl", help="JSON lines, appended")
    parser.add_argument("--quick", action="store_true", help="20 steps, seed 0")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.seeds = 20, "0"
    feature_size = args.feature_size or args.image_size

    from rich.console import Console
    from rich.table import Table

    from ie.learning.evaluate import evaluate_featurizer
    from ie.learning.features import ModelFeaturizer
    from ie.host.manager import get_plugin_manager
    from ie.api import choose_device
    from ie.learning.train import Trainer

    device = choose_device(args.device)
    pm = get_plugin_manager()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            target, web = (clipart_pools if args.target == "clipart" else simweb_pools)(root, seed, args)
            for pool in [p.strip() for p in args.pools.split(",") if p.strip()]:
                images = web.get(pool, []) + [item.path for item in target.train]
                trainer = Trainer(pm.create("ssl", args.ssl, json.loads(args.ssl_options)), args.arch,
                                  image_size=args.image_size, batch_size=args.batch_size,
                                  checkpoint_dir=root / "ckpt" / pool, device=device, seed=seed, init=args.init,
                                  finetune=args.finetune)
                began = time.perf_counter()
                if pool != "none":
                    trainer.fit(images, args.steps)
                seconds = time.perf_counter() - began
                featurizer = ModelFeaturizer(trainer.backbone, id=pool, image_size=feature_size, device=device)
                result = evaluate_featurizer(featurizer, target, linear=True)  # the loop's evaluation
                row = {"target": args.target, "pool": pool, "seed": seed, "knn_top1": result["knn_top1"],
                       "linear_top1": result["linear_top1"], "images": len(images), "n_test": len(target.test),
                       "steps": 0 if pool == "none" else args.steps, "seconds": seconds, "arch": args.arch,
                       "init": args.init, "finetune": trainer.finetune, "image_size": args.image_size,
                       "feature_size": feature_size}
                if feature_size != args.image_size:  # the same model at its training size, side by side
                    at_train = evaluate_featurizer(ModelFeaturizer(trainer.backbone, id=f"{pool}-train-size",
                                                                   image_size=args.image_size, device=device),
                                                   target, linear=True)
                    row.update(knn_top1_at_image_size=at_train["knn_top1"],
                               linear_top1_at_image_size=at_train["linear_top1"])
                rows.append(row)
                with open(out, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
                at_train_size = (f" (kNN at {args.image_size} px: {row['knn_top1_at_image_size']:.3f})"
                                 if "knn_top1_at_image_size" in row else "")
                print(f"ssl_data_relevance[{args.target} {pool} seed {seed}]: kNN {row['knn_top1']:.3f}, linear "
                      f"{row['linear_top1']:.3f} at {feature_size} px{at_train_size}, {len(images)} images, "
                      f"{seconds:.0f} s", flush=True)
    table = Table(title=f"{args.target}: target accuracy after {args.steps} SSL steps on each pool ({args.arch} "
                        f"{args.image_size} px, evaluated at {feature_size} px, init {args.init}, finetune "
                        f"{rows[0]['finetune']}, batch "
                        f"{args.batch_size}, {rows[0]['n_test']} test images), mean +- std over seeds {args.seeds}")
    for column in ("pool", "images", "kNN top-1", "linear top-1"):
        table.add_column(column)

    def cell(values: list[float]) -> str:
        return f"{statistics.mean(values):.3f} +- {statistics.stdev(values) if len(values) > 1 else 0.0:.3f}"

    for pool in dict.fromkeys(r["pool"] for r in rows):
        chosen = [r for r in rows if r["pool"] == pool]
        table.add_row(pool, str(chosen[0]["images"]), cell([r["knn_top1"] for r in chosen]),
                      cell([r["linear_top1"] for r in chosen]))
    Console().print(table)


if __name__ == "__main__":
    main()
