"""Hyperband (Li et al. 2018): several successive-halving brackets, from aggressive to lenient.

Bracket ``b`` (0 .. n_brackets - 1) is successive halving with
``min_early_stopping_rate = b``: bracket 0 judges first at ``min_resource``,
the last one at (about) ``max_resource``.  ``n_brackets`` is the largest
``s + 1`` with ``min_resource * reduction_factor ** s <= max_resource``.  Each
trial belongs to one bracket and competes only with the trials of its bracket.

The bracket is a function of the trial number alone: the CRC-32 of the number
written in decimal, modulo the sum of the brackets' budgets, picks a bracket
with probability proportional to its budget ``ceil(n_brackets * eta ** s /
(s + 1))``, ``s = n_brackets - 1 - b`` -- Optuna's allocation.  Optuna hashes
``"{study_name}_{number}"``; the name plays no part here, so renaming or copying
a study keeps every trial in its bracket.

Differences from Optuna's ``HyperbandPruner``: ``max_resource`` is required
(Optuna's ``auto`` takes the last step of the first complete trial and keeps
it in the process), the bracket count is computed in integers (Optuna's
floating ``log`` can come out one short at exact powers), and the brackets'
successive halving follows ``successive_halving.py``.
"""

from __future__ import annotations

import binascii
from typing import Any, Sequence

from ..config import DEFAULT_OBJECTIVES, Objective
from ..errors import InvalidInput
from ..samplers.options import check_integer
from ..trial import TrialRecord
from .base import OWNER, Pruner
from .successive_halving import SuccessiveHalvingPruner


class HyperbandPruner(Pruner):
    name = "hyperband"
    required = ("max_resource",)
    defaults = {"min_resource": 1, "reduction_factor": 3, "bootstrap_count": 0}

    def __init__(self, objectives: Sequence[Objective] = DEFAULT_OBJECTIVES, **options: Any) -> None:
        super().__init__(objectives, **options)
        o = self.options
        check_integer(o["min_resource"], "min_resource", 1, owner=OWNER)
        check_integer(o["reduction_factor"], "reduction_factor", 2, owner=OWNER)
        check_integer(o["bootstrap_count"], "bootstrap_count", 0, owner=OWNER)
        check_integer(o["max_resource"], "max_resource", 1, owner=OWNER)
        if o["max_resource"] < o["min_resource"]:
            raise InvalidInput(f"must be at least min_resource ({o['min_resource']})",
                               field=f"{OWNER}.options.max_resource", value=o["max_resource"])
        factor = o["reduction_factor"]
        n_brackets = 1
        while o["min_resource"] * factor ** n_brackets <= o["max_resource"]:
            n_brackets += 1
        #: Each bracket's share of the trials, proportional to Hyperband's n_i.
        self.budgets = [-(-n_brackets * factor ** s // (s + 1)) for s in range(n_brackets - 1, -1, -1)]
        self.brackets = []
        for bracket in range(n_brackets):
            halving = SuccessiveHalvingPruner(objectives, metric=self.objective.name,
                                              min_resource=o["min_resource"], reduction_factor=factor,
                                              min_early_stopping_rate=bracket, bootstrap_count=o["bootstrap_count"])
            halving.label = f"hyperband bracket {bracket}"
            self.brackets.append(halving)

    def bracket(self, number: int) -> int:
        """The bracket of trial ``number``: stable across processes, studies and Python versions."""
        ticket = binascii.crc32(str(number).encode()) % sum(self.budgets)
        for bracket, budget in enumerate(self.budgets):
            if ticket < budget:
                return bracket
            ticket -= budget
        raise AssertionError("a ticket below the sum of the budgets falls in one of them")

    def prune(self, trials: Sequence[TrialRecord], trial: TrialRecord) -> str | None:
        bracket = self.bracket(trial.number)
        same = [t for t in trials if self.bracket(t.number) == bracket]
        return self.brackets[bracket].prune(same, trial)
