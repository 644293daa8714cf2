"""Parzen estimators over a search space seen as the unit cube (the model inside TPE).

A set of trials becomes two matrices: unit coordinates (``Param.to_unit``; a
categorical keeps its choice index) and flags saying which parameters each
trial has.  A conditional parameter is modelled only from the trials where it
is active; where no trial has it, its density is the uniform prior.

The estimator is a mixture of one kernel per trial plus a uniform prior
component.  Numeric parameters get Gaussians truncated to [0, 1] (log scales,
steps and integers are already folded into ``to_unit``; a draw is snapped to
the grid by ``from_unit`` and densities are read at the snapped value), each as
wide as the gaps to its neighbours, between a "magic clip" floor and a
Scott-like ceiling; categoricals get a kernel that keeps most of its mass on
the trial's choice.  *Multivariate*: a component is a whole trial (a product of
its kernels), so correlations between parameters survive; on a parameter the
trial lacks, the component uses that parameter's one-dimensional mixture.
*Univariate*: the density is the product of those one-dimensional mixtures.
"""

from __future__ import annotations

import math
import random
from typing import Any, Callable, Sequence

import numpy as np

from ..space import CategoricalParam, Param, Space

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_erf = np.frompyfunc(math.erf, 1, 1)  # numpy has no erf; scipy would cost ~100 ms of import
#: Scott-like ceiling: 0.2 of the range times n^(-1/(dims + 4)), so far-apart good trials keep separate modes.
_SCOTT_SCALE = 0.2
#: The "magic clip": no bandwidth below 1 / min(this, n + 2) of the range.
_CLIP_KERNELS = 100
_MAX_TRIES = 100


class Encoding:
    """The parameters of a space, in order, and what the estimator needs to know of each."""

    def __init__(self, space: Space) -> None:
        self.params = list(space)
        self.column = {param.name: j for j, param in enumerate(self.params)}
        self.categorical = np.array([isinstance(p, CategoricalParam) for p in self.params])
        self.n_choices = np.array([len(p.choices) if isinstance(p, CategoricalParam) else 0 for p in self.params])

    def encode(self, param_sets: Sequence[dict]) -> tuple[np.ndarray, np.ndarray]:
        """(unit coordinates, active flags), each ``len(param_sets) x len(params)``."""
        values = np.zeros((len(param_sets), len(self.params)))
        active = np.zeros(values.shape, dtype=bool)
        for i, params in enumerate(param_sets):
            for j, param in enumerate(self.params):
                if param.name in params:
                    value = params[param.name]
                    active[i, j] = True
                    values[i, j] = param.index(value) if isinstance(param, CategoricalParam) \
                        else param.to_unit(value)
        return values, active


