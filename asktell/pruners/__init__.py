"""Pruners: each a pure function of (every trial's intermediate values, this trial, settings).

A pruner keeps no state between calls; every ``asktell report`` rebuilds it
from ``study.yaml`` and judges the journal as it is.  Modules are imported
only when their pruner is used, and none imports numpy: ``report`` runs at
every step of every training loop, so its start-up is paid many times over.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from ..config import DEFAULT_OBJECTIVES, Objective
from ..errors import InvalidInput
from .base import Pruner

#: name -> "module:class", imported on first use.
PRUNERS = {
    "nop": "asktell.pruners.nop:NopPruner",
    "median": "asktell.pruners.median:MedianPruner",
    "percentile": "asktell.pruners.percentile:PercentilePruner",
    "successive_halving": "asktell.pruners.successive_halving:SuccessiveHalvingPruner",
    "hyperband": "asktell.pruners.hyperband:HyperbandPruner",
    "threshold": "asktell.pruners.threshold:ThresholdPruner",
    "patient": "asktell.pruners.patient:PatientPruner",
    "wilcoxon": "asktell.pruners.wilcoxon:WilcoxonPruner",
}

__all__ = ["PRUNERS", "Pruner", "make_pruner"]


def make_pruner(name: Any, options: Mapping[str, Any] | None = None,
                objectives: Sequence[Objective] = DEFAULT_OBJECTIVES) -> Pruner:
    """The configured pruner; unknown names and bad options are input errors."""
    if not isinstance(name, str) or name not in PRUNERS:
        raise InvalidInput(f"unknown pruner; use one of {', '.join(PRUNERS)}", field="pruner.name", value=name)
    module_name, class_name = PRUNERS[name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(objectives, **dict(options or {}))
