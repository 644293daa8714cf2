"""A Gaussian process over trials seen as points of the unit cube (the model inside the GP sampler).

Inputs are rows with one coordinate per parameter: a number's ``to_unit``
value, or a categorical's choice index.  The kernel is Matern 5/2 on the
distance

    r^2 = sum over numbers (x_i - x'_i)^2 / l_i^2 + sum over categoricals [c_i != c'_i] / l_i^2

with one lengthscale per parameter (ARD).  A categorical contributes its
Hamming distance rather than a one-hot vector: one lengthscale per parameter
whatever its number of choices (one-hot would need one per choice, or tie them
and measure every pair of choices as sqrt 2 apart anyway), and the search over
the cube can keep a categorical coordinate fixed instead of rounding a
relaxed one-hot vector.

Hyperparameters (lengthscales, signal variance, noise variance) are the
maximum a posteriori estimate from a few starts (``projected_gradient``, on
their logarithms, with the analytic gradient of the log marginal likelihood).
Priors: log l ~ N(sqrt 2 + log(d) / 2, variance 3), the dimension-scaled prior of
Hvarfner et al. (2024) that keeps a small-budget model smooth unless the data
say otherwise; signal ~ Gamma(2, 1) (targets are standardised); noise ~
Gamma(1.1, 30), small but fitted, since trials are often noisy.  Everything is
numpy: a Cholesky factor and a triangular inverse of an n x n matrix per
start and iteration, so n must stay in the hundreds (the sampler caps it and
fits the hyperparameters to a subset).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .projected_gradient import minimize_rows

_SQRT5 = math.sqrt(5)
_LOG_2PI = math.log(2 * math.pi)
#: Bounds of the log hyperparameters: lengthscales, signal variance, noise variance.
_LOG_LENGTHSCALE = (math.log(1e-2), math.log(1e3))
_LOG_SIGNAL = (math.log(1e-2), math.log(1e2))
_LOG_NOISE = (math.log(1e-6), math.log(1.0))
_LENGTHSCALE_PRIOR_SCALE = math.sqrt(3)
#: Gamma(shape, rate) priors of the signal and the noise variance.
_SIGNAL_PRIOR = (2.0, 1.0)
_NOISE_PRIOR = (1.1, 30.0)
_FIT_STARTS = 3
_FIT_ITERATIONS = 40
#: The first step of the hyperparameter search moves no log hyperparameter further than this.
_FIT_FIRST_MOVE = 0.5
_MIN_VARIANCE = 1e-12
#: Triangular blocks this small are inverted directly.
_LEAF = 32


def squared_differences(a: np.ndarray, b: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    """(len(a), len(b), d): squared differences of numbers, 0/1 mismatches of categoricals."""
    delta = a[:, None, :] - b[None, :, :]
    return np.where(categorical, delta != 0, delta * delta)


def matern(distance: np.ndarray, signal: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, k') of Matern 5/2 at scaled distance r, with k' = -2 dk/d(r^2).

    k = s (1 + sqrt5 r + 5/3 r^2) e^(-sqrt5 r) and k' = s 5/3 (1 + sqrt5 r) e^(-sqrt5 r),
    the factor every derivative needs: dk/dx_i = -k' (x_i - x'_i) / l_i^2 and
    dk/d(log l_i) = k' (x_i - x'_i)^2 / l_i^2, both finite at r = 0.
    """
    decay = np.exp(-_SQRT5 * distance)
    slope = signal * (5.0 / 3.0) * (1.0 + _SQRT5 * distance) * decay
    return signal * (1.0 + _SQRT5 * distance + (5.0 / 3.0) * distance * distance) * decay, slope


