"""Bayesian optimisation with a Gaussian process and log expected improvement, for small budgets.

After ``n_startup`` complete trials (before that: exactly the random
sampler), a GP (``gaussian_process``: Matern 5/2, one lengthscale per
parameter, categoricals by Hamming distance) is fitted to the finished trials
in the unit cube of ``to_unit`` and the suggestion is the parameter set with
the largest log expected improvement (``acquisition``) among
``n_candidates`` uniform draws and a few of the best of them refined by
projected gradient ascent together with the best trial so far.

What the model is fed:

* targets are *warped* losses (``warp``: the better half as it is, the worse
  half compressed by log1p), standardised, so one diverged run cannot flatten
  the rest of the landscape.  Infeasible trials go above every feasible one,
  ordered by total violation; failed and pruned trials get the worst value.
* a parameter absent from a trial (its condition did not hold) is imputed:
  a number at 0.5, a categorical as a choice of its own, so trials of the
  same branch compare on the parameters they share and every trial of the
  other branch is equally far on the missing one.
* at most ``max_points`` finished trials (default 200): the best half and the
  newest others, so a suggestion costs about the same at 1,000 trials as at
  300.  The hyperparameters are fitted to at most 100 of them, chosen the same
  way: fitting costs an n x n factorisation per start and iteration (about
  120 of them), the posterior one.
* running trials are added as if they had come back with the mean target
  (constant liar, Ginsbourger et al. 2010): the variance around them
  collapses and the mean rises towards average, so expected improvement there
  drops and a batch of asks spreads out.  At most ``max_points`` of them, the
  newest.  (Believing the model's own prediction instead -- kriging believer
  -- kept the mean below the best near the predicted optimum, where expected
  improvement stays about best - mean whatever the variance: eight asks
  landed within 0.005 of each other.)

One objective only: several go to ``nsga2`` or ``tpe``.  Numpy only:
``scipy.optimize`` (0.6 s) and ``scipy.special`` (0.3 s) would cost more to
import than a suggestion takes.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..errors import InvalidInput
from ..space import Space
from ..trial import TrialRecord
from .acquisition import log_expected_improvement, log_expected_improvement_gradient
from .base import Sampler
from .constraints import total_violation
from .gaussian_process import GaussianProcess
from .grid import cell_key
from .parzen import Encoding
from .projected_gradient import minimize_rows
from .random import RandomSampler
from .unitcube import decode, uniform, untaken

#: The best candidates refined by gradient ascent, besides the best trial so far.
_REFINED = 5
_REFINE_ITERATIONS = 25
#: The first refining step moves no unit coordinate further than this.
_REFINE_FIRST_MOVE = 0.05
#: The hyperparameters are fitted to at most this many of the modelled trials (the best half and the newest).
_FIT_POINTS = 100


class GPSampler(Sampler):
    name = "gp"
    defaults = {"n_startup": 10, "n_candidates": 512, "max_points": 200}
    #: It models the best half of ``max_points`` and the newest rest.
    windowed = True

    def __init__(self, study_seed: int = 0, **options: Any) -> None:
        super().__init__(study_seed, **options)
        _check_count(self.options, "n_startup", 0)
        _check_count(self.options, "n_candidates", 1)
        _check_count(self.options, "max_points", 2)
        if len(self.objectives) != 1:
            raise InvalidInput("the gp sampler optimizes one objective; use nsga2 or tpe for several",
                               field="objectives", value=[o.name for o in self.objectives])

    def suggest(self, space: Space, history: Sequence[TrialRecord], pending: Sequence[TrialRecord],
                seed: int) -> dict:
        if sum(self.losses(t) is not None for t in history) < max(self.options["n_startup"], 1):
            return RandomSampler(self.study_seed).suggest(space, history, pending, seed)
        rng = np.random.default_rng(seed)
        encoding = Encoding(space)
        modelled = self.modelled(history)
        inputs, active = _inputs(encoding, [t.params for t in modelled])
        targets = self.targets(modelled)
        model = GaussianProcess.fit(inputs, targets, encoding.categorical, rng, best_and_newest(targets, _FIT_POINTS))
        running = list(pending)[-self.options["max_points"]:]
        if running:  # constant liar: each running trial as if it had come back average
            lies = np.full(len(running), targets.mean())
            model = model.told(_inputs(encoding, [t.params for t in running])[0], lies)
        incumbent = int(np.argmin(targets))
        search = _Search(space, encoding, model, float(targets[incumbent]), rng)
        candidates, scores = search.candidates(self.options["n_candidates"], inputs[incumbent], active[incumbent])
        # Never a running trial's cell; a finished one's only when no other candidate is left (a small grid).
        asked = {cell_key(t.params) for t in pending}
        finished = {cell_key(t.params) for t in history}
        tiers = np.array([2 * (cell_key(c) not in asked) + (cell_key(c) not in finished) for c in candidates])
        if tiers.max() < 2:
            return untaken(pending, lambda: uniform(space, rng.random))
        return candidates[int(np.lexsort((scores, tiers))[-1])]

    def order_key(self, record: TrialRecord) -> tuple[float, float]:
        """(total violation, loss): feasible trials by loss first; failed and pruned ones tie last."""
        losses = self.losses(record)
        return (math.inf, 0.0) if losses is None else (total_violation(record), losses[0])

    def targets(self, records: Sequence[TrialRecord]) -> np.ndarray:
        """What the GP fits, standardised: warped losses, then infeasible, failed and pruned trials above them.

        Feasible trials: ``warp`` of their losses.  Infeasible ones: the worst
        of those plus (1 + the rank of their total violation) / their number,
        so less violation looks better.  Failed and pruned ones: the worst
        value of all, as a trial that went badly.
        """
        keys = np.array([self.order_key(t) for t in records])
        feasible = keys[:, 0] == 0
        infeasible = np.isfinite(keys[:, 0]) & ~feasible
        values = np.zeros(len(records))
        if feasible.any():
            values[feasible] = warp(keys[feasible, 1])
        worst = values[feasible].max() if feasible.any() else 0.0
        values[infeasible] = worst + (1 + mid_ranks(keys[infeasible, 0])) / max(infeasible.sum(), 1)
        values[np.isinf(keys[:, 0])] = values[feasible | infeasible].max()
        spread = values.std()
        return (values - values.mean()) / (spread if spread > 0 else 1.0)

    def modelled(self, history: Sequence[TrialRecord]) -> list[TrialRecord]:
        """The finished trials the model sees: all of them, or the best half of ``max_points`` and the newest rest."""
        return [history[i] for i in best_and_newest([self.order_key(t) for t in history], self.options["max_points"])]


class _Search:
    """Log expected improvement over parameter sets, and its local ascent in the unit cube."""

    def __init__(self, space: Space, encoding: Encoding, model: GaussianProcess, best: float,
                 rng: np.random.Generator) -> None:
        self.space, self.encoding, self.model, self.best, self.rng = space, encoding, model, best, rng

    def candidates(self, count: int, incumbent: np.ndarray, incumbent_active: np.ndarray
                   ) -> tuple[list[dict], np.ndarray]:
        """(parameter sets, their log EI): ``count`` uniform ones, then the best few and the incumbent refined."""
        drawn = [uniform(self.space, self.rng.random) for _ in range(count)]
        points, active = _inputs(self.encoding, drawn)
        scores = self.score(points)
        top = np.argsort(-scores, kind="stable")[:_REFINED]
        refined = self.refine(np.vstack([points[top], incumbent]), np.vstack([active[top], incumbent_active]))
        return drawn + refined, np.concatenate([scores, self.score(_inputs(self.encoding, refined)[0])])

    def score(self, points: np.ndarray) -> np.ndarray:
        mean, std = self.model.predict(points)
        return log_expected_improvement(mean, std, self.best)

    def refine(self, starts: np.ndarray, active: np.ndarray) -> list[dict]:
        """The parameter sets reached from ``starts`` (input rows) by gradient ascent of log EI.

        Only active numbers move; categorical and absent coordinates stay
        fixed (their bounds are their value).  Stepped and integer ones move
        continuously and ``from_unit`` snaps them, so the caller scores the
        snapped sets again.
        """
        movable = active & ~self.encoding.categorical

        def descent(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            value, gradient = log_expected_improvement_gradient(*self.model.predict_with_gradient(points), self.best)
            return -value, -gradient

        moved, _ = minimize_rows(descent, starts, np.where(movable, 0.0, starts), np.where(movable, 1.0, starts),
                                 _REFINE_ITERATIONS, _REFINE_FIRST_MOVE)
        return [self.param_set(row, flags) for row, flags in zip(moved, active)]

    def param_set(self, row: np.ndarray, active: np.ndarray) -> dict:
        """The parameter set at an input row; a parameter the row lacks but now needs is drawn uniformly."""
        unit = np.where(self.encoding.categorical, (row + 0.5) / np.maximum(self.encoding.n_choices, 1), row)
        return decode(self.space, np.where(active, unit, np.nan).tolist(), self.rng.random)


def _inputs(encoding: Encoding, param_sets: Sequence[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(GP inputs, active flags): absent numbers at 0.5, absent categoricals as choice -1."""
    values, active = encoding.encode(param_sets)
    return np.where(active, values, np.where(encoding.categorical, -1.0, 0.5)), active


