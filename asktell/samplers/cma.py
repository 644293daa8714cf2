"""CMA-ES's search distributions and their update, one generation at a time.

``Gaussian`` is the CMA-ES of Hansen's tutorial (arXiv:1604.00772, the
equation numbers below) with negative recombination weights ("active" CMA);
``Categorical`` holds one distribution over the choices of each categorical
parameter, moved towards the choices of the better half (the categorical part
of CatCMA, Hamano et al. 2024, with a fixed learning rate).  Both work on a
generation already *ranked*, best first, and draw with the generator they are
given: they own no randomness, so replaying the same generations rebuilds the
same state in any process.

Three departures from the textbook, all for stateless replay of a study:

* every step ``y`` is clipped to the length a sample of the distribution
  would have (Hansen 2011, "Injecting external solutions into CMA-ES"):
  trials drawn from an older distribution, start-up trials and uniform
  fallbacks are told like any other without wrecking the step size;
* a *margin* (after CMA-ES with margin, Hamano et al. 2022) keeps the spread
  of an integer or stepped coordinate wide enough that a sample leaves the
  mean's cell with probability ``1 / (dimensions x population)``, so the
  search never freezes on a grid it can no longer see;
* the categorical probabilities keep the floor of CatCMA's margin.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

#: Eigenvalues of C are floored here: rounding can make a tiny one negative.
_EPS = 1e-30
#: Learning rate of the categorical distributions, per generation.
CATEGORICAL_RATE = 0.3


def raw_weights(population: int) -> np.ndarray:
    """ln((lambda + 1) / 2) - ln i for ranks i = 1..lambda: positive for the better half (eq. 49)."""
    return math.log((population + 1) / 2) - np.log(np.arange(1, population + 1))


def recombination_weights(population: int) -> np.ndarray:
    """The positive weights of the better half, best first, summing to 1 (eq. 53)."""
    raw = raw_weights(population)[:population // 2]
    return raw / raw.sum()


def escape_margin(cell_width: float, dimensions: int, population: int) -> float:
    """The smallest spread of a grid coordinate: a sample leaves the mean's cell w.p. 1/(dimensions x population)."""
    from statistics import NormalDist  # only spaces with integer or stepped parameters need it

    alpha = 1 / (dimensions * population)
    return cell_width / (2 * NormalDist().inv_cdf(1 - alpha / 2))


