"""The GP estimator: exact where it should be, close to scikit-learn's exact GP where it approximates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

from ie.concepts.estimator import GPRewardEstimator, Hyper

from .bandit import clustered


def smooth_rewards(x: np.ndarray, seed: int = 0, noise: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """A domain-similarity reward (cosine to a hidden direction, as the paper's target similarity) + noise."""
    rng = np.random.default_rng(seed)
    t = x[rng.choice(len(x), 50)].mean(0)
    f = x @ (t / np.linalg.norm(t))
    f = (f - f.mean()) / f.std()
    return f, f + noise * rng.standard_normal(len(x))


def sklearn_gp(x, y, hyper: Hyper | None = None) -> GaussianProcessRegressor:
    if hyper is None:
        kernel = ConstantKernel(1.0) * RBF(1.0) + WhiteKernel(0.1)
        return GaussianProcessRegressor(kernel, normalize_y=True, random_state=0).fit(x, y)
    kernel = ConstantKernel(hyper.signal_var) * RBF(hyper.lengthscale) + WhiteKernel(hyper.noise_var)
    return GaussianProcessRegressor(kernel, normalize_y=True, optimizer=None).fit(x, y)


def latent(gp: GaussianProcessRegressor, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's mean and the std of f (its std includes the white-noise term: removed)."""
    mu, sd = gp.predict(x, return_std=True)
    noise = gp.kernel_.k2.noise_level * gp._y_train_std ** 2
    return mu, np.sqrt(np.maximum(sd**2 - noise, 0.0))


def test_exact_when_every_observation_is_an_inducing_point():
    _, x, _ = clustered(3000, 30, dim=64, seed=1)
    _, y = smooth_rewards(x)
    obs = np.arange(200)
    hyper = Hyper(lengthscale=0.8, signal_var=1.3, noise_var=0.2)
    est = GPRewardEstimator(num_inducing=256).fit(x[obs], y[obs], hyper=hyper, reoptimize=False)
    mu, sigma = est.predict(x)
    mu_ex, sd_ex = latent(sklearn_gp(x[obs], y[obs], hyper), x)
    np.testing.assert_allclose(mu, mu_ex, atol=2e-3 * y.std())
    np.testing.assert_allclose(sigma, sd_ex, atol=2e-3 * y.std())
    assert est.trace_term < 1e-3  # Nystroem residual ~ 0: the sparse posterior is the exact one


def test_single_observation_hand_computed():
    # one observation: y standardises to 0 (mean = y0, scale 1), default hyper (l=1, s2=1, noise=0.1)
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    est = GPRewardEstimator().fit(x[:1], np.array([0.7]))
    mu, sigma = est.predict(x)
    k = math.exp(-2.0 / 2.0)  # |x0 - x1|^2 = 2
    np.testing.assert_allclose(mu, 0.7, atol=1e-6)
    assert sigma[1] == pytest.approx(math.sqrt(1 - k * k / 1.1), abs=1e-5)
    assert sigma[2] == pytest.approx(math.sqrt(1 - 1 / 1.1), abs=1e-4)


def test_hyperparameters_match_sklearn_marginal_likelihood():
    _, x, _ = clustered(2000, 20, dim=64, seed=2)
    _, y = smooth_rewards(x, seed=2)
    obs = np.random.default_rng(0).choice(len(x), 400, replace=False)
    est = GPRewardEstimator(hyper_subset=400).fit(x[obs], y[obs])
    k = sklearn_gp(x[obs], y[obs]).kernel_
    assert est.hyper.lengthscale == pytest.approx(k.k1.k2.length_scale, rel=0.1)
    assert est.hyper.noise_var / est.hyper.signal_var == pytest.approx(k.k2.noise_level / k.k1.k1.constant_value, rel=0.2)


def test_sparse_gp_agrees_with_sklearn_exact_gp():
    """n = 600 observations, 200 inducing points (the 2,000-point figure is in benchmarks/concepts_gp.py)."""
    _, x, _ = clustered(20000, 50, dim=128, seed=3)
    _, y = smooth_rewards(x, seed=3)
    obs = np.random.default_rng(1).choice(len(x), 600, replace=False)
    est = GPRewardEstimator(num_inducing=200).fit(x[obs], y[obs])
    mu, sigma = est.predict(x)
    mu_ex, sd_ex = latent(sklearn_gp(x[obs], y[obs]), x)
    rho = spearmanr(mu + sigma, mu_ex + sd_ex)[0]
    print(f"Spearman(mu + sigma) ours(m=200) vs sklearn exact at n=600: {rho:.4f}; trace term {est.trace_term:.1f}")
    assert rho >= 0.95
    assert est.trace_term > 0


def test_predictions_reward_units_and_uncertainty_shrinks_near_data():
    _, x, label = clustered(5000, 10, dim=32, seed=4)
    y = (label == 3).astype(float) * 2.0 + 5.0  # reward 7 in cluster 3, 5 elsewhere
    obs = np.flatnonzero(label != 7)[:300]  # cluster 7 never observed
    est = GPRewardEstimator(num_inducing=128).fit(x[obs], y[obs])
    mu, sigma = est.predict(x)
    assert mu[label == 3].mean() > 6.5 and abs(mu[(label != 3) & (label != 7)].mean() - 5.0) < 0.3
    assert sigma[label == 7].mean() > 1.5 * sigma[obs].mean()  # SGPR: inducing observations shrink most


def test_a_warm_start_on_the_no_correlation_plateau_is_left():
    """Regression: a first fit on few points may sit at l -> 0 (K ~ I), where the likelihood is flat;
    warm-starting the next fit there must not keep the GP blind forever."""
    _, x, label = clustered(3000, 6, dim=32, seed=7)
    y = (label == 2).astype(float) + 0.1 * np.random.default_rng(0).standard_normal(len(x))
    obs = np.arange(200)
    stuck = Hyper(lengthscale=0.02, signal_var=1.0, noise_var=1e-3)
    est = GPRewardEstimator().fit(x[obs], y[obs], init=stuck)
    assert est.hyper.lengthscale > 0.2
    mu, _ = est.predict(x)
    assert mu[label == 2].mean() > mu[label != 2].mean() + 0.5
