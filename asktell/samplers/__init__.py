"""Samplers: each a pure function of (space, finished trials, pending trials, seed).

A sampler keeps no state between calls; every ``asktell ask`` rebuilds it from
``study.yaml`` and the journal.  Modules are imported only when their sampler
is used, so the start-up of ``ask`` pays for one sampler, not all of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from ..config import DEFAULT_OBJECTIVES, Objective
from ..errors import InvalidInput
from .base import Sampler, derive_seed

#: name -> "module:class", imported on first use.
SAMPLERS = {
    "random": "asktell.samplers.random:RandomSampler",
    "grid": "asktell.samplers.grid:GridSampler",
    "de": "asktell.samplers.de:DifferentialEvolutionSampler",
    "nsga2": "asktell.samplers.nsga2:NSGA2Sampler",
    "tpe": "asktell.samplers.tpe:TPESampler",
    "cmaes": "asktell.samplers.cmaes:CmaEsSampler",
    "qmc": "asktell.samplers.qmc:QMCSampler",
    "gp": "asktell.samplers.gp:GPSampler",
}

__all__ = ["SAMPLERS", "Sampler", "derive_seed", "make_sampler"]


def make_sampler(name: str, options: dict, study_seed: int,
                 objectives: Sequence[Objective] = DEFAULT_OBJECTIVES) -> Sampler:
    """The configured sampler; unknown names and options are input errors."""
    if name not in SAMPLERS:
        raise InvalidInput(f"unknown sampler; use one of {', '.join(SAMPLERS)}", field="sampler.name", value=name)
    module_name, class_name = SAMPLERS[name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(study_seed=study_seed, objectives=objectives, **options)
