"""Why the demo's SSL training is slow on some CPUs, and which thread setting is fast everywhere: MoCo-v3 steps/s of
``ie``'s trainer (EfficientNet-Lite0, 64 px, batch 32, the demo's step) beside a bare torch loop (the same backbone,
forward + backward + SGD on a fixed batch), on an idle machine and with one core held by another job (a spinning
process, as a CI neighbour does), for: torch's default (one thread per core, OpenMP threads spin while they wait),
``OMP_WAIT_POLICY=PASSIVE`` (waiting threads sleep), and one thread. The bare loop runs in both memory formats
(the trainer uses channels_last on every device). Each setting runs in a fresh process (OpenMP reads
its environment once). Prints the CPU model with the table.

    python benchmarks/cpu_threads.py [--steps 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"default": {}, "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
            "1 thread": {"OMP_NUM_THREADS": "1"}}

WORKER = r"""
import json, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import numpy as np, torch, timm
from PIL import Image
from ie.learning.train import Trainer
from ie_plugins.ssl.mocov3 import MoCoV3
steps = int(sys.argv[2])
with tempfile.TemporaryDirectory() as d:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(160):
        p = Path(d) / f"{i}.jpg"
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    trainer = Trainer(MoCoV3({"backbone_lr_scale": 0.1, "freeze_bn_stats": True}), "efficientnet_lite0", image_size=64,
                      batch_size=32, checkpoint_dir=Path(d) / "ckpt", device="cpu", init="random", finetune="gentle")
    trainer.fit(paths, 2)  # warm-up (allocator, oneDNN primitives)
    began = time.perf_counter(); trainer.fit(paths, 2 + steps); ours = steps / (time.perf_counter() - began)
model = timm.create_model("efficientnet_lite0", num_classes=0)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.randn(64, 3, 64, 64)  # both views of a batch of 32
def step(x):
    opt.zero_grad(); model(x).pow(2).mean().backward(); opt.step()
rates = {}
for fmt in (torch.contiguous_format, torch.channels_last):
    model.to(memory_format=fmt); xx = x.contiguous(memory_format=fmt)
    step(xx); step(xx)
    began = time.perf_counter()
    for _ in range(steps): step(xx)
    rates[str(fmt)] = steps / (time.perf_counter() - began)
print(json.dumps({"ours": ours, "bare": rates["torch.contiguous_format"], "bare_cl": rates["torch.channels_last"],
                  "threads": torch.get_num_threads()}))
"""


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def run(setting: dict[str, str], steps: int) -> dict[str, float]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **setting}
    out = subprocess.run([sys.executable, "-c", WORKER, str(ROOT), str(steps)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="3 steps per setting")
    args = parser.parse_args()
    if args.quick:
        args.steps = 3
    flags = next((l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags")), "")
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    print(f"{cpu_model()} ({isa}), {os.cpu_count()} cores; MoCo-v3 steps/s, EfficientNet-Lite0 64 px, batch 32")
    print("| load | setting | ours (steps/s) | bare torch loop (steps/s) | bare loop, channels_last | ours / bare |")
    print("|---|---|---|---|---|---|")
    for load in ("idle", "one core busy"):
        spinner = None
        if load != "idle":
            spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(0.5)
        try:
            for name, setting in SETTINGS.items():
                r = run(setting, args.steps)
                print(f"| {load} | {name} ({r['threads']} threads) | {r['ours']:.2f} | {r['bare']:.2f} | "
                      f"{r['bare_cl']:.2f} | {r['ours'] / r['bare']:.2f} |", flush=True)
        finally:
            if spinner is not None:
                spinner.kill()


if __name__ == "__main__":
    main()