def best_and_newest(keys: Sequence, cap: int) -> list[int]:
    """Indices, ascending, of at most ``cap`` items in trial order: the ``cap // 2`` lowest keys, then the newest."""
    if len(keys) <= cap:
        return list(range(len(keys)))
    best = sorted(range(len(keys)), key=keys.__getitem__)[:cap // 2]
    chosen = set(best)
    newest = [i for i in range(len(keys) - 1, -1, -1) if i not in chosen][:cap - len(best)]
    return sorted(best + newest)


def warp(losses: np.ndarray) -> np.ndarray:
    """Losses in units of (median - best) from the median, the worse half compressed by log1p.

    The better half keeps its shape (a bowl stays a bowl); a run diverged a
    thousand times over ends a few units up instead of squeezing every other
    trial together once the targets are standardised.
    """
    median = np.median(losses)
    scale = median - losses.min()
    units = (losses - median) / (scale if scale > 0 else 1.0)
    return np.where(units > 0, np.log1p(np.maximum(units, 0.0)), units)


def mid_ranks(values: np.ndarray) -> np.ndarray:
    """0 for the smallest value, ties sharing the mean of their ranks."""
    below = (values[:, None] > values[None, :]).sum(axis=1)
    ties = (values[:, None] == values[None, :]).sum(axis=1)
    return below + 0.5 * (ties - 1)


def _check_count(options: dict, name: str, smallest: int) -> None:
    value = options[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
        raise InvalidInput(f"must be an integer >= {smallest}", field=f"sampler.options.{name}", value=value)