class GaussianProcess:
    """The posterior given ``inputs`` and ``targets`` under fixed hyperparameters."""

    def __init__(self, inputs: np.ndarray, targets: np.ndarray, categorical: np.ndarray, lengthscales: np.ndarray,
                 signal: float, noise: float) -> None:
        self.inputs, self.targets, self.categorical = inputs, targets, categorical
        self.lengthscales, self.signal, self.noise = lengthscales, signal, noise
        self.inverse_squared = lengthscales ** -2.0
        squared = squared_differences(inputs, inputs, categorical) @ self.inverse_squared
        kernel, _ = matern(np.sqrt(squared), signal)
        #: W with W^T W = (K + noise I)^-1: the variance is signal - |W k|^2, never below 0 by more than rounding.
        self.whitening, _ = whitening(kernel + noise * np.eye(len(inputs)))
        self.weights = self.whitening.T @ (self.whitening @ targets)

    @classmethod
    def fit(cls, inputs: np.ndarray, targets: np.ndarray, categorical: np.ndarray, rng: np.random.Generator,
            rows: Sequence[int] | None = None) -> GaussianProcess:
        """The posterior under the most probable hyperparameters (maximum a posteriori, several starts).

        The hyperparameters are fitted to ``rows`` only (all by default): the
        fit costs O(n^3) per start and iteration, the posterior O(n^3) once.
        """
        dims = inputs.shape[1]
        prior_mode = math.sqrt(2) + 0.5 * math.log(dims)
        fitted = slice(None) if rows is None else np.asarray(rows)
        squared = squared_differences(inputs[fitted], inputs[fitted], categorical)
        lower = np.array([_LOG_LENGTHSCALE[0]] * dims + [_LOG_SIGNAL[0], _LOG_NOISE[0]])
        upper = np.array([_LOG_LENGTHSCALE[1]] * dims + [_LOG_SIGNAL[1], _LOG_NOISE[1]])
        starts = np.empty((_FIT_STARTS, dims + 2))
        starts[0] = [prior_mode] * dims + [0.0, math.log(1e-3)]
        starts[1:, :dims] = rng.normal(prior_mode, _LENGTHSCALE_PRIOR_SCALE, (_FIT_STARTS - 1, dims))
        starts[1:, dims:] = [0.0, math.log(1e-2)]

        def objective(log_params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            value, gradient = _log_posterior(log_params, squared, targets[fitted], prior_mode)
            return -value, -gradient

        best, values = minimize_rows(objective, starts, lower, upper, _FIT_ITERATIONS, _FIT_FIRST_MOVE)
        log_params = best[int(np.argmin(values))]
        return cls(inputs, targets, categorical, np.exp(log_params[:dims]), float(np.exp(log_params[dims])),
                   float(np.exp(log_params[dims + 1])))

    def told(self, points: np.ndarray, values: np.ndarray) -> GaussianProcess:
        """The posterior also conditioned on ``values`` at ``points``, under the same hyperparameters."""
        return GaussianProcess(np.vstack([self.inputs, points]), np.concatenate([self.targets, values]),
                               self.categorical, self.lengthscales, self.signal, self.noise)

    def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, standard deviation) of the latent function at each row of ``points``."""
        return self._predict(points, gradient=False)[:2]

    def predict_with_gradient(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(mean, std, d mean / d point, d std / d point); categorical coordinates get a zero gradient."""
        return self._predict(points, gradient=True)

    def _predict(self, points: np.ndarray, gradient: bool) -> tuple:
        delta = points[:, None, :] - self.inputs[None, :, :]
        squared = np.where(self.categorical, delta != 0, delta * delta) @ self.inverse_squared
        cross, slope = matern(np.sqrt(squared), self.signal)
        mean = cross @ self.weights
        whitened = cross @ self.whitening.T
        variance = np.maximum(self.signal - (whitened * whitened).sum(axis=1), _MIN_VARIANCE)
        std = np.sqrt(variance)
        if not gradient:
            return mean, std, None, None
        # dk/dx_i = -k' (x_i - X_i) / l_i^2 over numeric coordinates
        scaled = np.where(self.categorical, 0.0, delta * self.inverse_squared)
        reach = whitened @ self.whitening  # (K + noise I)^-1 k, row by row
        mean_gradient = -np.einsum("mn,mnd,n->md", slope, scaled, self.weights)
        std_gradient = np.einsum("mn,mnd,mn->md", slope, scaled, reach) / std[:, None]  # d var = -2 dk . reach
        return mean, std, mean_gradient, std_gradient


