"""Large studies in seconds: journal events written with ``Study.append``, not one call per event."""

from __future__ import annotations

import random

from asktell import Study
from asktell.trial import LIVE

AT = "2024-01-01T00:00:00.000Z"


def trial_events(number: int, params: dict, rng: random.Random, steps: int, objectives: tuple[str, ...],
                 state: str = "complete") -> list[dict]:
    """What a training loop leaves for one trial: asked, a report per step, told (values only if complete)."""
    events = [{"event": "asked", "at": AT, "trial": number, "params": params, "host": "bulk", "pid": 1}]
    events += [{"event": "reported", "at": AT, "trial": number, "step": step,
                "values": {objectives[0]: rng.random()}, "host": "bulk", "pid": 1} for step in range(steps)]
    told = {"event": "told", "at": AT, "trial": number, "state": state, "host": "bulk", "pid": 1}
    if state == "complete":
        told["values"] = {name: rng.random() for name in objectives}
    return events + [told]


def add_trials(study: Study, count: int, seed: int = 0, steps: int = 3) -> None:
    """``count`` finished trials (every tenth pruned, every seventeenth failed) with random parameters."""
    from asktell.samplers import make_sampler

    rng = random.Random(seed)
    draw = make_sampler("random", {}, seed, study.config.objectives)
    objectives = tuple(o.name for o in study.config.objectives)
    first = study.history(LIVE).next_number
    events: list[dict] = []
    for number in range(first, first + count):
        state = "pruned" if number % 10 == 9 else "failed" if number % 17 == 16 else "complete"
        params = draw.suggest(study.config.space, [], [], rng.getrandbits(32))
        events += trial_events(number, params, rng, steps, objectives, state)
    study.append(events)
