"""The default pruner: every trial runs to its end."""

from __future__ import annotations

from typing import Sequence

from ..trial import TrialRecord
from .base import Pruner


class NopPruner(Pruner):
    """Never prunes; it still takes ``metric``, the objective ``tell --state pruned`` fills in."""

    name = "nop"
    compares_values = False

    def prune(self, trials: Sequence[TrialRecord], trial: TrialRecord) -> str | None:
        return None
