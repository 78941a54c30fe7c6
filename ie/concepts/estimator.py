"""Gaussian-process reward estimator over concept text embeddings (the paper's step 6).

Model: ``reward = c + f(x) + noise``, ``f ~ GP(0, s^2 exp(-|x - x'|^2 / (2 l^2)))`` (isotropic RBF),
rewards standardised first (as scikit-learn's ``normalize_y``). Two stages:

* Hyperparameters ``(l, s^2, noise)`` maximise the exact log marginal likelihood on a random subset of
  at most ``hyper_subset`` observations (subset-of-data estimation). ``s^2`` is profiled out in closed
  form, leaving a 2-d search (coarse grid, then L-BFGS-B): about 60 Cholesky factorisations of a
  800 x 800 matrix.
* Posterior: Titsias' sparse variational GP (SGPR, collapsed bound) with ``num_inducing`` inducing
  inputs chosen by greedy pivoted Cholesky among a random pool of ``greedy_pool * m`` observations
  (greedy trace reduction, as analysed by Burt et al. 2019). The bound is
  ``ELBO = log N(y | 0, Q_nn + noise I) - t / (2 noise)`` with ``t = tr(K_nn - Q_nn)`` (the Nystroem
  residual); ``t / (2 noise)`` is exposed as :attr:`GPRewardEstimator.trace_term` at every fit. It is 0
  exactly when the inducing inputs reproduce ``K_nn``, and it drives Burt et al.'s bound on
  KL(q || exact posterior), so a large value warns that the approximation is coarse (short
  lengthscales, little noise). When ``n <= num_inducing`` every observation is an inducing input and
  the posterior is the exact GP.

Why hand-written on numpy/scipy/torch rather than gpytorch or scikit-learn (speed, measured on 2 shared
CPU cores): scikit-learn's exact GPR took 4-30 s to fit 1,000 points (384-d) and ~90 s to score 146,347
concepts with std (benchmarks/concepts_gp.py); gpytorch's SGPR (``InducingPointKernel``) trains
hyperparameters and inducing points by Adam, each step a differentiable O(n m^2) pass, and needed
~2.1 s per step at n = 10k, m = 512 (and 2.7 s to score 20k concepts), so one fit exceeds the
5 s budget many times over. Here the
lengthscale only rescales distances computed once, the hyperparameters come from a 2-d profiled search
on a subset, the posterior is one float64 GEMM plus m x m algebra, and prediction is two float32 matmuls
per chunk (``K_*m @ w`` and ``|K_*m @ R'|^2``), ~1-2 s for 146,347 concepts x 512.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.linalg
import scipy.linalg.lapack
import scipy.optimize

LOG_L_BOUNDS = (math.log(0.02), math.log(50.0))
LOG_R_BOUNDS = (math.log(1e-3), math.log(1e2))  # noise / signal variance ratio (rewards are never noise-free)


@dataclass
class Hyper:
    """Fitted hyperparameters, in standardised-reward units (``mean``/``scale`` undo the standardisation)."""

    lengthscale: float = 1.0
    signal_var: float = 1.0
    noise_var: float = 0.1
    mean: float = 0.0
    scale: float = 1.0


def sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise squared Euclidean distances (float64, clipped at 0)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def profiled_nll(log_l: float, log_r: float, d2: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Negative log marginal likelihood with ``s^2`` profiled out; returns ``(nll, s^2_hat)``.

    ``K = s^2 (R_l + r I)``; the optimum ``s^2 = y' (R_l + r I)^-1 y / n`` gives
    ``nll = n/2 log s^2 + 1/2 log|R_l + r I| + n/2 (1 + log 2 pi)``.
    """
    n = len(y)
    k = np.multiply(d2, -0.5 * math.exp(-2.0 * log_l))
    np.exp(k, out=k)
    k[np.diag_indices_from(k)] += math.exp(log_r)
    try:
        c, low = scipy.linalg.cho_factor(k, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return 1e30, 1.0
    alpha = scipy.linalg.cho_solve((c, low), y, check_finite=False)
    s2 = max(float(y @ alpha) / n, 1e-12)
    logdet = 2.0 * float(np.log(np.diag(c)).sum())
    return 0.5 * n * math.log(s2) + 0.5 * logdet + 0.5 * n * (1.0 + math.log(2 * math.pi)), s2


def fit_hyper(x: np.ndarray, y: np.ndarray, init: Hyper | None = None) -> Hyper:
    """Maximise the exact marginal likelihood of standardised ``y`` over ``(l, r)``; ``s^2`` in closed form."""
    d2 = sq_dists(x, x)
    med = float(np.median(d2[np.triu_indices(len(x), 1)])) if len(x) > 1 else 1.0
    grid_l = [0.5 * math.log(max(med, 1e-6) / 2.0) + s for s in (-1.0, 0.0, 1.0, 2.0)]
    starts = [(a, math.log(b)) for a in grid_l for b in (0.03, 0.3)]
    if init is not None:  # warm start from the last fit, but the grid too: a fit on few observations can
        # land on the flat "no correlation" plateau (l -> 0), where L-BFGS alone would stay forever
        starts.append((math.log(init.lengthscale), math.log(max(init.noise_var / init.signal_var, 1.01e-3))))
    def f(p: np.ndarray) -> float:
        return profiled_nll(float(p[0]), float(p[1]), d2, y)[0]
    best = min(starts, key=lambda p: f(np.array(p)))
    res = scipy.optimize.minimize(f, np.array(best), method="L-BFGS-B", bounds=[LOG_L_BOUNDS, LOG_R_BOUNDS],
                                  options={"maxiter": 15, "ftol": 1e-7})
    log_l, log_r = (res.x if res.fun <= f(np.array(best)) else np.array(best)).tolist()
    _, s2 = profiled_nll(log_l, log_r, d2, y)
    return Hyper(lengthscale=math.exp(log_l), signal_var=s2, noise_var=s2 * math.exp(log_r))


def greedy_inducing(x: np.ndarray, m: int, hyper: Hyper) -> np.ndarray:
    """Greedy inducing inputs: the first ``m`` pivots of a pivoted Cholesky of ``K_xx`` (each step picks
    the row with the largest residual variance), via LAPACK ``dpstrf``."""
    import torch

    xt = torch.from_numpy(np.asarray(x, dtype=np.float32))
    d2 = torch.cdist(xt, xt).square_().double().numpy()  # float32 distances: they only rank the pivots
    k = hyper.signal_var * np.exp(-d2 / (2.0 * hyper.lengthscale**2))
    _, piv, rank, _ = scipy.linalg.lapack.dpstrf(k, lower=1, tol=1e-10)
    return np.sort(piv[: min(m, max(int(rank), 1))] - 1)


class GPRewardEstimator:
    """SGPR posterior over rewards; ``fit`` then ``predict``. See the module docstring for the maths."""

    def __init__(self, num_inducing: int = 512, hyper_subset: int = 800, greedy_pool: int = 3,
                 var_tol: float = 1e-3, chunk: int = 16384):
        self.num_inducing = num_inducing
        self.hyper_subset = hyper_subset
        self.greedy_pool = greedy_pool  # pivoted Cholesky runs on a random pool of greedy_pool * m observations
        self.var_tol = var_tol  # predictive variances may move by var_tol * s^2 to drop directions (faster)
        self.chunk = chunk
        self.hyper: Hyper | None = None
        self.inducing: np.ndarray | None = None  # rows of the training inputs
        self.trace_term: float = 0.0  # t / (2 noise): 0 when the sparse posterior is the exact one
        self._z: np.ndarray | None = None
        self._w: np.ndarray | None = None
        self._m: np.ndarray | None = None  # R (r x m): explained variance of f(x) is |R k_m(x)|^2

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int = 0, hyper: Hyper | None = None,
            reoptimize: bool = True, init: Hyper | None = None) -> GPRewardEstimator:
        """Fit on inputs ``x`` (n x d) and rewards ``y``. With ``reoptimize=False`` and ``hyper`` given,
        reuse those hyperparameters (a resumed run rebuilds exactly the same posterior)."""
        from threadpoolctl import threadpool_limits  # ships with scikit-learn

        # Single-threaded BLAS for the many small factorisations: on a busy 2-core machine multi-threaded
        # OpenBLAS took 170 ms per 800 x 800 Cholesky instead of 8 ms. Large matmuls run in torch.
        with threadpool_limits(1, user_api="blas"):
            return self._fit(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), seed, hyper,
                             reoptimize, init)

    def _fit(self, x: np.ndarray, y: np.ndarray, seed: int, hyper: Hyper | None, reoptimize: bool,
             init: Hyper | None) -> GPRewardEstimator:
        mean = float(y.mean())
        scale = float(y.std()) if len(y) > 1 and y.std() > 1e-12 else 1.0
        ys = (y - mean) / scale
        if hyper is not None and not reoptimize:
            self.hyper = Hyper(**asdict(hyper))
        else:
            rng = np.random.default_rng([seed, len(y)])
            sub = rng.choice(len(y), self.hyper_subset, replace=False) if len(y) > self.hyper_subset else slice(None)
            fitted = fit_hyper(x[sub], ys[sub], init) if len(y) > 1 else Hyper()
            self.hyper = Hyper(fitted.lengthscale, fitted.signal_var, fitted.noise_var, mean, scale)
        self.hyper.mean, self.hyper.scale = mean, scale
        pool_rng = np.random.default_rng([seed, len(y), 1])
        pool_size = self.greedy_pool * self.num_inducing
        pool = np.sort(pool_rng.choice(len(y), pool_size, replace=False)) if len(y) > pool_size else np.arange(len(y))
        self.inducing = pool[greedy_inducing(x[pool], self.num_inducing, self.hyper)]
        self._posterior(x, ys)
        return self

    def _kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        h = self.hyper
        assert h is not None
        return h.signal_var * np.exp(-sq_dists(a, b) / (2.0 * h.lengthscale**2))

    def _posterior(self, x: np.ndarray, ys: np.ndarray) -> None:
        """SGPR (Titsias): ``mu_* = K_*m w``, ``var_* = s^2 - k_*' M k_*`` with
        ``w = Sigma^-1 K_mn y / noise``, ``M = K_mm^-1 - Sigma^-1``, ``Sigma = K_mm + K_mn K_nm / noise``."""
        import torch

        h = self.hyper
        assert h is not None and self.inducing is not None
        z = x[self.inducing]
        kmm = self._kernel(z, z) + 1e-6 * h.signal_var * np.eye(len(z))
        kmn = self._cross_kernel(x, z, np.float64)
        # the O(n m^2) work is one float64 GEMM in torch (multi-threaded); the rest is m x m
        kk = (kmn.T @ kmn).numpy()
        ky = (kmn.T @ torch.from_numpy(ys)).numpy()
        lm = scipy.linalg.cholesky(kmm, lower=True)
        # A A' with A = L_m^-1 K_mn / sqrt(noise) (GPflow's SGPR notation), formed from K_mn K_nm
        aat = scipy.linalg.solve_triangular(lm, scipy.linalg.solve_triangular(lm, kk, lower=True).T, lower=True)
        aat = 0.5 * (aat + aat.T) / h.noise_var
        # Titsias' trace term t / (2 noise), t = tr(K_nn - Q_nn), tr Q_nn = noise * tr(A A')
        self.trace_term = max(len(x) * h.signal_var - h.noise_var * float(np.trace(aat)), 0.0) / (2.0 * h.noise_var)
        b = np.eye(len(z)) + aat
        lb = scipy.linalg.cholesky(b, lower=True)
        a_y = scipy.linalg.solve_triangular(lm, ky, lower=True) / math.sqrt(h.noise_var)
        c = scipy.linalg.solve_triangular(lb, a_y, lower=True) / math.sqrt(h.noise_var)
        # w = L_m^-T L_B^-T c ; Sigma^-1 = L_m^-T B^-1 L_m^-1 ; K_mm^-1 = L_m^-T L_m^-1
        w = scipy.linalg.solve_triangular(lm.T, scipy.linalg.solve_triangular(lb.T, c, lower=False), lower=False)
        # K_mm^-1 - Sigma^-1 = L_m^-T (I - B^-1) L_m^-1 and I - B^-1 = V diag(c) V' with c = l / (1 + l)
        # in [0, 1) for the eigenvalues l of A A'. So the explained variance is |R k|^2, R = diag(sqrt c) V'
        # L_m^-1: a sum of squares (no float32 cancellation). Rows with the smallest c are dropped while their
        # sum stays <= var_tol: as k' K_mm^-1 k <= s^2, that moves any variance by at most var_tol * s^2.
        evals, vecs = scipy.linalg.eigh(aat)
        c_all = np.clip(evals, 0.0, None) / (1.0 + np.clip(evals, 0.0, None))
        keep = np.cumsum(c_all) > self.var_tol  # eigh sorts ascending: drop a prefix
        lm_inv = scipy.linalg.solve_triangular(lm, np.eye(len(z)), lower=True)
        r = np.sqrt(c_all[keep])[:, None] * (vecs[:, keep].T @ lm_inv)
        self._z, self._w, self._m = z, w, r

    def _cross_kernel(self, x: np.ndarray, z: np.ndarray, dtype: Any = np.float32):  # type: ignore[no-untyped-def]
        """``K(x, z)`` as a torch tensor (float32 to score, float64 to fit), via one fused ``addmm`` + ``exp``:
        ``s^2 exp(-|x-z|^2 / 2l^2) = exp(x.z / l^2 - |x|^2 / 2l^2 - |z|^2 / 2l^2 + log s^2)``."""
        import torch  # float32 torch matmuls: ~2x numpy's float64 BLAS here

        h = self.hyper
        assert h is not None
        inv = 1.0 / h.lengthscale**2
        zt = torch.from_numpy(np.ascontiguousarray(z, dtype=dtype))
        bias = (math.log(h.signal_var) - 0.5 * inv * (zt * zt).sum(1))[None, :]
        xs = torch.from_numpy(np.require(x, dtype, ["C", "W"]))  # copies read-only (memory-mapped) rows
        k = torch.addmm(bias, xs, zt.T, alpha=inv)
        return k.sub_(0.5 * inv * (xs * xs).sum(1)[:, None]).clamp_max_(math.log(h.signal_var)).exp_()

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and std of the latent reward ``c + f(x)`` (reward units), float64 arrays."""
        import torch

        h = self.hyper
        if h is None or self._z is None:
            raise RuntimeError("fit() first")
        w = torch.from_numpy(self._w.astype(np.float32))
        r = torch.from_numpy(np.ascontiguousarray(self._m.T, dtype=np.float32))
        mu = np.empty(len(x))
        var = np.empty(len(x))
        with torch.no_grad():
            for lo in range(0, len(x), self.chunk):
                k = self._cross_kernel(x[lo: lo + self.chunk], self._z)
                mu[lo: lo + len(k)] = (k @ w).double().numpy()
                var[lo: lo + len(k)] = (h.signal_var - (k @ r).square_().sum(1)).double().numpy()
        sigma = np.sqrt(np.clip(var, 1e-12 * h.signal_var, None))
        return h.mean + h.scale * mu, h.scale * sigma
