"""CMA-ES, rebuilt at every ask by replaying the finished trials, with IPOP restarts.

Nothing is stored between asks.  The finished trials, in trial order, form
the generations: the first ``population`` of them are generation 1, the next
``population`` generation 2, and so on; a generation is ranked (feasible trials
by loss, then infeasible ones by total violation, then failed and pruned
ones) and told to the distributions of ``cma``.  The trials left over, too
few for a generation, wait for the next.  A suggestion is a draw from the
distribution this replay ends with, made with the trial's seed.  So the state
is a pure function of the history: the same study folder gives the same
suggestion in any process, and a sequential study runs exactly the textbook
algorithm.  With trials running concurrently, a generation may hold trials
drawn from an earlier distribution; their steps are told as they are (the
parameters actually tried, as Optuna's sampler tells them), clipped to a
plausible length (``cma``), instead of being thrown away.

Running trials are not told; each draws from the same distribution with its
own seed, so a batch differs and spreads as the distribution does.  A draw
that repeats an existing trial's parameters (integer or categorical spaces)
is drawn again, then uniformly (``unitcube.untaken``).

What is modelled: every always-active numeric parameter is a coordinate of
the unit cube (``Param.to_unit``; log scales included, integers and steps
snapped on decode, with the margin of ``cma`` keeping their spread above the
grid) and samples leaving the cube are reflected back in; every always-active
categorical parameter gets a categorical distribution.  Conditional
parameters are drawn uniformly (warned once, when the study is created).

Restarts (``restart: ipop``): a run ends when its best has not improved for
``10 + 30 d / population`` generations, when it spreads less than ``TOL_X``
along every continuous coordinate, or when C's condition number passes
``MAX_CONDITION``.  The next run starts at a uniform point drawn from the study
seed and the restart's number, with twice the population, sigma0 and fresh
distributions; since the decisions are made during the replay, every process
makes the same ones.

Cost: one pass over the history to encode and rank it, then one update per
generation (an eigendecomposition of a d x d matrix): O(n d^2 + (n / population) d^3).
"""

from __future__ import annotations

import math
import random
import sys
from typing import Any, Sequence

import numpy as np

from ..errors import InvalidInput
from ..space import Space
from ..trial import TrialRecord
from .base import Sampler
from .cma import Categorical, Gaussian, escape_margin
from .constraints import total_violation
from .options import check_number, check_population
from .random import RandomSampler
from .unitcube import decode, encode, reflect, uniform, untaken

#: A run has converged when it spreads less than this (in the unit cube) along every continuous coordinate.
TOL_X = 1e-8
#: ... or when C is this ill-conditioned.
MAX_CONDITION = 1e14
RESTARTS = ("ipop", "none")
#: Rank key of a failed or pruned trial: after every complete one.
_UNRANKED = (1, 0.0, 0.0)


class Model:
    """Which parameters of a space CMA-ES models, and trials as arrays over them."""

    def __init__(self, space: Space) -> None:
        params = list(space)
        varies = [p.from_unit(0.0) != p.from_unit(1.0) for p in params]
        self.numeric = [j for j, p in enumerate(params) if varies[j] and not p.when and p.kind != "categorical"]
        self.categorical = [j for j, p in enumerate(params) if varies[j] and not p.when and p.kind == "categorical"]
        self.sizes = [len(params[j].choices) for j in self.categorical]
        self.cell_widths = np.array([_cell_width(params[j]) for j in self.numeric])
        self.dimensions = len(self.numeric) + len(self.categorical)
        self.width = len(params)

    def encode(self, space: Space, trials: Sequence[TrialRecord]) -> tuple[np.ndarray, np.ndarray]:
        """(numeric unit coordinates, categorical choice indices), one row per trial."""
        points = np.array([encode(space, t.params) for t in trials], dtype=float).reshape(len(trials), self.width)
        choices = np.floor(points[:, self.categorical] * self.sizes).astype(int)
        return points[:, self.numeric], np.minimum(choices, np.array(self.sizes, dtype=int) - 1)

    def decode(self, space: Space, x: np.ndarray, choices: Sequence[int], draw_uniform) -> dict:
        """The parameter set at unit point ``x`` (reflected into the cube) with these choices."""
        point = [math.nan] * self.width
        for j, u in zip(self.numeric, x):
            point[j] = reflect(float(u))
        for j, c, k in zip(self.categorical, choices, self.sizes):
            point[j] = (c + 0.5) / k
        return decode(space, point, draw_uniform)


def _cell_width(param) -> float:
    """Width in the unit cube of the narrowest grid cell of an integer or stepped parameter; 0 if continuous."""
    if param.kind == "float" and param.step is None:
        return 0.0
    top = param.from_unit(1.0)  # on a log scale the top cell is the narrowest
    return param.to_unit(top) - param.to_unit(top - param.step)


