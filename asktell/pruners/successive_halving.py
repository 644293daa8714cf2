"""Asynchronous successive halving (ASHA, Li et al. 2020): keep the best 1/eta of the trials at each rung.

Rung ``k`` sits at step ``min_resource * reduction_factor ** (min_early_stopping_rate + k)``.
A trial reaches a rung at its first reported step at or past it, and its
*rung value* is its value there.  When a trial reaches a rung it is promoted
(runs on) if its value is among the best ``n // reduction_factor`` of the
``n`` rung values reported so far, its own included (the best one while
fewer than ``reduction_factor`` trials got there), and pruned otherwise.
Every trial that reached the rung competes, in any state.

Optuna stores each rung value on the trial when it is first judged there; here
it is read back from the reported values, and a trial is judged only at the
report that reaches a rung -- a report past a rung it was already judged at
does not judge it again.  A report that jumps over several rungs is judged
at each of them in turn, with its current value (as Optuna does).

Differences from Optuna's ``SuccessiveHalvingPruner``: ``min_resource`` has no
``auto`` (Optuna derives it from the first complete trial and keeps it in the
process; every asktell call would derive it again) and defaults to 1; and
``bootstrap_count`` makes a rung wait -- a trial passes a rung that fewer than
``bootstrap_count`` other trials have reached -- where Optuna prunes the
trials that arrive before the rung has that many.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..config import DEFAULT_OBJECTIVES, Objective
from ..samplers.options import check_integer
from ..trial import TrialRecord
from .base import OWNER, Pruner


def rung_value(losses: dict[int, float], rung_step: int) -> float | None:
    """A trial's value at the first step it reported at or past ``rung_step`` (None: not there yet)."""
    reached = [step for step in losses if step >= rung_step]
    return losses[min(reached)] if reached else None


class SuccessiveHalvingPruner(Pruner):
    name = "successive_halving"
    #: How a reason names this pruner (hyperband names its bracket).
    label = "successive halving"
    defaults = {"min_resource": 1, "reduction_factor": 4, "min_early_stopping_rate": 0, "bootstrap_count": 0}

    def __init__(self, objectives: Sequence[Objective] = DEFAULT_OBJECTIVES, **options: Any) -> None:
        super().__init__(objectives, **options)
        o = self.options
        check_integer(o["min_resource"], "min_resource", 1, owner=OWNER)
        check_integer(o["reduction_factor"], "reduction_factor", 2, owner=OWNER)
        check_integer(o["min_early_stopping_rate"], "min_early_stopping_rate", 0, owner=OWNER)
        check_integer(o["bootstrap_count"], "bootstrap_count", 0, owner=OWNER)

    def rung_step(self, rung: int) -> int:
        o = self.options
        return o["min_resource"] * o["reduction_factor"] ** (o["min_early_stopping_rate"] + rung)

    def prune(self, trials: Sequence[TrialRecord], trial: TrialRecord) -> str | None:
        losses = self.losses(trial)
        if not losses:
            return None
        step = max(losses)
        value = losses[step]
        previous = max((s for s in losses if s < step), default=-1)
        rung = 0
        while self.rung_step(rung) <= previous:  # judged there at an earlier report
            rung += 1
        others = [self.losses(t) for t in trials if t.number != trial.number]
        factor = self.options["reduction_factor"]
        while self.rung_step(rung) <= step:
            rung_step = self.rung_step(rung)
            competing = [v for v in (rung_value(curve, rung_step) for curve in others) if v is not None]
            if len(competing) < max(1, self.options["bootstrap_count"]):
                return None  # alone (or too few) here, so at every later rung too: promoted
            competing = sorted([*competing, value])
            kept = max(len(competing) // factor, 1)
            if value > competing[kept - 1]:
                return (f"{self.label}: {self.shown(value)} not among the best {kept} of {len(competing)} at rung "
                        f"{rung} (step {rung_step}; the cut is {self.shown(competing[kept - 1])})")
            rung += 1
        return None
