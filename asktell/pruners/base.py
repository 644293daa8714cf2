"""The pruner contract.

``prune(trials, trial) -> reason | None`` is all a pruner does: whether the
running ``trial`` should stop now, as a pure function of

* ``trials`` -- every trial of the study, in any state, with the intermediate
  values it reported (``TrialRecord.intermediate``: metric -> step -> value);
* ``trial`` -- the trial asked about, judged at its latest (largest) step;
* the pruner's options and the objective it watches, given to the constructor.

It returns why the trial should stop -- the text ``asktell report`` prints --
or ``None`` to let it run.  Nothing is kept between calls: every ``asktell
report`` rebuilds the pruner from ``study.yaml`` and judges the journal as it
is, so a decision Optuna stores on the trial (a rung reached, a bracket) is
derived again from the reported values each time.

A pruner watches one objective of the study (its direction says which values
are better): the study's only one, or the one named by the ``metric`` option.
Options come from ``study.yaml`` (``pruner.options``) through the constructor,
which rejects unknown ones: a typo would otherwise be silently ignored.
"""

from __future__ import annotations

from typing import Any, ClassVar, Iterable, Sequence

from ..config import DEFAULT_OBJECTIVES, Objective
from ..errors import InvalidInput
from ..trial import TrialRecord

#: What the error of a bad option names: ``pruner.options.NAME``.
OWNER = "pruner"


def watched_objective(metric: Any, objectives: Sequence[Objective], required: bool) -> Objective | None:
    """The objective named by the ``metric`` option, or the study's only one.

    With several objectives and no ``metric`` there is none; a pruner that
    compares values (``required``) refuses that.
    """
    if metric is None:
        if len(objectives) == 1:
            return objectives[0]
        if required:
            raise InvalidInput(f"the study has {len(objectives)} objectives; name the one to prune on "
                               "(--pruner-option metric=NAME)", field=f"{OWNER}.options.metric")
        return None
    found = next((o for o in objectives if o.name == metric), None)
    if found is None:
        names = ", ".join(o.name for o in objectives)
        raise InvalidInput(f"must name an objective of the study ({names})", field=f"{OWNER}.options.metric",
                           value=metric)
    return found


def judged_at(step: int, steps: Iterable[int], warmup: int, interval: int) -> bool:
    """Whether a trial whose latest step is ``step`` is judged there.

    Not before ``warmup``; then at warmup, warmup + interval, ... -- or at the
    first report after one of those steps when the trial skipped it (Optuna's
    ``_is_first_in_interval_step``).
    """
    if step < warmup:
        return False
    boundary = (step - warmup) // interval * interval + warmup
    return max((s for s in steps if s < step), default=-1) < boundary


class Pruner:
    """Base class: holds validated options and the watched objective; subclasses implement ``prune``."""

    name: ClassVar[str]
    #: Option names and their defaults; anything else given (but ``metric``) is an error.
    defaults: ClassVar[dict[str, Any]] = {}
    #: Options without a default: creating the pruner without them is an error.
    required: ClassVar[tuple[str, ...]] = ()
    #: Whether the pruner reads values, so that it must know which objective to watch.
    compares_values: ClassVar[bool] = True

    def __init__(self, objectives: Sequence[Objective] = DEFAULT_OBJECTIVES, **options: Any) -> None:
        metric = options.pop("metric", None)
        unknown = sorted(set(options) - set(self.defaults) - set(self.required))
        if unknown:
            raise InvalidInput(f"unknown option for the {self.name} pruner", field=f"{OWNER}.options.{unknown[0]}",
                               value=options[unknown[0]])
        missing = [name for name in self.required if options.get(name) is None]
        if missing:
            raise InvalidInput(f"the {self.name} pruner needs this option", field=f"{OWNER}.options.{missing[0]}")
        self.objective = watched_objective(metric, objectives, self.compares_values)
        self.options = {**self.defaults, **options}

    def reported(self, record: TrialRecord) -> dict[int, float]:
        """The watched objective's values a trial reported, by step."""
        assert self.objective is not None
        return (record.intermediate or {}).get(self.objective.name) or {}

    def losses(self, record: TrialRecord) -> dict[int, float]:
        """``reported`` as numbers to minimize (maximized values negated)."""
        assert self.objective is not None
        sign = self.objective.sign
        return {step: sign * value for step, value in self.reported(record).items()}

    def shown(self, loss: float) -> str:
        """A number to minimize as the user reported it, for a reason's text."""
        assert self.objective is not None
        return f"{self.objective.sign * loss:.6g}"

    def prune(self, trials: Sequence[TrialRecord], trial: TrialRecord) -> str | None:
        raise NotImplementedError