class Gaussian:
    """N(mean, sigma^2 C) over the numeric coordinates, with its evolution paths."""

    def __init__(self, mean: np.ndarray, sigma: float, population: int, min_std: np.ndarray) -> None:
        n = len(mean)
        self.dimensions, self.population = n, population
        self.mean, self.sigma, self.cov = np.array(mean, dtype=float), float(sigma), np.eye(n)
        self.path_sigma, self.path_cov = np.zeros(n), np.zeros(n)
        #: Per coordinate, the margin's floor on sigma x sqrt(C_ii); 0 for continuous coordinates.
        self.min_std = np.asarray(min_std, dtype=float)
        self.generation = 0
        self._eigen: tuple[np.ndarray, np.ndarray] | None = None

        mu = population // 2
        raw = raw_weights(population)
        self.mu_eff = raw[:mu].sum() ** 2 / (raw[:mu] ** 2).sum()
        mu_eff_minus = raw[mu:].sum() ** 2 / (raw[mu:] ** 2).sum() if raw[mu:].any() else 0.0
        self.c_sigma = (self.mu_eff + 2) / (n + self.mu_eff + 5)  # eq. 55
        self.d_sigma = 1 + 2 * max(0.0, math.sqrt((self.mu_eff - 1) / (n + 1)) - 1) + self.c_sigma
        self.c_c = (4 + self.mu_eff / n) / (n + 4 + 2 * self.mu_eff / n)  # eq. 56
        self.c_1 = 2 / ((n + 1.3) ** 2 + self.mu_eff)  # eq. 57
        self.c_mu = min(1 - self.c_1,
                        2 * (self.mu_eff - 2 + 1 / self.mu_eff) / ((n + 2) ** 2 + self.mu_eff))  # eq. 58
        negative_scale = min(1 + self.c_1 / self.c_mu,  # eq. 50-52
                             1 + 2 * mu_eff_minus / (self.mu_eff + 2),
                             (1 - self.c_1 - self.c_mu) / (n * self.c_mu)) if self.c_mu > 0 else 0.0
        self.weights = np.where(raw >= 0, raw / raw[raw > 0].sum(),  # eq. 53
                                negative_scale * raw / max(-raw[raw < 0].sum(), _EPS))
        self.chi_n = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))  # E||N(0, I)||
        #: The longest a step may be, in the distribution's own metric (Hansen 2011).
        self.max_step = math.sqrt(n) + 2 * n / (n + 2)

    def eigen(self) -> tuple[np.ndarray, np.ndarray]:
        """(B, D): C = B diag(D^2) B^T, computed once per C."""
        if self._eigen is None:
            self.cov = (self.cov + self.cov.T) / 2
            d2, b = np.linalg.eigh(self.cov)
            self._eigen = b, np.sqrt(np.maximum(d2, _EPS))
        return self._eigen

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """One point ~ N(m, sigma^2 C), not yet folded into the unit cube."""
        b, d = self.eigen()
        return self.mean + self.sigma * b @ (d * rng.standard_normal(self.dimensions))

    def tell(self, ranked: np.ndarray) -> None:
        """One generation's points (rows), best first: move m, sigma, C and the paths."""
        b, d = self.eigen()
        inv_sqrt = (b / d) @ b.T  # C^(-1/2)
        y = (ranked - self.mean) / self.sigma
        lengths = np.linalg.norm(y @ inv_sqrt, axis=1)  # inv_sqrt is symmetric
        y *= np.minimum(1.0, self.max_step / np.maximum(lengths, _EPS))[:, None]
        lengths = np.minimum(lengths, self.max_step)
        positive = self.weights > 0
        step = self.weights[positive] @ y[positive]  # eq. 41
        self.mean = self.mean + self.sigma * step  # eq. 42, c_m = 1
        self.generation += 1
        self.path_sigma = ((1 - self.c_sigma) * self.path_sigma
                           + math.sqrt(self.c_sigma * (2 - self.c_sigma) * self.mu_eff) * inv_sqrt @ step)  # eq. 43
        norm = np.linalg.norm(self.path_sigma)
        too_long = norm / math.sqrt(1 - (1 - self.c_sigma) ** (2 * self.generation)) \
            >= (1.4 + 2 / (self.dimensions + 1)) * self.chi_n
        h_sigma = 0.0 if too_long else 1.0  # sigma is growing fast: hold the rank-one update back
        self.path_cov = ((1 - self.c_c) * self.path_cov
                         + h_sigma * math.sqrt(self.c_c * (2 - self.c_c) * self.mu_eff) * step)  # eq. 45
        w_circ = np.where(positive, self.weights,
                          self.weights * self.dimensions / np.maximum(lengths, _EPS) ** 2)  # eq. 46
        delta_h = (1 - h_sigma) * self.c_c * (2 - self.c_c)
        self.cov = ((1 + self.c_1 * delta_h - self.c_1 - self.c_mu * self.weights.sum()) * self.cov  # eq. 47
                    + self.c_1 * np.outer(self.path_cov, self.path_cov)
                    + self.c_mu * (w_circ[:, None] * y).T @ y)
        self.sigma *= math.exp(self.c_sigma / self.d_sigma * (norm / self.chi_n - 1))  # eq. 44
        floor = (self.min_std / self.sigma) ** 2  # the margin, added to the diagonal (keeps C positive definite)
        np.fill_diagonal(self.cov, np.maximum(np.diag(self.cov), floor))
        self._eigen = None

    def condition(self) -> float:
        """Largest over smallest eigenvalue of C."""
        d = self.eigen()[1]
        return float((d.max() / d.min()) ** 2)

    def spread(self) -> np.ndarray:
        """sigma x sqrt(C_ii): how far samples reach along each coordinate."""
        return self.sigma * np.sqrt(np.diag(self.cov))


class Categorical:
    """One distribution over the choices of each categorical parameter, independent of the rest."""

    def __init__(self, sizes: Sequence[int]) -> None:
        self.probabilities = [np.full(k, 1 / k) for k in sizes]
        self.floors = [(1 - 0.73 ** (1 / len(sizes))) / max(k - 1, 1) for k in sizes]  # CatCMA's margin

    def sample(self, rng: np.random.Generator) -> list[int]:
        return [int(rng.choice(len(p), p=p)) for p in self.probabilities]

    def tell(self, ranked: np.ndarray) -> None:
        """Choice indices (rows: trials best first, columns: parameters): q += rate x sum w (onehot - q)."""
        weights = recombination_weights(len(ranked))
        for j, q in enumerate(self.probabilities):
            selected = np.bincount(ranked[:len(weights), j], weights=weights, minlength=len(q))
            q = np.maximum(q + CATEGORICAL_RATE * (selected - q), self.floors[j])
            self.probabilities[j] = q / q.sum()
