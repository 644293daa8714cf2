"""Threshold pruning: stop a trial whose latest value leaves [lower, upper].

The bounds are on the values as reported, whatever the direction: ``upper:
10`` stops a diverging loss, ``lower: 0.2`` an accuracy stuck at chance.
Not before ``n_warmup_steps``, then every ``interval_steps`` steps (as the
percentile pruner).  Optuna's ``ThresholdPruner`` also prunes a NaN;
``asktell report`` refuses NaN and infinite values (exit 2), which stops a
``report ... || break`` loop all the same.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..config import DEFAULT_OBJECTIVES, Objective
from ..errors import InvalidInput
from ..samplers.options import check_integer
from ..trial import TrialRecord
from .base import OWNER, Pruner, judged_at


class ThresholdPruner(Pruner):
    name = "threshold"
    defaults = {"lower": None, "upper": None, "n_warmup_steps": 0, "interval_steps": 1}

    def __init__(self, objectives: Sequence[Objective] = DEFAULT_OBJECTIVES, **options: Any) -> None:
        super().__init__(objectives, **options)
        o = self.options
        if o["lower"] is None and o["upper"] is None:
            raise InvalidInput("the threshold pruner needs lower, upper or both", field=f"{OWNER}.options.upper")
        for bound in ("lower", "upper"):
            value = o[bound]
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value)):
                raise InvalidInput("must be a finite number or null", field=f"{OWNER}.options.{bound}", value=value)
        if o["lower"] is not None and o["upper"] is not None and o["lower"] > o["upper"]:
            raise InvalidInput(f"must not exceed upper ({o['upper']:g})", field=f"{OWNER}.options.lower",
                               value=o["lower"])
        check_integer(o["n_warmup_steps"], "n_warmup_steps", 0, owner=OWNER)
        check_integer(o["interval_steps"], "interval_steps", 1, owner=OWNER)

    def prune(self, trials: Sequence[TrialRecord], trial: TrialRecord) -> str | None:
        o = self.options
        values = self.reported(trial)
        if not values:
            return None
        step = max(values)
        if not judged_at(step, values, o["n_warmup_steps"], o["interval_steps"]):
            return None
        value = values[step]
        if o["lower"] is not None and value < o["lower"]:
            return f"threshold: {value:.6g} below the lower bound {o['lower']:g} at step {step}"
        if o["upper"] is not None and value > o["upper"]:
            return f"threshold: {value:.6g} above the upper bound {o['upper']:g} at step {step}"
        return None