class Run:
    """One CMA-ES run within the replay: its population, distributions and progress."""

    def __init__(self, model: Model, number: int, population: int, mean: np.ndarray, sigma: float) -> None:
        self.number, self.population = number, population
        margins = [escape_margin(w, model.dimensions, population) if w else 0.0 for w in model.cell_widths]
        self.gaussian = Gaussian(mean, sigma, population, np.array(margins)) if model.numeric else None
        self.categorical = Categorical(model.sizes) if model.categorical else None
        self.best: tuple | None = None
        self.stalled = 0
        #: Generations without a new best after which the run is over.
        self.patience = 10 + math.ceil(30 * model.dimensions / population)

    def tell(self, x: np.ndarray, choices: np.ndarray, keys: list[tuple]) -> None:
        """One generation, in any order; ``keys`` rank it (lower is better)."""
        order = sorted(range(len(keys)), key=keys.__getitem__)
        if self.gaussian:
            self.gaussian.tell(x[order])
        if self.categorical:
            self.categorical.tell(choices[order])
        best = keys[order[0]]
        self.stalled = 0 if self.best is None or best < self.best else self.stalled + 1
        self.best = best if self.best is None else min(self.best, best)

    def converged(self) -> bool:
        if self.stalled >= self.patience:
            return True
        if not self.gaussian:
            return False
        continuous = self.gaussian.min_std == 0
        return bool((continuous.any() and np.all(self.gaussian.spread()[continuous] < TOL_X))
                    or self.gaussian.condition() > MAX_CONDITION)

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, list[int]]:
        x = self.gaussian.sample(rng) if self.gaussian else np.zeros(0)
        return x, self.categorical.sample(rng) if self.categorical else []


class CmaEsSampler(Sampler):
    name = "cmaes"
    #: ``population: null`` means 4 + floor(3 ln d) for d modelled parameters; ``sigma0`` is in units of each range.
    defaults = {"sigma0": 1 / 6, "population": None, "restart": "ipop", "n_startup": 0}

    def __init__(self, study_seed: int = 0, **options: Any) -> None:
        super().__init__(study_seed, **options)
        o = self.options
        check_number(o["sigma0"], "sigma0", 0.0, 1.0, low_open=True)
        check_population(o["population"], 2, "a generation ranks at least two trials", allow_null=True)
        if o["restart"] not in RESTARTS:
            raise InvalidInput("must be ipop or none", field="sampler.options.restart", value=o["restart"])
        n = o["n_startup"]
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InvalidInput("must be an integer >= 0", field="sampler.options.n_startup", value=n)
        if len(self.objectives) != 1:
            raise InvalidInput("CMA-ES optimizes one objective; use the nsga2 or tpe sampler for several",
                               field="objectives", value=[o.name for o in self.objectives])

    def check_space(self, space: Space) -> None:
        """Not an error, but said once: conditional parameters get no model."""
        conditional = [p.name for p in space if p.when]
        if conditional:
            print(f"asktell: warning: the cmaes sampler draws conditional parameters uniformly "
                  f"({', '.join(conditional)}); it models only the parameters that are always active",
                  file=sys.stderr)

    def suggest(self, space: Space, history: Sequence[TrialRecord], pending: Sequence[TrialRecord],
                seed: int) -> dict:
        if sum(self.losses(t) is not None for t in history) < self.options["n_startup"]:
            return RandomSampler(self.study_seed).suggest(space, history, pending, seed)
        rng = np.random.default_rng(seed)
        model = Model(space)
        run = self.replay(space, history, model)

        def draw() -> dict:
            x, choices = run.sample(rng)
            return model.decode(space, x, choices, rng.random)

        return untaken([*history, *pending], draw, lambda: uniform(space, rng.random))

    def replay(self, space: Space, history: Sequence[TrialRecord], model: Model | None = None) -> Run:
        """The run, and its distributions, after telling the finished trials generation by generation."""
        model = model or Model(space)
        keys = [self.rank_key(t) for t in history]
        x, choices = model.encode(space, history)
        start = self.start_up_length(history)
        population = self.population_size(model)
        best_start = min(range(start), key=keys.__getitem__, default=None)
        mean = np.full(len(model.numeric), 0.5) if best_start is None else x[best_start]
        run = Run(model, 0, population, mean, self.options["sigma0"])
        while start + run.population <= len(history):
            end = start + run.population
            run.tell(x[start:end], choices[start:end], keys[start:end])
            start = end
            if self.options["restart"] == "ipop" and run.converged():
                run = Run(model, run.number + 1, 2 * run.population, self.restart_point(run.number + 1, model),
                          self.options["sigma0"])
        return run

    def population_size(self, model: Model) -> int:
        """Of the first run: the option, else 4 + floor(3 ln d) (eq. 48)."""
        return self.options["population"] or 4 + math.floor(3 * math.log(max(model.dimensions, 1)))

    def start_up_length(self, history: Sequence[TrialRecord]) -> int:
        """How many finished trials (from the start) are the ``n_startup`` uniform ones, and those among them."""
        needed = self.options["n_startup"]
        if needed == 0:
            return 0
        complete = 0
        for i, t in enumerate(history):
            complete += self.losses(t) is not None
            if complete == needed:
                return i + 1
        return len(history)

    def restart_point(self, number: int, model: Model) -> np.ndarray:
        """The mean of restart ``number``: uniform in the cube, from the study seed alone."""
        draw = random.Random(f"asktell:cmaes:{self.study_seed}:restart:{number}")
        return np.array([draw.random() for _ in model.numeric])

    def rank_key(self, record: TrialRecord) -> tuple:
        """Lower is better: feasible by loss, infeasible by total violation, then failed and pruned."""
        losses = self.losses(record)
        if losses is None or not math.isfinite(losses[0]):
            return _UNRANKED
        violation = total_violation(record)
        return (0, violation, 0.0 if violation > 0 else losses[0])
