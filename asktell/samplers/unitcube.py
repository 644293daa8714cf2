"""Trials as points of the unit cube, and points back into parameter sets.

Evolutionary samplers recombine trials coordinate by coordinate, one per
parameter of the space, through ``Param.to_unit``/``from_unit``.  A parameter
absent from a trial (its condition did not hold) is ``nan``: the recombination
takes it from another parent, and a child that activates a parameter none of
its parents had draws it uniformly.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

from ..space import Space
from ..trial import TrialRecord
from .grid import cell_key

Point = list[float]


def encode(space: Space, params: dict) -> Point:
    """One coordinate per parameter of ``space``, ``nan`` where the parameter is absent."""
    return [param.to_unit(params[param.name]) if param.name in params else math.nan for param in space]


def decode(space: Space, point: Sequence[float], draw_uniform: Callable[[], float]) -> dict:
    """The parameter set at ``point``: active parameters only, ``nan`` ones drawn uniformly."""
    index = {name: i for i, name in enumerate(space.params)}

    def value_for(param, _partial):
        u = point[index[param.name]]
        return param.from_unit(draw_uniform() if math.isnan(u) else u)

    return space.build(value_for)


def uniform(space: Space, draw_uniform: Callable[[], float]) -> dict:
    """A parameter set drawn uniformly in the unit cube (every coordinate missing)."""
    return decode(space, [math.nan] * len(space), draw_uniform)


def reflect(u: float) -> float:
    """Fold a coordinate that left [0, 1] back in, as a mirror at each face would."""
    if math.isnan(u):
        return u
    u = abs(u) % 2.0
    return 2.0 - u if u > 1.0 else u


def nearest_distance(point: Sequence[float], others: Sequence[Sequence[float]]) -> float:
    """Euclidean distance to the nearest of ``others``, over the coordinates both have (inf if none)."""
    nearest = math.inf
    for other in others:
        shared = [(a - b) ** 2 for a, b in zip(point, other) if not (math.isnan(a) or math.isnan(b))]
        if shared:
            nearest = min(nearest, math.sqrt(sum(shared)))
    return nearest


def categorical_mask(space: Space) -> list[bool]:
    """Which coordinates are categorical: their unit value has no order to interpolate."""
    return [param.kind == "categorical" for param in space]


def untaken(trials: Iterable[TrialRecord], *proposers: Callable[[], dict], tries: int = 20) -> dict:
    """The first proposal that no trial (finished or pending) already has, else the last one made.

    Each proposer gets ``tries`` attempts in turn.  On integer, stepped or
    categorical spaces children often decode to a parameter set already taken,
    and a repeat spends a whole trial to learn nothing; a uniform proposer
    last reaches free cells the population cannot.
    """
    taken = {cell_key(t.params) for t in trials}
    for propose in proposers:
        for _ in range(tries):
            params = propose()
            if cell_key(params) not in taken:
                return params
    return params
