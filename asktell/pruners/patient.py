"""Patience: let a trial run while it still improves; then ask the wrapped pruner, or stop it.

With ``patience: p`` the trial's last ``p + 1`` reported steps are compared
with the steps before them: if the best value among the last ``p + 1`` is not
better than the best before them by more than ``min_delta``, the trial has
stopped improving, and it is pruned -- or, when ``wrapped`` names a pruner,
pruned only if that pruner says so too.  A trial with ``p + 1`` reported
steps or fewer is never pruned.  (Optuna's ``PatientPruner``.)

The options are flat, so that ``--pruner-option`` can give them all: the
patient pruner's own are ``patience``, ``min_delta`` and ``wrapped`` (a
pruner's name, or null); every other option is the wrapped pruner's, e.g.
``--pruner patient --pruner-option patience=3 --pruner-option wrapped=median
--pruner-option n_warmup_steps=5``.  ``metric`` goes to both.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..config import DEFAULT_OBJECTIVES, Objective
from ..errors import InvalidInput
from ..samplers.options import check_integer, check_number
from ..trial import TrialRecord
from . import PRUNERS, make_pruner
from .base import OWNER, Pruner


class PatientPruner(Pruner):
    name = "patient"
    required = ("patience",)
    defaults = {"min_delta": 0.0, "wrapped": None}

    def __init__(self, objectives: Sequence[Objective] = DEFAULT_OBJECTIVES, **options: Any) -> None:
        wrapped = options.get("wrapped")
        own = {k: v for k, v in options.items() if k in ("metric", *self.defaults, *self.required)}
        super().__init__(objectives, **(own if wrapped is not None else options))
        check_integer(self.options["patience"], "patience", 0, owner=OWNER)
        check_number(self.options["min_delta"], "min_delta", 0.0, float("inf"), owner=OWNER)
        if wrapped is not None and (not isinstance(wrapped, str) or wrapped not in PRUNERS or wrapped == self.name):
            others = ", ".join(name for name in PRUNERS if name != self.name)
            raise InvalidInput(f"must be null or one of {others}", field=f"{OWNER}.options.wrapped", value=wrapped)
        rest = {k: v for k, v in options.items() if k not in own or k == "metric"}
        self.wrapped = make_pruner(wrapped, rest, objectives) if wrapped is not None else None

    def prune(self, trials: Sequence[TrialRecord], trial: TrialRecord) -> str | None:
        losses = self.losses(trial)
        recent = self.options["patience"] + 1
        if len(losses) <= recent:
            return None
        steps = sorted(losses)
        before = min(losses[s] for s in steps[:-recent])
        after = min(losses[s] for s in steps[-recent:])
        if not before + self.options["min_delta"] < after:
            return None
        stalled = (f"patient: the last {recent} steps reached {self.shown(after)} at best, "
                   f"worse than {self.shown(before)} before them")
        if self.wrapped is None:
            return stalled
        reason = self.wrapped.prune(trials, trial)
        return f"{stalled}; {reason}" if reason is not None else None
