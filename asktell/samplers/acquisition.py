"""Log expected improvement, computed so that it stays finite and ordered far from the incumbent.

For a Gaussian prediction (mean ``mu``, deviation ``sigma``) of a loss to
minimise and the best loss so far ``best``, EI = sigma h(z) with
z = (best - mu) / sigma and h(z) = phi(z) + z Phi(z).  Once the model is
confident, most of the cube has z << 0, where h underflows to 0 in floating
point (z < -38) and loses all its digits to cancellation long before: EI is
then flat zero and cannot rank candidates or guide a gradient.  Following
Ament et al. (2023, "Unexpected improvements to expected improvement"),
log h is evaluated in three regimes:

* z > -1: directly;
* -20 < z <= -1: h = phi(z) (1 - |z| M(|z|)) with the Mills ratio
  M(a) = Phi(-a) / phi(a) = sqrt(pi / 2) erfcx(a / sqrt 2) from ``math.erfc``
  (relative error about 1e-16 z^2);
* z <= -20: 1 - a M(a) = w (1 - 3w + 15w^2 - 105w^3 + ...) with w = 1 / a^2,
  the asymptotic series of the Mills ratio, truncated after eight terms
  (relative error below 1e-13).

No ``scipy.special`` (0.3 s of import): numpy has no erfc, so ``math.erfc``
is applied element by element, as ``parzen`` does with ``math.erf``.
"""

from __future__ import annotations

import math

import numpy as np

_erfc = np.frompyfunc(math.erfc, 1, 1)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_SQRT_HALF_PI = math.sqrt(math.pi / 2)
#: Below this z the asymptotic series replaces erfc.
ASYMPTOTIC = -20.0
#: (-1)^k (2k + 1)!!, k = 0..7: the series of (1 - a M(a)) / w.
_SERIES = np.array([1.0, -3.0, 15.0, -105.0, 945.0, -10395.0, 135135.0, -2027025.0])


def log_h(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log h(z), d log h / dz) elementwise; d log h / dz = Phi(z) / h(z) > 0."""
    z = np.asarray(z, dtype=float)
    value, slope = np.empty_like(z), np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    cdf = 0.5 * _erfc(-zu / math.sqrt(2)).astype(float)
    h = np.exp(-0.5 * zu * zu - _LOG_SQRT_2PI) + zu * cdf
    value[upper], slope[upper] = np.log(h), cdf / h
    log_shortfall, ratio = _shortfall(-z[~upper])  # h(-a) = phi(a) (1 - a M(a))
    value[~upper] = -0.5 * z[~upper] ** 2 - _LOG_SQRT_2PI + log_shortfall
    slope[~upper] = ratio
    return value, slope


def _shortfall(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log(1 - a M(a)), M(a) / (1 - a M(a))) for a >= 1, with the Mills ratio M(a) = Phi(-a) / phi(a).

    The second is d log h / dz at z = -a, since Phi(-a) = phi(a) M(a).
    """
    log_shortfall, ratio = np.empty_like(a), np.empty_like(a)
    near = a < -ASYMPTOTIC
    an = a[near]
    mills = _SQRT_HALF_PI * np.exp(0.5 * an * an) * _erfc(an / math.sqrt(2)).astype(float)
    shortfall = 1.0 - an * mills
    log_shortfall[near], ratio[near] = np.log(shortfall), mills / shortfall
    af = a[~near]
    w = 1.0 / af / af  # underflows to 0 for a > 1e154, where the logs below stay finite
    series = np.zeros_like(w)
    for coefficient in _SERIES[::-1]:  # Horner; numpy.polynomial would cost an import
        series = series * w + coefficient
    log_shortfall[~near] = np.log(series) - 2.0 * np.log(af)
    ratio[~near] = (1.0 - w * series) * af / series  # (1 - w S) / a divided by w S
    return log_shortfall, ratio


def log_expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """log EI of a loss to minimise, for predictions with ``std`` > 0."""
    return np.log(std) + log_h((best - mean) / std)[0]


def log_expected_improvement_gradient(mean: np.ndarray, std: np.ndarray, mean_gradient: np.ndarray,
                                      std_gradient: np.ndarray, best: float) -> tuple[np.ndarray, np.ndarray]:
    """(log EI, its gradient) given the gradients of the prediction (one row per point).

    d log EI = d sigma / sigma + (d log h / dz) dz, with dz = -(d mu + z d sigma) / sigma.
    """
    z = (best - mean) / std
    value, slope = log_h(z)
    gradient = (std_gradient - slope[:, None] * (mean_gradient + z[:, None] * std_gradient)) / std[:, None]
    return np.log(std) + value, gradient
