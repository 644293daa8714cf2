"""Which parameters mattered: PED-ANOVA over a study's complete trials.

PED-ANOVA (Watanabe et al., IJCAI 2023; Optuna's ``PedAnovaImportanceEvaluator``)
asks, for each parameter, how differently its values are spread among the
*top* trials (the best ``TARGET_QUANTILE``) than among all complete trials.
That difference -- the Pearson divergence of two one-dimensional Parzen
estimators on a grid -- is, by the paper's theorem, the parameter's share of
the variance of the indicator "this trial is in the top quantile" (a local
functional ANOVA).  It was chosen over fANOVA on a random forest because it
needs nothing but one-dimensional densities: a few lines of numpy, O(trials
x grid) per parameter, no model to fit, where fANOVA needs scikit-learn (not
a dependency) or a long hand-written forest.

A conditional parameter is scored only over the trials that have it, weighted
as in conditional PED-ANOVA (Optuna's ``_partition_by_regime``): alpha^2 / beta
x divergence, alpha and beta being the shares of top and of all trials that
have it; being absent is one point, which has no spread to score.

The estimators use Scott's rule, not TPE's bandwidths (``samplers/parzen.py``):
the spread of all trials is estimated from many points, and TPE's narrow
kernels would turn its sampling noise into importance of parameters that do
not matter.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .config import Objective
from .samplers.constraints import total_violation
from .samplers.pareto import best_rows
from .space import CategoricalParam, FloatParam, Param, Space
from .trial import COMPLETE, TrialRecord

#: The top trials are this share of the complete ones (gamma' in the paper; Optuna's default).
TARGET_QUANTILE = 0.1
#: A numeric parameter's range is cut into at most this many cells (fewer when it has fewer values).
MAX_CELLS = 50
#: Weight of the uniform component of each estimator, in trials: keeps a handful of top trials from
#: looking decisive merely because they are few.
PRIOR_WEIGHT = 1.0
#: No kernel narrower than this many cells (Optuna's floor: 90% of the mass within one cell).
MIN_BANDWIDTH = 0.5 / 1.64
#: A parameter present in fewer of the trials than this is not scored (Optuna's ``min_n_trials_in_regime``).
MIN_TRIALS_WITH_PARAM = 2


def ranked_complete(trials: Sequence[TrialRecord], objectives: Sequence[Objective]) -> list[TrialRecord]:
    """Complete trials with a finite value of every objective, best first.

    Feasible trials come first; several objectives go by Pareto front and
    crowding distance, as the samplers rank them (``samplers.pareto``).
    """
    complete = [t for t in trials if t.state == COMPLETE and t.values
                and all(math.isfinite(t.values.get(o.name, math.nan)) for o in objectives)]
    if not complete:
        return []
    losses = [[o.sign * t.values[o.name] for o in objectives] for t in complete]  # type: ignore[index]
    order = best_rows(losses, [total_violation(t) for t in complete], len(complete))
    return [complete[i] for i in order]


def importances(space: Space, trials: Sequence[TrialRecord], objectives: Sequence[Objective],
                params: Sequence[Param] | None = None) -> dict[str, float]:
    """Each parameter's share of the importance (they sum to 1), most important first.

    With several ``objectives`` the top trials are the leading Pareto fronts:
    the importance of reaching the front.  Every parameter is 0 when fewer
    than two trials are complete or nothing sets the top trials apart.
    """
    params = list(space) if params is None else list(params)
    ranked = ranked_complete(trials, objectives)
    scores = dict.fromkeys((p.name for p in params), 0.0)
    if len(ranked) >= 2:
        n_top = min(max(1, math.ceil(TARGET_QUANTILE * len(ranked))), len(ranked) - 1)
        top = ranked[:n_top]
        for param in params:
            scores[param.name] = _score(param, top, ranked)
    total = sum(scores.values())
    shares = {name: score / total if total > 0 else 0.0 for name, score in scores.items()}
    return dict(sorted(shares.items(), key=lambda item: -item[1]))


def _score(param: Param, top: list[TrialRecord], region: list[TrialRecord]) -> float:
    """alpha^2 / beta x the Pearson divergence of the top trials' values from all trials' values."""
    top_cells = _cells_of(param, top)
    region_cells = _cells_of(param, region)
    if len(region_cells) < MIN_TRIALS_WITH_PARAM or not len(top_cells):
        return 0.0
    alpha = len(top_cells) / len(top)
    beta = len(region_cells) / len(region)
    n_cells = cell_count(param)
    categorical = isinstance(param, CategoricalParam)
    p_top = _grid_density(top_cells, n_cells, categorical)
    p_region = _grid_density(region_cells, n_cells, categorical)
    return alpha ** 2 / beta * float(np.sum((p_top - p_region) ** 2 / p_region))


def cell_count(param: Param) -> int:
    """How many grid cells a parameter's unit interval is cut into: one per value, at most ``MAX_CELLS``."""
    if isinstance(param, CategoricalParam):
        return len(param.choices)
    if isinstance(param, FloatParam) and param.step is None:
        return MAX_CELLS
    return min(MAX_CELLS, round((param.high - param.low) / param.step) + 1)  # type: ignore[attr-defined]


def _cells_of(param: Param, trials: list[TrialRecord]) -> np.ndarray:
    """The grid cell of the parameter's value in each trial that has it (categoricals: the choice index)."""
    present = [t.params[param.name] for t in trials if param.name in t.params]
    if isinstance(param, CategoricalParam):
        return np.array([param.index(v) for v in present], dtype=np.int64)
    n_cells = cell_count(param)
    units = np.array([param.to_unit(v) for v in present], dtype=float)
    return np.minimum((units * n_cells).astype(np.int64), n_cells - 1)


def _grid_density(cells: np.ndarray, n_cells: int, categorical: bool) -> np.ndarray:
    """A Parzen estimator of the cells, as probabilities over the grid; a uniform prior of ``PRIOR_WEIGHT`` trials.

    Numeric cells get a Gaussian kernel each (Scott's rule, in cells),
    renormalized over the grid so that it is truncated to the range;
    categorical choices get their counts.
    """
    counts = np.bincount(cells, minlength=n_cells).astype(float)
    if categorical:
        mixture = counts
    else:
        spread = min(float(np.std(cells, ddof=1)) if len(cells) > 1 else 0.0,
                     float(np.subtract(*np.percentile(cells, [75, 25]))) / 1.34)
        bandwidth = max(1.059 * spread * len(cells) ** -0.2, MIN_BANDWIDTH)
        grid = np.arange(n_cells)
        kernels = np.exp(-0.5 * ((grid[None, :] - grid[:, None]) / bandwidth) ** 2)  # row: a kernel centred on a cell
        kernels /= kernels.sum(axis=1, keepdims=True)
        mixture = counts @ kernels
    return (mixture + PRIOR_WEIGHT / n_cells) / (len(cells) + PRIOR_WEIGHT)
