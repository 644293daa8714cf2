"""Percentile pruning: stop a trial whose best value so far is worse than most complete trials at its step.

Optuna's ``PercentilePruner``, stateless.  At its latest step ``s`` a trial
is pruned when its best value over all its steps is worse than the
``percentile``-th best of the values the *complete* trials reported at step
``s`` (linear interpolation between neighbours, as ``numpy.percentile``;
``percentile: 25`` keeps the best quarter).  Nothing is pruned

* until ``n_startup_trials`` trials are complete,
* at steps before ``n_warmup_steps`` (the first judged step is
  ``n_warmup_steps`` itself), and then only every ``interval_steps`` steps,
* at a step fewer than ``n_min_trials`` complete trials reported.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..config import DEFAULT_OBJECTIVES, Objective
from ..samplers.options import check_integer, check_number
from ..trial import COMPLETE, TrialRecord
from .base import OWNER, Pruner, judged_at

#: The options every percentile-style pruner takes, with Optuna's defaults.
SCHEDULE = {"n_startup_trials": 5, "n_warmup_steps": 0, "interval_steps": 1, "n_min_trials": 1}


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolated linearly (numpy's default)."""
    ordered = sorted(values)
    position = q / 100 * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class PercentilePruner(Pruner):
    name = "percentile"
    required = ("percentile",)
    defaults = dict(SCHEDULE)

    def __init__(self, objectives: Sequence[Objective] = DEFAULT_OBJECTIVES, **options: Any) -> None:
        super().__init__(objectives, **options)
        o = self.options
        check_integer(o["n_startup_trials"], "n_startup_trials", 0, owner=OWNER)
        check_integer(o["n_warmup_steps"], "n_warmup_steps", 0, owner=OWNER)
        check_integer(o["interval_steps"], "interval_steps", 1, owner=OWNER)
        check_integer(o["n_min_trials"], "n_min_trials", 1, owner=OWNER)
        check_number(self.quantile, "percentile", 0.0, 100.0, owner=OWNER)

    @property
    def quantile(self) -> float:
        return self.options["percentile"]

    @property
    def label(self) -> str:
        return f"percentile {self.quantile:g}"

    def prune(self, trials: Sequence[TrialRecord], trial: TrialRecord) -> str | None:
        o = self.options
        losses = self.losses(trial)
        complete = [t for t in trials if t.state == COMPLETE]
        if not losses or not complete or len(complete) < o["n_startup_trials"]:
            return None
        step = max(losses)
        if not judged_at(step, losses, o["n_warmup_steps"], o["interval_steps"]):
            return None
        at_step = [curve[step] for curve in map(self.losses, complete) if step in curve]
        if len(at_step) < o["n_min_trials"]:
            return None
        best, cut = min(losses.values()), percentile(at_step, self.quantile)
        if best > cut:
            return f"{self.label}: {self.shown(best)} worse than {self.shown(cut)} at step {step}"
        return None
