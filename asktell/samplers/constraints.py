"""How far a trial is from feasible: the number constraint-handling samplers rank by."""

from __future__ import annotations

from ..trial import TrialRecord


def total_violation(record: TrialRecord) -> float:
    """Sum of the positive constraint values (0 when feasible or unconstrained).

    A sum rather than a count, so that a trial just over a bound ranks ahead
    of one far over it and the search is led back towards feasibility.
    """
    return sum(max(0.0, value) for value in (record.constraints or {}).values())
