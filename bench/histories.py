"""The study the sampler cost benches time ``suggest`` on (random trials, every tenth failed, 8 running), and how they time it."""

from __future__ import annotations

import random
import statistics
import time
from typing import Callable

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


def median_ms(call: Callable[[int], object], calls: int) -> float:
    """The median wall time of ``call(0)``, ..., ``call(calls - 1)``, in ms, after a ``call(0)`` that warms caches."""
    call(0)
    times = []
    for seed in range(calls):
        start = time.perf_counter()
        call(seed)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000
