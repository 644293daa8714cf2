"""contour: the objective over pairs of parameters, one panel per pair.

The surface is interpolated linearly between the trials (a Delaunay
triangulation, matplotlib's own: no scipy) in unit coordinates, so log
scales and integers need no special case; the trials are drawn on it.  A
panel holds only the trials that have both its parameters.  With a
categorical parameter, or too few distinct points to triangulate, there is
no surface to trust and the panel shows the points alone, coloured.

Without ``--params`` the pairs come from the ``DEFAULT_PARAMS`` most important
parameters (``asktell.importance``), the most useful pictures first.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from ..importance import importances
from ..space import CategoricalParam, Param
from .figure import BETTER_MAPS, jitter, panels, param_axis
from .view import View

DEFAULT_PARAMS = 3
#: A surface needs at least this many distinct points.
MIN_SURFACE_POINTS = 4


def problem(view: View) -> str | None:
    if len(view.params) < 2:
        return "it needs at least two parameters"
    return None if view.scored() else f"no complete trial with a value of {view.objective.name} yet"


def draw(figure: Any, view: View) -> None:
    scored = view.scored()
    params = view.params if view.chosen_params else _most_important(view)
    pairs = list(combinations(params, 2))
    values = [view.value(t) for t in scored]
    norm = {"vmin": min(values), "vmax": max(values), "cmap": BETTER_MAPS[view.objective.direction]}
    for axis, (x_param, y_param) in zip(panels(figure, len(pairs)), pairs):
        having = [t for t in scored if x_param.name in t.params and y_param.name in t.params]
        xs = [_coordinate(x_param, t.params[x_param.name], t.number) for t in having]
        ys = [_coordinate(y_param, t.params[y_param.name], t.number) for t in having]
        zs = [view.value(t) for t in having]
        if _surface_possible(x_param, y_param, xs, ys):
            axis.tricontourf(xs, ys, zs, levels=12, alpha=0.85, **norm)
        points = axis.scatter(xs, ys, c=zs, s=16, edgecolors="black", linewidths=0.5, **norm)
        param_axis(axis, x_param, "x")
        param_axis(axis, y_param, "y")
        axis.set_title(f"{x_param.name} \u00d7 {y_param.name} ({len(having)} trials)", fontsize="medium")
    figure.colorbar(points, ax=figure.axes, label=view.label(), shrink=0.8)
    figure.suptitle(f"{view.config.name}: {view.objective.name} over pairs of parameters")


def _most_important(view: View) -> list[Param]:
    shares = importances(view.config.space, view.trials, [view.objective])
    return [view.config.space.params[name] for name in list(shares)[:DEFAULT_PARAMS]]


def _coordinate(param: Param, value: Any, number: int) -> float:
    spread = 0.5 / len(param.choices) if isinstance(param, CategoricalParam) else 0.0
    return param.to_unit(value) + jitter(number, spread)


def _surface_possible(x_param: Param, y_param: Param, xs: list[float], ys: list[float]) -> bool:
    """Numeric parameters and enough distinct points, not all on one line."""
    if isinstance(x_param, CategoricalParam) or isinstance(y_param, CategoricalParam):
        return False
    points = set(zip(xs, ys))
    if len(points) < MIN_SURFACE_POINTS:
        return False
    (x0, y0), (x1, y1) = sorted(points)[0], sorted(points)[-1]
    return any(abs((x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)) > 1e-9 for x, y in points)
