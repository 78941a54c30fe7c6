"""Gaussian-process reward estimator over concept text embeddings (the paper's step 6).

Model: ``reward = c + f(x) + noise``, ``f ~ GP(0, s^2 exp(-|x - x'|^2 / (2 l^2)))`` (isotropic RBF),
rewards standardised first (as scikit-learn's ``normalize_y``). Two stages:

* Hyperparameters ``(l, s^2, noise)`` maximise the exact log marginal likelihood on a random subset of
  at most ``hyper_subset`` observations (subset-of-data estimation). ``s^2`` is profiled out in closed
  form, leaving a 2-d search (coarse grid, then L-BFGS-B): about 60 Cholesky factorisations of a
  1,000 x 1,000 matrix.
* Posterior: Titsias' sparse variational GP (SGPR, collapsed bound) with ``num_inducing`` inducing
  inputs chosen among the observations by greedy pivoted Cholesky. With ``t = tr(K_nn - Q_nn)`` (the
  Nystroem residual), the gap between the exact log marginal likelihood and the SGPR bound, which is
  KL(q || exact posterior), is at most ``t / (2 noise)`` (Titsias 2009; Burt et al. 2019, ICML). This
  bound is computed at every fit and exposed as :attr:`GPRewardEstimator.kl_bound`. When
  ``n <= num_inducing`` every observation is an inducing input and the posterior is the exact GP.

Why hand-written on numpy/scipy/torch rather than gpytorch or scikit-learn: measured on 2 CPU cores
(benchmarks/concepts_gp.py), scikit-learn's exact GPR takes ~6 s to fit 1,000 points and its predictive
std over 146k concepts costs O(N n^2); gpytorch's SGPR hyperparameter training by Adam needs ~100 passes
of O(n m^2) at n = 10k, several times the 5 s budget. Here the distances are computed once per fit
(the lengthscale only rescales them), hyperparameters come from a 2-d profiled search, and prediction
is two float32 matmuls per chunk (``K_*m @ w`` and ``rowsum((K_*m @ M) * K_*m)``), about 1 s for
146,347 x 512 inducing points.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.linalg
import scipy.optimize

LOG_L_BOUNDS = (math.log(0.02), math.log(50.0))
LOG_R_BOUNDS = (math.log(1e-4), math.log(1e2))  # noise / signal variance ratio


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
    k = np.exp(-d2 / (2.0 * math.exp(2.0 * log_l)))
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
    grid_l = [0.5 * math.log(max(med, 1e-6) / 2.0) + s for s in (-1.5, -0.75, 0.0, 0.75, 1.5)]
    grid_r = [math.log(v) for v in (0.01, 0.1, 1.0)]
    starts = [(a, b) for a in grid_l for b in grid_r]
    if init is not None:
        starts.append((math.log(init.lengthscale), math.log(init.noise_var / init.signal_var)))
    def f(p: np.ndarray) -> float:
        return profiled_nll(float(p[0]), float(p[1]), d2, y)[0]
    best = min(starts, key=lambda p: f(np.array(p)))
    res = scipy.optimize.minimize(f, np.array(best), method="L-BFGS-B", bounds=[LOG_L_BOUNDS, LOG_R_BOUNDS],
                                  options={"maxiter": 30})
    log_l, log_r = (res.x if res.fun <= f(np.array(best)) else np.array(best)).tolist()
    _, s2 = profiled_nll(log_l, log_r, d2, y)
    return Hyper(lengthscale=math.exp(log_l), signal_var=s2, noise_var=s2 * math.exp(log_r))


def greedy_inducing(x: np.ndarray, m: int, hyper: Hyper) -> tuple[np.ndarray, float]:
    """Greedy pivoted Cholesky of ``K_nn``: pick ``m`` rows maximising the residual variance each step.

    Returns ``(indices, t)`` with ``t = tr(K_nn - Q_nn)`` the residual trace of the chosen set.
    Hand-written: no library exposes partial pivoted Cholesky on a kernel given implicitly by its rows.
    """
    n = len(x)
    m = min(m, n)
    diag = np.full(n, hyper.signal_var)
    factors = np.zeros((m, n))
    chosen = np.zeros(m, dtype=np.int64)
    inv2l2 = 1.0 / (2.0 * hyper.lengthscale**2)
    sq = (x * x).sum(1)
    for j in range(m):
        i = int(np.argmax(diag))
        chosen[j] = i
        pivot = diag[i]
        if pivot <= 1e-10 * hyper.signal_var:
            chosen, factors = chosen[:j], factors[:j]
            break
        row = hyper.signal_var * np.exp(-np.maximum(sq + sq[i] - 2.0 * (x @ x[i]), 0.0) * inv2l2)
        row -= factors[:j, i] @ factors[:j]
        factors[j] = row / math.sqrt(pivot)
        diag = np.maximum(diag - factors[j] ** 2, 0.0)
        diag[chosen[: j + 1]] = 0.0
    return chosen, float(diag.sum())


class GPRewardEstimator:
    """SGPR posterior over rewards; ``fit`` then ``predict``. See the module docstring for the maths."""

    def __init__(self, num_inducing: int = 512, hyper_subset: int = 1000, chunk: int = 16384):
        self.num_inducing = num_inducing
        self.hyper_subset = hyper_subset
        self.chunk = chunk
        self.hyper: Hyper | None = None
        self.inducing: np.ndarray | None = None  # rows of the training inputs
        self.kl_bound: float = 0.0
        self._z: np.ndarray | None = None
        self._w: np.ndarray | None = None
        self._m: np.ndarray | None = None

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int = 0, hyper: Hyper | None = None,
            reoptimize: bool = True, init: Hyper | None = None) -> GPRewardEstimator:
        """Fit on inputs ``x`` (n x d) and rewards ``y``. With ``reoptimize=False`` and ``hyper`` given,
        reuse those hyperparameters (a resumed run rebuilds exactly the same posterior)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
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
        self._posterior(x, ys)
        return self

    def _kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        h = self.hyper
        assert h is not None
        return h.signal_var * np.exp(-sq_dists(a, b) / (2.0 * h.lengthscale**2))

    def _posterior(self, x: np.ndarray, ys: np.ndarray) -> None:
        """SGPR (Titsias): ``mu_* = K_*m w``, ``var_* = s^2 - rowsum((K_*m M) * K_*m)`` with
        ``w = Sigma^-1 K_mn y / noise``, ``M = K_mm^-1 - Sigma^-1``, ``Sigma = K_mm + K_mn K_nm / noise``."""
        h = self.hyper
        assert h is not None
        idx, self.kl_bound = greedy_inducing(x, self.num_inducing, h)
        self.kl_bound /= 2.0 * h.noise_var
        self.inducing = idx
        z = x[idx]
        kmm = self._kernel(z, z) + 1e-8 * h.signal_var * np.eye(len(z))
        kmn = self._kernel(z, x)
        lm = scipy.linalg.cholesky(kmm, lower=True)
        a = scipy.linalg.solve_triangular(lm, kmn, lower=True) / math.sqrt(h.noise_var)
        b = np.eye(len(z)) + a @ a.T
        lb = scipy.linalg.cholesky(b, lower=True)
        c = scipy.linalg.solve_triangular(lb, a @ ys, lower=True) / math.sqrt(h.noise_var)
        # w = L_m^-T L_B^-T c ; Sigma^-1 = L_m^-T B^-1 L_m^-1 ; K_mm^-1 = L_m^-T L_m^-1
        w = scipy.linalg.solve_triangular(lm.T, scipy.linalg.solve_triangular(lb.T, c, lower=False), lower=False)
        lm_inv = scipy.linalg.solve_triangular(lm, np.eye(len(z)), lower=True)
        lb_inv_lm_inv = scipy.linalg.solve_triangular(lb, lm_inv, lower=True)
        m = lm_inv.T @ lm_inv - lb_inv_lm_inv.T @ lb_inv_lm_inv
        self._z, self._w, self._m = z, w, 0.5 * (m + m.T)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and std of the latent reward ``c + f(x)`` (reward units), float64 arrays."""
        import torch  # float32 matmuls in chunks: ~2x faster than numpy's BLAS here for the M product

        h = self.hyper
        if h is None or self._z is None:
            raise RuntimeError("fit() first")
        z = torch.from_numpy(self._z.astype(np.float32))
        zsq = (z * z).sum(1)
        w = torch.from_numpy(self._w.astype(np.float32))
        m = torch.from_numpy(self._m.astype(np.float32))
        mu = np.empty(len(x))
        var = np.empty(len(x))
        with torch.no_grad():
            for lo in range(0, len(x), self.chunk):
                xs = torch.from_numpy(np.ascontiguousarray(x[lo: lo + self.chunk], dtype=np.float32))
                d2 = ((xs * xs).sum(1)[:, None] + zsq[None, :] - 2.0 * xs @ z.T).clamp_min_(0.0)
                k = d2.mul_(-1.0 / (2.0 * h.lengthscale**2)).exp_().mul_(h.signal_var)
                mu[lo: lo + len(xs)] = (k @ w).double().numpy()
                var[lo: lo + len(xs)] = (h.signal_var - ((k @ m) * k).sum(1)).double().numpy()
        sigma = np.sqrt(np.clip(var, 1e-12 * h.signal_var, None))
        return h.mean + h.scale * mu, h.scale * sigma

    # state ------------------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {"num_inducing": self.num_inducing, "hyper_subset": self.hyper_subset,
                "hyper": asdict(self.hyper) if self.hyper else None}

    @staticmethod
    def hyper_from_state(state: dict[str, Any]) -> Hyper | None:
        return Hyper(**state["hyper"]) if state.get("hyper") else None
