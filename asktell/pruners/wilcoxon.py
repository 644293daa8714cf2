"""Wilcoxon pruning: stop a trial once a signed-rank test says it is worse than the best trial.

For studies whose steps are *instances* (cross-validation folds, benchmark
problems, questions to a model) rather than epochs: a trial reports one value
per instance, under the instance's id as its step, in any order.  The trial
is compared with the best complete trial on the steps both reported; it is
pruned when the one-sided signed-rank test of the paired differences
(``signed_rank.py``) gives ``p < p_threshold`` for "this trial is worse".
As in Optuna's ``WilcoxonPruner``:

* nothing is pruned before ``max(2, n_startup_steps)`` shared steps, nor
  while no complete trial has reported;
* a trial whose mean over its steps is as good as the best trial's mean over
  its own steps is never pruned (a safety when the instances differ in
  difficulty and the two trials ran different ones).

``p_threshold`` is per test, and the test is repeated at every step: to hold
an overall false-pruning rate, give a corrected (e.g. Pocock) threshold.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..config import DEFAULT_OBJECTIVES, Objective
from ..samplers.options import check_integer, check_number
from ..trial import COMPLETE, TrialRecord
from .base import OWNER, Pruner
from .signed_rank import signed_rank_greater


class WilcoxonPruner(Pruner):
    name = "wilcoxon"
    defaults = {"p_threshold": 0.1, "n_startup_steps": 2}

    def __init__(self, objectives: Sequence[Objective] = DEFAULT_OBJECTIVES, **options: Any) -> None:
        super().__init__(objectives, **options)
        check_number(self.options["p_threshold"], "p_threshold", 0.0, 1.0, owner=OWNER)
        check_integer(self.options["n_startup_steps"], "n_startup_steps", 0, owner=OWNER)

    def best_trial(self, trials: Sequence[TrialRecord]) -> TrialRecord | None:
        """The complete trial with the best final value of the watched objective (the lowest number on ties)."""
        assert self.objective is not None
        name, sign = self.objective.name, self.objective.sign
        scored = [t for t in trials if t.state == COMPLETE and name in (t.values or {})]
        return min(scored, key=lambda t: (sign * t.values[name], t.number), default=None)

    def prune(self, trials: Sequence[TrialRecord], trial: TrialRecord) -> str | None:
        losses = self.losses(trial)
        best = self.best_trial(trials)
        best_losses = self.losses(best) if best is not None else {}
        shared = sorted(set(losses) & set(best_losses))
        if len(shared) < max(2, self.options["n_startup_steps"]):
            return None
        if sum(losses.values()) / len(losses) <= sum(best_losses.values()) / len(best_losses):
            return None
        _, p = signed_rank_greater([losses[s] - best_losses[s] for s in shared])
        if p < self.options["p_threshold"]:
            return (f"wilcoxon: worse than trial {best.number} over {len(shared)} shared steps "
                    f"(p = {p:.3g} < {self.options['p_threshold']:g})")
        return None
