"""Quasi-random search: trial ``n`` gets point ``skip + n`` of one scrambled Sobol (or Halton) sequence.

Low-discrepancy points cover the space more evenly than independent draws at
every budget: after ``2**m`` trials of the Sobol sequence each parameter has
had exactly one trial in each of ``2**m`` equal slices of its unit range.
There is one coordinate per parameter of the space, in space order, decoded by
``Param.from_unit``; an inactive conditional parameter's coordinate is simply
unused, so the dimension, and every other coordinate, stays fixed.

**The index is the trial number.**  ``suggest`` is not given it, but every
lower number belongs to a finished or a pending trial, so it is one more than
the largest of theirs (0 in a new study) -- which is why the sampler reads the
history.  Numbers are handed out under the study lock (a draft made before the
lock is made again if the journal moved meanwhile), so two processes never get
the same number, hence never the same point: a study's trials are exactly the
first points of the sequence, however many workers ask at once.  For the same
reason pending trials need no care: consecutive points are already far apart.

**The scramble comes from the study seed**, not from the per-trial seed: all
trials must take their points from one randomized sequence, or they would be
independent draws.

``skip`` (default 0) starts the sequence later.  Dropping point 0 (the lower
corner of every range when unscrambled) is a common habit, but the first
``2**m`` Sobol points are balanced and points 1 to ``2**m`` are not (Owen,
"On dropping the first Sobol' point", 2022); scrambled, point 0 is an ordinary
point.  To skip, skip a multiple of a power of two: every run of ``2**m``
points that starts at a multiple of ``2**m`` is balanced.

On integer, stepped or categorical spaces two points may decode to the same
parameters; they are not drawn again, since the point a trial gets is what
makes the sequence's guarantees hold.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from ..errors import InvalidInput
from ..space import Space
from ..trial import TrialRecord
from .base import Sampler
from .halton import halton_point
from .sobol import MAX_DIMENSIONS, sobol_point
from .unitcube import decode

SEQUENCES = {"sobol": sobol_point, "halton": halton_point}
#: Largest ``skip``: indices stay far below where the generators lose digits (2**52 for Sobol, 2**40 for Halton).
MAX_SKIP = 2**32


def next_trial_number(history: Sequence[TrialRecord], pending: Sequence[TrialRecord]) -> int:
    """The new trial's number: every lower one is finished or pending."""
    return 1 + max((t.number for t in (*history, *pending)), default=-1)


class QMCSampler(Sampler):
    name = "qmc"
    defaults = {"sequence": "sobol", "scramble": True, "skip": 0}
    #: The new trial's number (its point's index) is 1 + the largest among finished and pending
    #: trials, so ``ask`` must load the newest finished ones (the window has them); nothing is learned
    #: from their results.
    uses_history = True
    windowed = True

    def __init__(self, study_seed: int = 0, **options) -> None:
        super().__init__(study_seed, **options)
        opts = self.options
        if opts["sequence"] not in SEQUENCES:
            raise InvalidInput(f"must be one of {', '.join(SEQUENCES)}", field="sampler.options.sequence",
                               value=opts["sequence"])
        if not isinstance(opts["scramble"], bool):
            raise InvalidInput("must be true or false", field="sampler.options.scramble", value=opts["scramble"])
        skip = opts["skip"]
        if isinstance(skip, bool) or not isinstance(skip, int) or not 0 <= skip <= MAX_SKIP:
            raise InvalidInput(f"must be an integer in [0, {MAX_SKIP}]", field="sampler.options.skip", value=skip)

    def check_space(self, space: Space) -> None:
        if self.options["sequence"] == "sobol" and len(space) > MAX_DIMENSIONS:
            raise InvalidInput(f"too many parameters for the sobol sequence (at most {MAX_DIMENSIONS})", field="space",
                               value=len(space), hint="use the halton sequence (--sampler-option sequence=halton)")

    def point(self, index: int, dimensions: int) -> list[float]:
        """Point ``index`` of the study's sequence, in [0, 1) ** ``dimensions``."""
        seed = f"asktell:qmc:{self.study_seed}" if self.options["scramble"] else None
        return SEQUENCES[self.options["sequence"]](index, dimensions, seed)

    def suggest(self, space: Space, history: Sequence[TrialRecord], pending: Sequence[TrialRecord],
                seed: int) -> dict:
        self.check_space(space)
        point = self.point(self.options["skip"] + next_trial_number(history, pending), len(space))
        return decode(space, point, random.Random(seed).random)  # every coordinate is set: nothing is drawn
