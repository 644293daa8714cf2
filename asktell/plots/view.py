"""What a plot is drawn from: a study's trials and the objective and parameters the user chose.

Names given on the command line (``--objective``, ``--params``) are checked
here, once, so that a typo is a one-line input error and not a blank picture.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence

from ..config import Objective, StudyConfig
from ..errors import InvalidInput
from ..space import Param
from ..trial import COMPLETE, TrialRecord


@dataclass
class View:
    config: StudyConfig
    #: Every trial, in number order.
    trials: list[TrialRecord]
    #: The objective named by ``--objective``; None: the kind's default (see ``objective``).
    chosen: Objective | None = None
    #: Parameters named by ``--params``, in that order; None: every parameter of the space.
    chosen_params: list[Param] | None = None
    #: The time running trials are drawn up to (the timeline).
    now: float = field(default_factory=time.time)

    @classmethod
    def of(cls, config: StudyConfig, trials: Sequence[TrialRecord], objective: str | None = None,
           params: Sequence[str] | None = None) -> "View":
        chosen = None
        if objective is not None:
            chosen = config.objective(objective)
            if chosen is None:
                raise InvalidInput(f"not an objective of the study ({', '.join(o.name for o in config.objectives)})",
                                   field="--objective", value=objective)
        chosen_params = None
        if params is not None:
            unknown = [name for name in params if name not in config.space.params]
            if unknown or not params:
                raise InvalidInput(f"not a parameter of the study ({', '.join(config.space.params)})",
                                   field="--params", value=",".join(unknown or params))
            chosen_params = [config.space.params[name] for name in params]
        return cls(config, list(trials), chosen, chosen_params)

    @property
    def objective(self) -> Objective:
        """The one objective a single-objective plot shows: the chosen one, else the study's first."""
        return self.chosen or self.config.objectives[0]

    @property
    def params(self) -> list[Param]:
        return list(self.config.space) if self.chosen_params is None else list(self.chosen_params)

    def scored(self) -> list[TrialRecord]:
        """Complete trials with a finite value of ``objective``."""
        name = self.objective.name
        return [t for t in self.trials if t.state == COMPLETE and t.values and name in t.values
                and math.isfinite(t.values[name])]

    def value(self, trial: TrialRecord) -> float:
        return trial.values[self.objective.name]  # type: ignore[index]

    def label(self, objective: Objective | None = None) -> str:
        """``loss (minimize)``: an axis title that says which way is better."""
        objective = objective or self.objective
        return f"{objective.name} ({objective.direction})"
