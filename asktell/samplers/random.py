"""Uniform random search: every active parameter drawn independently."""

from __future__ import annotations

import random
from typing import Sequence

from ..space import Space
from ..trial import TrialRecord
from .base import Sampler


class RandomSampler(Sampler):
    """Needs no history; with the trial-derived seed it is reproducible per trial number."""

    name = "random"
    uses_history = False

    def suggest(self, space: Space, history: Sequence[TrialRecord], pending: Sequence[TrialRecord],
                seed: int) -> dict:
        rng = random.Random(seed)
        return space.build(lambda param, _partial: param.from_unit(rng.random()))
