"""The finished trials that models and pruners read once a study is large: the best and the newest.

TPE learns from the best trials (its good group holds at most 25) and from
the newest 1,000 others; GP from the best 100 and the newest 100; a pruner
compares a trial with others at the same step.  Past a thousand finished
trials the older ones add cost but little information, so these read a
*window*: the ``BEST`` best complete trials of each objective plus the
``NEWEST`` highest-numbered finished trials.  Below ``NEWEST`` finished
trials the window is the whole history, so small studies behave exactly as
before the window existed.

The window is a function of the study's trials alone, not of when the cache
was written, so a suggestion does not depend on which process compacted
last.  It can be kept incrementally: a trial among the best (or the newest)
now was among them at any earlier moment it was already finished -- fewer
trials competed then -- so the window a snapshot stored, plus the trials
finished since, always contains the current window.
"""

from __future__ import annotations

import heapq
from typing import Sequence

from .config import Objective
from .trial import COMPLETE, TrialRecord

#: Complete trials kept per objective, best first (ties: lower trial number).
BEST = 100
#: Finished trials kept by number, newest first: TPE's good group (at most 25) plus the newest 1,000
#: others it models as bad (``tpe.MAX_GOOD + tpe.MAX_BAD``), so that without constraints TPE suggests
#: from the window exactly what it would from every trial.
NEWEST = 1025


def window(finished: Sequence[TrialRecord], objectives: Sequence[Objective], best: int = BEST,
           newest: int = NEWEST) -> list[TrialRecord]:
    """The window of ``finished`` (finished trials in number order), in number order."""
    if len(finished) <= newest:
        return list(finished)
    kept = {t.number for t in finished[-newest:]}
    for objective in objectives:
        name, sign = objective.name, objective.sign
        scored = [t for t in finished if t.state == COMPLETE and t.values and name in t.values]
        kept.update(t.number for t in heapq.nsmallest(best, scored, key=lambda t: (sign * t.values[name], t.number)))
    return [t for t in finished if t.number in kept]
