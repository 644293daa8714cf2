"""Minimise many small smooth problems at once, each inside its own box (numpy only).

The GP sampler minimises twice per suggestion: the negative log posterior of
its hyperparameters from a few starts, and the negative log expected
improvement from a few candidates.  ``scipy.optimize`` would do it with
L-BFGS-B, but importing it costs about 0.6 s on the reference machine -- more
than the rest of a suggestion -- so this is spectral projected gradient
(Birgin, Martinez and Raydan 2000) with a Barzilai-Borwein step and
backtracking, run on every row in lock-step: one call of ``fun`` per
iteration evaluates all rows, so the matrix work is batched.

A row's coordinate with ``lower == upper`` stays fixed: that is how a
categorical coordinate rides along a continuous search.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

#: Sufficient decrease asked of an accepted step (Armijo).
_ARMIJO = 1e-4
#: A rejected step is shortened by this factor.
_BACKTRACK = 0.25
_STEP_LIMITS = (1e-12, 1e12)

Objective = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def minimize_rows(fun: Objective, start: np.ndarray, lower: np.ndarray, upper: np.ndarray, iterations: int,
                  first_move: float) -> tuple[np.ndarray, np.ndarray]:
    """(points, values): each row of ``start`` moved downhill within [lower, upper] for ``iterations`` calls.

    ``fun(points)`` returns each row's value and gradient; a non-finite value
    counts as a rejected step.  The first step of a row moves no coordinate
    further than ``first_move``.  A fixed number of iterations (no tolerance
    test) keeps the cost predictable and the result a pure function of the input.
    """
    x = np.clip(start, lower, upper)
    value, gradient = fun(x)
    step = first_move / np.maximum(np.abs(gradient).max(axis=1), 1e-12)
    for _ in range(iterations):
        trial = np.clip(x - step[:, None] * gradient, lower, upper)
        trial_value, trial_gradient = fun(trial)
        move = trial - x
        accept = np.isfinite(trial_value) & (trial_value <= value + _ARMIJO * (gradient * move).sum(axis=1))
        curvature = (move * (trial_gradient - gradient)).sum(axis=1)
        length = (move * move).sum(axis=1)
        spectral = np.where(curvature > 0, length / np.where(curvature > 0, curvature, 1.0), _STEP_LIMITS[1])
        step = np.where(accept, np.clip(spectral, *_STEP_LIMITS), step * _BACKTRACK)
        x = np.where(accept[:, None], trial, x)
        value = np.where(accept, trial_value, value)
        gradient = np.where(accept[:, None], trial_gradient, gradient)
    return x, value
