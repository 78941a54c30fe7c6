"""GP reward estimator benchmark: ours (SGPR, 512 inducing points) vs scikit-learn's exact GPR.

Inputs are real: the 146,347 WordNet concept texts embedded by ``hashing`` (or ``--embedder minilm`` when its
cache exists or you can wait). Rewards are synthetic, since none exist without a run:

* ``domain`` (default): cosine similarity to the mean embedding of the concepts whose text mentions
  ``--domain`` (bird), standardised, plus N(0, 0.3^2) noise: a target-domain similarity, like the paper's
  reward (mean similarity of a query's images to the target).
* ``spiky``: max cosine to 20 random concepts: a needle-like reward with a short fitted lengthscale, the
  hard case for any low-rank GP (reported for honesty; see the KL bound column).

One line per size: ours at n = 10,000 (fit + score all 146,347), then n = 1,000 and 2,000 with ours and
scikit-learn side by side (sklearn scores an ``--eval`` subset; its time is also extrapolated linearly to
146,347) and the Spearman rank correlation of the mu + sigma scores on that subset.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def load_embeddings(embedder_name: str) -> tuple[list, np.ndarray]:
    from ie.concepts import embed_vocabulary
    from ie.host.manager import get_plugin_manager

    manager = get_plugin_manager()
    vocab = manager.create("vocabulary", "wordnet", {})
    embedder = manager.create("embedder", embedder_name, {})
    return list(vocab.concepts()), np.asarray(embed_vocabulary(vocab, embedder), dtype=np.float32)


def rewards(concepts: list, x: np.ndarray, kind: str, domain: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "domain":
        mask = np.array([domain in c.text for c in concepts])
        t = x[mask].mean(0)
        f = x @ (t / np.linalg.norm(t))
        f = (f - f.mean()) / f.std()
        return f + 0.3 * rng.standard_normal(len(f))
    targets = x[rng.choice(len(x), 20, replace=False)]
    f = (x @ targets.T).max(1)
    return f + 0.02 * rng.standard_normal(len(f))


def ours(x_obs: np.ndarray, y_obs: np.ndarray, x_all: np.ndarray) -> tuple[np.ndarray, float, float, float]:
    from ie.concepts.estimator import GPRewardEstimator

    t0 = time.perf_counter()
    est = GPRewardEstimator().fit(x_obs, y_obs)
    t1 = time.perf_counter()
    mu, sigma = est.predict(x_all)
    t2 = time.perf_counter()
    return mu + sigma, t1 - t0, t2 - t1, est.trace_term


def sklearn_exact(x_obs: np.ndarray, y_obs: np.ndarray, x_eval: np.ndarray) -> tuple[np.ndarray, float, float]:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    t0 = time.perf_counter()
    gp = GaussianProcessRegressor(ConstantKernel(1.0) * RBF(1.0) + WhiteKernel(0.1), normalize_y=True,
                                  random_state=0).fit(x_obs.astype(np.float64), y_obs)
    t1 = time.perf_counter()
    mu, sd = gp.predict(x_eval.astype(np.float64), return_std=True)
    t2 = time.perf_counter()
    noise = gp.kernel_.k2.noise_level * gp._y_train_std ** 2  # sklearn's std includes the noise: use f's
    return mu + np.sqrt(np.maximum(sd**2 - noise, 0.0)), t1 - t0, t2 - t1


def main(argv: list[str] | None = None) -> None:
    from scipy.stats import spearmanr

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 1,000 only, 5,000 evaluation concepts")
    parser.add_argument("--embedder", default="hashing")
    parser.add_argument("--reward", choices=["domain", "spiky"], default="domain")
    parser.add_argument("--domain", default="bird")
    parser.add_argument("--eval", type=int, default=20000, help="concepts sklearn scores (all: 146347)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch  # noqa: F401 - imported once up front: its ~1-2 s import is not the estimator's time

    rng = np.random.default_rng(args.seed)
    concepts, x = load_embeddings(args.embedder)
    y = rewards(concepts, x, args.reward, args.domain, rng)
    n_all = len(x)
    evaluation = np.sort(rng.choice(n_all, min(5000 if args.quick else args.eval, n_all), replace=False))
    print(f"# {n_all:,} WordNet concepts, embedder {args.embedder}, reward {args.reward}, {os.cpu_count()} CPUs, "
          f"load avg {os.getloadavg()[0]:.1f}")
    obs = rng.choice(n_all, 10000, replace=False)
    _, fit_s, score_s, kl = ours(x[obs], y[obs], x)
    print(f"n=10000  ours: fit {fit_s:.2f}s + score {n_all:,} {score_s:.2f}s = {fit_s + score_s:.2f}s "
          f"(goal <= 5s)  trace term {kl:.3g}")
    for n in (1000,) if args.quick else (1000, 2000):
        obs = rng.choice(n_all, n, replace=False)
        score, fit_s, score_s, kl = ours(x[obs], y[obs], x)
        exact, sk_fit, sk_pred = sklearn_exact(x[obs], y[obs], x[evaluation])
        sk_total = sk_fit + sk_pred * n_all / len(evaluation)
        rho = spearmanr(score[evaluation], exact)[0]
        print(f"n={n:<5d}  ours: {fit_s + score_s:.2f}s (fit {fit_s:.2f} + score {n_all:,} {score_s:.2f})  "
              f"sklearn: fit {sk_fit:.2f}s + score {len(evaluation):,} {sk_pred:.2f}s (~{sk_total:.1f}s for "
              f"{n_all:,})  speedup {sk_total / (fit_s + score_s):.1f}x  Spearman(mu+sigma) {rho:.4f}  "
              f"trace term {kl:.3g}")


if __name__ == "__main__":
    main()
