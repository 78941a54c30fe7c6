"""Which knobs make torch CPU results bitwise equal across x86 CPUs, and what each costs.

A fixed short workload, the project's own training step: MoCo-v3 on EfficientNet-Lite0 (random init, gentle
fine-tune), 64 px, batch 32, ``--steps`` steps on 128 generated JPEGs, then the features of 64 of them; and the
concept GP (float64: numpy, scipy's LAPACK, torch's GEMM) fitted on fixed data. Each setting runs in a fresh process
(the variables must be set before torch is imported) and reports a sha256 of the features' bytes and which earlier
setting it equals, their max abs difference from ``reference`` (nothing set, torch's default threads), the final
loss, a sha256 of the GP's predictions, and the seconds (wall and CPU) of ``fit()``.

A CPU with fewer features is emulated by capping what each library dispatches to: ``ATEN_CPU_CAPABILITY`` (torch's
own kernels), ``ONEDNN_MAX_CPU_ISA`` (oneDNN: convolutions), ``MKL_CBWR`` (MKL: matmuls, linear layers),
``OPENBLAS_CORETYPE``, ``NPY_DISABLE_CPU_FEATURES`` and ``GLIBC_TUNABLES`` (OpenBLAS, numpy, glibc's libm).
``pinned`` sets each at its floor with 1 thread; the ``pinned but ...`` rows relax one pin each, as a CPU with AVX2
(or 2 cores) runs it without that pin.

    nice -n 19 python benchmarks/cpu_reproducibility.py                # 16 settings, 10-40 min on 2 cores
    nice -n 19 python benchmarks/cpu_reproducibility.py --repeats 2    # each twice: also same-run stability
    nice -n 19 python benchmarks/cpu_reproducibility.py --settings "reference,pinned"
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PIN = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_CBWR": "COMPATIBLE"}
# the float64 side (the concept GP: numpy, scipy's OpenBLAS/LAPACK, glibc's libm) at the floor every x86-64-v2 CPU has
LIBS = {"OPENBLAS_CORETYPE": "Nehalem", "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
        "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA,-FMA4"}
# what the libraries pick by themselves on an AVX-but-no-AVX2 CPU (Sandy Bridge); MKL's own choice cannot be emulated
OLD_CPU = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "AVX", "OPENBLAS_CORETYPE": "Sandybridge",
           "NPY_DISABLE_CPU_FEATURES": "X86_V3", "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA"}
# name -> (environment, threads (None: torch's default), torch switches)
SETTINGS: dict[str, tuple[dict[str, str], int | None, dict[str, bool]]] = {
    "reference": ({}, None, {}),
    "1 thread": ({}, 1, {}),
    "ATEN_CPU_CAPABILITY=default": ({"ATEN_CPU_CAPABILITY": "default"}, None, {}),
    "ONEDNN_MAX_CPU_ISA=SSE41": ({"ONEDNN_MAX_CPU_ISA": "SSE41"}, None, {}),
    "ONEDNN_MAX_CPU_ISA=AVX": ({"ONEDNN_MAX_CPU_ISA": "AVX"}, None, {}),
    "MKL_CBWR=COMPATIBLE": ({"MKL_CBWR": "COMPATIBLE"}, None, {}),
    "deterministic algorithms": ({}, None, {"deterministic": True}),
    "libm/numpy/OpenBLAS floor": (LIBS, None, {}),
    "emulated pre-AVX2 CPU": (OLD_CPU, None, {}),
    "pinned": ({**PIN, **LIBS}, 1, {}),
    "pinned but ATEN avx2": ({**PIN, **LIBS, "ATEN_CPU_CAPABILITY": "avx2"}, 1, {}),
    "pinned but oneDNN AVX2": ({**PIN, **LIBS, "ONEDNN_MAX_CPU_ISA": "AVX2"}, 1, {}),
    "pinned but MKL unpinned": ({**LIBS, **{k: v for k, v in PIN.items() if k != "MKL_CBWR"}}, 1, {}),
    "pinned but libs unpinned": (PIN, 1, {}),
    "pinned but 2 threads": ({**PIN, **LIBS}, 2, {}),
    "pinned + oneDNN off": ({**PIN, **LIBS}, 1, {"mkldnn_off": True}),
}
SCRUB = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS",
         "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", *LIBS)


def gp_digest() -> str:
    """The concept GP (float64: numpy, scipy's LAPACK, torch's GEMM) fitted on fixed data: sha256 of its predictions."""
    import hashlib

    import numpy as np

    from ie.concepts.estimator import GPRewardEstimator

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1500, 32)).astype(np.float32)
    y = np.sin(x[:, 0]) + 0.1 * rng.normal(size=1500)
    mean, std = GPRewardEstimator(num_inducing=128).fit(x, y, seed=0).predict(x[:500])
    return hashlib.sha256(np.concatenate([mean, std]).tobytes()).hexdigest()


def make_images(folder: Path, n: int, size: int) -> list[Path]:
    """Smooth random colour fields plus noise, fixed by index, from integer arithmetic alone (numpy's float maths and
    glibc's libm differ by CPU, so float-made images would differ between the machines being compared)."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        rng = np.random.default_rng(i)
        field = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((size, size), Image.BILINEAR)
        pixels = (np.asarray(field, np.int16) + rng.integers(-12, 13, (size, size, 3))).clip(0, 255)
        path = folder / f"{i:05d}.jpg"
        Image.fromarray(pixels.astype(np.uint8)).save(path, quality=90)
        paths.append(path)
    return paths


def child(args: argparse.Namespace) -> None:
    """One setting, in this fresh process: train, featurize, print one JSON line."""
    import hashlib
    import time

    import numpy as np
    import torch

    spec = json.loads(args.child)
    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    if spec["switches"].get("deterministic"):
        torch.use_deterministic_algorithms(True)
    if spec["switches"].get("mkldnn_off"):
        torch.backends.mkldnn.enabled = False
    from ie.learning.features import ModelFeaturizer
    from ie.learning.train import Trainer
    from ie_plugins.ssl.mocov3 import MoCoV3

    paths = sorted(Path(args.images).glob("*.jpg"))
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(MoCoV3({"backbone_lr_scale": 0.1, "freeze_bn_stats": True}), args.arch,
                          image_size=args.image_size, batch_size=args.batch_size, checkpoint_dir=Path(tmp),
                          device="cpu", seed=0, init=args.init, finetune="gentle")
        wall, cpu = time.perf_counter(), time.process_time()
        result = trainer.fit(paths, args.steps)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        features = ModelFeaturizer(trainer.backbone, id="x", image_size=args.image_size, device="cpu")(paths[:64])
    features = features.detach().float().contiguous().cpu().numpy()
    np_path = Path(args.images) / f"features-{os.getpid()}.npy"  # the parent diffs it against the reference
    np.save(np_path, features)
    print(json.dumps({"sha": hashlib.sha256(features.tobytes()).hexdigest(), "loss": result.losses[-1],
                      "gp": gp_digest(), "wall": wall, "cpu": cpu, "threads": torch.get_num_threads(),
                      "features": str(np_path), "capability": torch.backends.cpu.get_cpu_capability()}))


def run_setting(name: str, args: argparse.Namespace, images: Path) -> dict:
    environment, threads, switches = SETTINGS[name]
    env = {k: v for k, v in os.environ.items() if k not in SCRUB}
    env.update(environment, HF_HUB_OFFLINE="1")
    spec = json.dumps({"threads": threads, "switches": switches})
    command = [sys.executable, __file__, "--child", spec, "--images", str(images), "--steps", str(args.steps),
               "--arch", args.arch, "--init", args.init, "--image-size", str(args.image_size),
               "--batch-size", str(args.batch_size)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{name}: exit {done.returncode}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated names (first = baseline)")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=1, help="runs a setting (best seconds kept)")
    parser.add_argument("--arch", default="efficientnet_lite0")
    parser.add_argument("--init", default="random")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--images", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help="also write the rows as JSON lines here")
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    import hashlib

    import numpy as np

    names = [n.strip() for n in args.settings.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETTINGS]
    if unknown:
        parser.error(f"unknown settings {unknown}; known: {', '.join(SETTINGS)}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        images = Path(tmp) / "images"
        inputs = hashlib.sha256(b"".join(p.read_bytes() for p in make_images(images, 128, 80))).hexdigest()[:12]
        baseline = None
        for name in names:
            runs = [run_setting(name, args, images) for _ in range(args.repeats)]
            features = np.load(runs[0]["features"])
            baseline = features if baseline is None else baseline
            row = {"setting": name, "sha": runs[0]["sha"][:12], "gp": runs[0]["gp"][:12], "loss": runs[0]["loss"],
                   "stable": len({(r["sha"], r["gp"]) for r in runs}) == 1,
                   "max_abs_diff": float(np.abs(features - baseline).max()),
                   "wall": min(r["wall"] for r in runs), "cpu": min(r["cpu"] for r in runs),
                   "threads": runs[0]["threads"], "capability": runs[0]["capability"], "env": SETTINGS[name][0]}
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    import torch

    def same_as(i: int, key: str) -> str:
        return next((f"= {r['setting']}" for r in rows[:i] if r[key] == rows[i][key]), "new")

    repeats = args.repeats > 1
    print(f"cpu_reproducibility: mocov3 {args.arch} ({args.init} init) {args.image_size}px batch {args.batch_size}, "
          f"{args.steps} steps, features of 64 images (inputs sha256 {inputs}); concept GP on 1,500 points; "
          f"torch {torch.__version__}, {os.cpu_count()} CPUs, {args.repeats} run(s) a setting\n")
    print("| setting | threads | ATen | features sha256 | features | max abs diff | final loss | GP sha256 | GP | "
          "fit wall s | fit CPU s |" + (" repeats equal |" if repeats else ""))
    print("|---" * (11 + repeats) + "|")
    for i, r in enumerate(rows):
        print(f"| {r['setting']} | {r['threads']} | {r['capability']} | `{r['sha']}` | {same_as(i, 'sha')} | "
              f"{r['max_abs_diff']:.1e} | {r['loss']:.10f} | `{r['gp']}` | {same_as(i, 'gp')} | {r['wall']:.1f} | "
              f"{r['cpu']:.1f} |" + (f" {'yes' if r['stable'] else 'NO'} |" if repeats else ""))


if __name__ == "__main__":
    main()