def whitening(covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(L^-1, log det K) for each K = L L^T of a stack (Cholesky factor L).

    Through Cholesky and a blocked triangular inverse rather than
    ``np.linalg.inv``: LU was twice as slow single-threaded here, and both
    are at the mercy of OpenBLAS threads on a busy machine.
    """
    factor = np.linalg.cholesky(covariance)
    return _lower_inverse(factor), 2.0 * np.log(np.diagonal(factor, axis1=-2, axis2=-1)).sum(axis=-1)


def _lower_inverse(lower: np.ndarray) -> np.ndarray:
    """Inverse of lower-triangular matrices: [[A, 0], [B, C]]^-1 = [[A^-1, 0], [-C^-1 B A^-1, C^-1]]."""
    n = lower.shape[-1]
    if n <= _LEAF:
        return np.linalg.inv(lower)
    half = n // 2
    top, bottom = _lower_inverse(lower[..., :half, :half]), _lower_inverse(lower[..., half:, half:])
    inverse = np.zeros_like(lower)
    inverse[..., :half, :half] = top
    inverse[..., half:, half:] = bottom
    inverse[..., half:, :half] = -bottom @ (lower[..., half:, :half] @ top)
    return inverse


def _log_posterior(log_params: np.ndarray, squared: np.ndarray, targets: np.ndarray,
                   prior_mode: float) -> tuple[np.ndarray, np.ndarray]:
    """Log marginal likelihood plus log prior, and its gradient, for each row of log hyperparameters.

    d/d theta log p(y) = 1/2 tr((alpha alpha^T - K^-1) dK/d theta) with alpha = K^-1 y.
    """
    n, dims = len(targets), squared.shape[-1]
    inverse_squared = np.exp(-2.0 * log_params[:, :dims])
    signal, noise = np.exp(log_params[:, dims]), np.exp(log_params[:, dims + 1])
    distance = np.sqrt(np.einsum("nmd,sd->snm", squared, inverse_squared))
    kernel, slope = matern(distance, signal[:, None, None])
    try:
        white, log_det = whitening(kernel + noise[:, None, None] * np.eye(n))
    except np.linalg.LinAlgError:  # one row's matrix lost definiteness: treat the batch one by one
        return _one_by_one(log_params, squared, targets, prior_mode)
    precision = np.swapaxes(white, 1, 2) @ white
    alpha = precision @ targets
    log_likelihood = -0.5 * alpha @ targets - 0.5 * log_det - 0.5 * n * _LOG_2PI
    residual = alpha[:, :, None] * alpha[:, None, :] - precision
    gradient = np.empty_like(log_params)
    gradient[:, :dims] = 0.5 * np.einsum("snm,nmd->sd", residual * slope, squared) * inverse_squared
    gradient[:, dims] = 0.5 * (residual * kernel).sum(axis=(1, 2))
    gradient[:, dims + 1] = 0.5 * np.trace(residual, axis1=1, axis2=2) * noise
    log_lengthscales = log_params[:, :dims]
    prior = -0.5 * ((log_lengthscales - prior_mode) / _LENGTHSCALE_PRIOR_SCALE) ** 2
    gradient[:, :dims] -= (log_lengthscales - prior_mode) / _LENGTHSCALE_PRIOR_SCALE ** 2
    log_prior = prior.sum(axis=1)
    for column, (shape, rate) in ((dims, _SIGNAL_PRIOR), (dims + 1, _NOISE_PRIOR)):
        # Gamma(shape, rate) on v = e^theta, as a density of theta: shape theta - rate e^theta
        log_prior += shape * log_params[:, column] - rate * np.exp(log_params[:, column])
        gradient[:, column] += shape - rate * np.exp(log_params[:, column])
    return log_likelihood + log_prior, gradient


def _one_by_one(log_params: np.ndarray, squared: np.ndarray, targets: np.ndarray,
                prior_mode: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows evaluated separately; a row whose covariance is not positive definite gets -inf."""
    values = np.full(len(log_params), -np.inf)
    gradients = np.zeros_like(log_params)
    if len(log_params) == 1:
        return values, gradients
    for row in range(len(log_params)):
        value, gradient = _log_posterior(log_params[row:row + 1], squared, targets, prior_mode)
        values[row], gradients[row] = value[0], gradient[0]
    return values, gradients