class ParzenEstimator:
    """A density over parameter sets, fitted to the trials given as ``(values, active)``."""

    def __init__(self, encoding: Encoding, values: np.ndarray, active: np.ndarray, prior_weight: float,
                 multivariate: bool, weights: np.ndarray | None = None) -> None:
        self.encoding = encoding
        self.centres = values
        self.active = active
        self.prior_weight = prior_weight
        #: Each trial's share of the mixture (1 each unless given; the prior has ``prior_weight``).
        self.weights = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=float)
        self.log_weights = np.log(self.weights)
        self.multivariate = multivariate
        n_active = active.sum(axis=0)
        dims = len(encoding.params) if multivariate else 1
        self.bandwidth = np.ones(values.shape)
        for j in np.flatnonzero(~encoding.categorical):
            holders = active[:, j]
            floor = 1 / min(_CLIP_KERNELS, 2 + holders.sum())
            ceiling = max(_SCOTT_SCALE * max(holders.sum(), 1) ** (-1 / (dims + 4)), floor)
            self.bandwidth[holders, j] = np.clip(_neighbour_gaps(values[holders, j]), floor, ceiling)
        #: Categorical kernels spread this much mass evenly over the choices, less as trials accumulate.
        self.smoothing = encoding.n_choices / (encoding.n_choices + 1 + n_active)
        low = (0 - values) / self.bandwidth
        high = (1 - values) / self.bandwidth
        mass = 0.5 * (_erf(high / math.sqrt(2)) - _erf(low / math.sqrt(2))).astype(float)
        self.log_mass = np.log(np.maximum(mass, 1e-300))

    # ---- density
    def log_density(self, values: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Log density at each row; a row counts only its own active parameters."""
        n = len(self.centres)
        by_component = np.zeros((len(values), n))
        prior = np.zeros(len(values))
        marginal_sum = np.zeros(len(values))
        for j in range(len(self.encoding.params)):
            kernels = self._kernel_log(j, values[:, j])
            marginal = self._marginal_log(j, kernels)
            prior_log = self._prior_log(j)
            has = active[:, j]
            marginal_sum += np.where(has, marginal, 0.0)
            prior += np.where(has, prior_log, 0.0)
            own = np.where(self.active[None, :, j], kernels, marginal[:, None])
            by_component += np.where(has[:, None], own, 0.0)
        if not self.multivariate:
            return marginal_sum
        stacked = np.column_stack([math.log(self.prior_weight) + prior, by_component + self.log_weights[None, :]])
        return _logsumexp(stacked) - math.log(self.prior_weight + self.weights.sum())

    def _kernel_log(self, j: int, x: np.ndarray) -> np.ndarray:
        """Log of every trial's kernel of parameter ``j`` at ``x`` (len(x) x trials)."""
        centres = self.centres[:, j]
        if self.encoding.categorical[j]:
            eps = self.smoothing[j]
            hit = np.rint(x)[:, None] == centres[None, :]
            share = eps / self.encoding.n_choices[j]
            return np.log(np.where(hit, 1 - eps + share, share))
        width = self.bandwidth[None, :, j]
        z = (x[:, None] - centres[None, :]) / width
        return -0.5 * z * z - np.log(width) - _LOG_SQRT_2PI - self.log_mass[None, :, j]

    def _marginal_log(self, j: int, kernels: np.ndarray) -> np.ndarray:
        """The one-dimensional mixture of parameter ``j``: the prior and the trials that have it."""
        prior = np.full((len(kernels), 1), math.log(self.prior_weight) + self._prior_log(j))
        holders = self.active[:, j]
        terms = np.hstack([prior, kernels[:, holders] + self.log_weights[None, holders]])
        return _logsumexp(terms) - math.log(self.prior_weight + self.weights[holders].sum())

    def _prior_log(self, j: int) -> float:
        return -math.log(self.encoding.n_choices[j]) if self.encoding.categorical[j] else 0.0

    # ---- sampling
    def sample(self, space: Space, count: int, rng: random.Random) -> list[dict]:
        """``count`` parameter sets drawn from the mixture, built top to bottom so conditions hold.

        Draws are scalar, so the standard library's generator serves; importing
        ``numpy.random`` would add about 10 ms to every ``ask``.
        """
        n = len(self.centres)
        weights = [*self.weights.tolist(), self.prior_weight]
        return [space.build(self._drawer(rng.choices(range(n + 1), weights)[0], rng)) for _ in range(count)]

    def _drawer(self, component: int, rng: random.Random) -> Callable[[Param, dict], Any]:
        """Values for ``Space.build``: from the component's kernel, else from the parameter's mixture."""
        n = len(self.centres)

        def draw(param: Param, _partial: dict) -> Any:
            j = self.encoding.column[param.name]
            trial = component if self.multivariate and component < n and self.active[component, j] else None
            if trial is None and rng.random() >= self._prior_share(j):
                holders = np.flatnonzero(self.active[:, j])
                trial = int(rng.choices(holders.tolist(), self.weights[holders].tolist())[0])
            if trial is None:
                return param.from_unit(rng.random())
            return self._draw_kernel(param, j, trial, rng)

        return draw

    def _prior_share(self, j: int) -> float:
        return self.prior_weight / (self.prior_weight + self.weights[self.active[:, j]].sum())

    def _draw_kernel(self, param: Param, j: int, trial: int, rng: random.Random) -> Any:
        centre = self.centres[trial, j]
        if isinstance(param, CategoricalParam):
            index = int(centre) if rng.random() >= self.smoothing[j] else rng.randrange(len(param.choices))
            return param.choices[index]
        for _ in range(_MAX_TRIES):  # rejection keeps the Gaussian truncated to [0, 1]
            u = rng.gauss(float(centre), float(self.bandwidth[trial, j]))
            if 0.0 <= u <= 1.0:
                break
        return param.from_unit(u)


def _neighbour_gaps(centres: np.ndarray) -> np.ndarray:
    """Each centre's wider gap to its neighbours (the cube's edges outside): narrow kernels where trials crowd.

    The outermost centres of two or more use their one inner gap, so a lone
    good trial near an edge is not smeared over the whole range.
    """
    order = np.argsort(centres, kind="stable")
    ordered = centres[order]
    padded = np.concatenate([[0.0], ordered, [1.0]])
    gaps = np.maximum(padded[1:-1] - padded[:-2], padded[2:] - padded[1:-1])
    if len(ordered) >= 2:
        gaps[0], gaps[-1] = ordered[1] - ordered[0], ordered[-1] - ordered[-2]
    result = np.empty_like(gaps)
    result[order] = gaps
    return result


def _logsumexp(terms: np.ndarray) -> np.ndarray:
    """log(sum(exp(row))) for every row, without overflow."""
    top = terms.max(axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return (top + np.log(np.exp(terms - top).sum(axis=1, keepdims=True)))[:, 0]
