#!/usr/bin/env bash
# Part 8's comparison at a GPU budget (224 px, 10x the steps), for a lent CUDA machine: one prepared run of about
# 10 minutes on one modern GPU. Writes JSON lines under bench-out/gpu/ and prints the tables.
#   bash benchmarks/gpu_compare.sh            # needs `make setup` (or the same venv) and CUDA
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=bench-out/gpu
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1
"$PY" - <<'PYEOF'
import torch
assert torch.cuda.is_available(), "no CUDA device: this script is for a GPU machine"
print("device:", torch.cuda.get_device_name(0), "bf16:", torch.cuda.is_bf16_supported())
PYEOF
COMMON=(--device cuda --image-size 224 --batch-size 128)
# images/s of one MoCo-v3 step with AMP + channels_last (our trainer) beside a bare lightly + torch loop
"$PY" benchmarks/ssl_step.py --device cuda --arch resnet50 --image-size 224 --batch-size 128 --steps 30 \
  | tee "$OUT/ssl_step.txt"
"$PY" benchmarks/ssl_data_relevance.py --target clipart "${COMMON[@]}" --steps 500 --seeds 0,1,2 --out "$OUT/ssl_data_relevance.jsonl"
"$PY" benchmarks/explore_simweb.py --target simweb "${COMMON[@]}" --steps-per-iter 100 --policies gp,random,none \
  --seeds 0,1,2 --out "$OUT/explore_simweb.jsonl"
"$PY" benchmarks/explore_simweb.py --target clipart "${COMMON[@]}" --steps-per-iter 100 --policies gp,random,none \
  --seeds 0,1,2 --out "$OUT/explore_clipart.jsonl"
