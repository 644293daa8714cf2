"""The study the sampler cost benches time ``suggest`` on: random trials, every tenth failed, 8 running."""

from __future__ import annotations

import random

from asktell.config import Objective
from asktell.samplers import derive_seed, make_sampler
from asktell.space import Space
from asktell.trial import COMPLETE, FAILED, TrialRecord

LOSS = (Objective("loss", "minimize"),)
AT = "2024-01-01T00:00:00.000Z"


def random_history(space: Space, size: int) -> tuple[list[TrialRecord], list[TrialRecord]]:
    """``size`` finished trials as the random sampler hands them out (seeded), and 8 running ones."""
    draw = make_sampler("random", {}, 0, LOSS)
    values = random.Random(0)
    history = []
    for number in range(size):
        params = draw.suggest(space, [], [], derive_seed(0, number))
        if number % 10 == 9:
            history.append(TrialRecord(number, params, AT, state=FAILED))
        else:
            history.append(TrialRecord(number, params, AT, state=COMPLETE, values={"loss": values.random()}))
    running = [TrialRecord(size + k, draw.suggest(space, [], [], derive_seed(0, size + k)), AT) for k in range(8)]
    return history, running
