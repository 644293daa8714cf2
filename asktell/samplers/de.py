"""Asynchronous differential evolution (DE/rand/1/bin or DE/current-to-best/1/bin).

There is no generation barrier, so a slow trial never idles the other
workers: the population is whatever the best ``population`` complete trials
are right now (feasible ones by loss, then infeasible ones by total
violation), and every new trial is a child of it.  Replacement is implicit: a
child enters the population exactly when it finishes among the best.  Until
that many trials are complete, parameters are drawn uniformly.

Pending trials are not in the population (they have no loss); each new trial
gets its own seed, hence its own target, donors and crossover mask, and a
child that decodes to the parameters of an existing trial is drawn again.

Cost: one O(n log n) sort of the complete trials, O(population x d) to encode
the population, O(n) to collect the parameter sets already taken.  No numpy.
"""

from __future__ import annotations

import math
import random
from typing import Sequence

from ..errors import InvalidInput
from ..space import Space
from ..trial import TrialRecord
from .base import Sampler
from .constraints import total_violation
from .options import check_number, check_population
from .unitcube import Point, decode, encode, reflect, uniform, untaken

STRATEGIES = ("rand/1", "current-to-best/1")


class DifferentialEvolutionSampler(Sampler):
    name = "de"
    #: ``population: null`` means 10 + 2 x (number of parameters).
    defaults = {"population": None, "f": 0.8, "cr": 0.9, "strategy": "rand/1"}
    #: Its population is the best complete trials: exact in the window while it is at most ``window.BEST``.
    windowed = True

    def __init__(self, study_seed: int = 0, **options) -> None:
        super().__init__(study_seed, **options)
        opts = self.options
        check_population(opts["population"], 4, "a target and three donors", allow_null=True)
        check_number(opts["f"], "f", 0.0, 2.0, low_open=True)
        check_number(opts["cr"], "cr", 0.0, 1.0)
        if opts["strategy"] not in STRATEGIES:
            raise InvalidInput(f"must be one of {', '.join(STRATEGIES)}", field="sampler.options.strategy",
                               value=opts["strategy"])
        if len(self.objectives) != 1:
            raise InvalidInput("differential evolution optimizes one objective; use the nsga2 sampler for several",
                               field="objectives", value=[o.name for o in self.objectives])

    def population_size(self, space: Space) -> int:
        return self.options["population"] or 10 + 2 * len(space)

    def population(self, space: Space, history: Sequence[TrialRecord]) -> list[TrialRecord]:
        """The best complete trials, best first: feasible by loss, then infeasible by violation."""
        complete = [t for t in history if self.losses(t) is not None]
        complete.sort(key=lambda t: (total_violation(t), self.losses(t)[0], t.number))
        return complete[:self.population_size(space)]

    def suggest(self, space: Space, history: Sequence[TrialRecord], pending: Sequence[TrialRecord],
                seed: int) -> dict:
        rng = random.Random(seed)
        population = self.population(space, history)
        def anywhere() -> dict:
            return uniform(space, rng.random)

        if len(population) < self.population_size(space):
            return untaken([*history, *pending], anywhere)
        members = [encode(space, t.params) for t in population]

        def child() -> dict:
            return decode(space, self.child(members, rng), rng.random)

        return untaken([*history, *pending], child, anywhere)

    def child(self, members: list[Point], rng: random.Random) -> Point:
        """Mutant of a random target crossed with it (binomial), folded back into the unit cube."""
        f, cr = self.options["f"], self.options["cr"]
        target_index = rng.randrange(len(members))
        target = members[target_index]
        r1, r2, r3 = (members[i] for i in rng.sample([i for i in range(len(members)) if i != target_index], 3))
        if self.options["strategy"] == "rand/1":
            mutant = [a + f * (b - c) for a, b, c in zip(r1, r2, r3)]
        else:
            best = members[0]
            mutant = [x + f * (g - x) + f * (a - b) for x, g, a, b in zip(target, best, r1, r2)]
        always = rng.randrange(len(target))  # at least one coordinate comes from the mutant
        return [reflect(m) if not math.isnan(m) and (j == always or rng.random() < cr) else x
                for j, (m, x) in enumerate(zip(mutant, target))]

