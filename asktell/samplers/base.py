"""The sampler contract.

``suggest(space, history, pending, seed) -> params`` is all a sampler does:

* ``history`` -- finished trials (complete, pruned, failed) in trial order;
* ``pending`` -- trials asked but not yet told: a model-based sampler must
  keep new suggestions away from them, or 64 array tasks asked at once would
  all get the same point;
* ``seed`` -- derived from the study seed and the new trial's number, so the
  same study folder gives the same suggestion in any process.

``objectives`` (from ``study.yaml``) come through the constructor: ``losses``
turns a trial's values into numbers to minimize, in the study's order, and
``feasible`` reads its constraints (feasible when every one is <= 0).

Options come from ``study.yaml`` (``sampler.options``) through the constructor,
which must reject unknown ones: a typo would otherwise be silently ignored.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar, Sequence

from ..config import DEFAULT_OBJECTIVES, Objective
from ..errors import InvalidInput
from ..space import Space
from ..trial import COMPLETE, TrialRecord


def derive_seed(study_seed: int, trial_number: int) -> int:
    """A 63-bit seed for one trial; stable across processes (``hash()`` is not).

    Seeding with a string hashes it with SHA-512 inside ``random`` (a documented,
    version-stable scheme), so no hashlib import is needed on the ask path.
    """
    return random.Random(f"asktell:{study_seed}:{trial_number}").getrandbits(63)


class Sampler:
    """Base class: holds validated options; subclasses implement ``suggest``."""

    name: ClassVar[str]
    #: Option names and their defaults; anything else given is an error.
    defaults: ClassVar[dict[str, Any]] = {}
    #: Whether ``suggest`` reads finished trials.  A sampler that does not lets
    #: ``ask`` skip loading them, so its cost stays flat as the study grows.
    uses_history: ClassVar[bool] = True
    #: Whether the window of finished trials (``asktell.window``: the best of each objective and the newest
    #: 1,025) is all it needs to read; ``ask`` then loads that window, not the whole study.
    windowed: ClassVar[bool] = False

    def __init__(self, study_seed: int = 0, objectives: Sequence[Objective] = DEFAULT_OBJECTIVES,
                 **options: Any) -> None:
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            raise InvalidInput(f"unknown option for the {self.name} sampler", field=f"sampler.options.{unknown[0]}",
                               value=options[unknown[0]])
        self.study_seed = study_seed
        self.objectives = tuple(objectives)
        self.options = {**self.defaults, **options}

    def losses(self, record: TrialRecord) -> tuple[float, ...] | None:
        """A complete trial's values as numbers to minimize (maximized ones negated), else ``None``."""
        if record.state != COMPLETE or not record.values:
            return None
        return tuple(o.sign * record.values[o.name] for o in self.objectives)

    @staticmethod
    def feasible(record: TrialRecord) -> bool:
        """No constraints, or every one <= 0."""
        return not record.constraints or all(v <= 0 for v in record.constraints.values())

    def check_space(self, space: Space) -> None:
        """Raise ``InvalidInput`` if this sampler cannot work on ``space`` (checked at create)."""

    def suggest(self, space: Space, history: Sequence[TrialRecord], pending: Sequence[TrialRecord],
                seed: int) -> dict:
        raise NotImplementedError
