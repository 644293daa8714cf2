"""slice: the objective against each parameter, one panel per parameter.

A panel shows only the trials that have its parameter (a conditional one is
absent elsewhere) and says how many that is.  Points are coloured by trial
number, so where the sampler went late in the study shows.
"""

from __future__ import annotations

from typing import Any

from ..space import CategoricalParam
from .figure import jitter, panels, param_axis
from .view import View


def problem(view: View) -> str | None:
    return None if view.scored() else f"no complete trial with a value of {view.objective.name} yet"


def draw(figure: Any, view: View) -> None:
    scored = view.scored()
    params = view.params
    last = max(t.number for t in view.trials)
    for axis, param in zip(panels(figure, len(params)), params):
        having = [t for t in scored if param.name in t.params]
        spread = 0.5 / len(param.choices) if isinstance(param, CategoricalParam) else 0.0
        x = [param.to_unit(t.params[param.name]) + jitter(t.number, spread) for t in having]
        points = axis.scatter(x, [view.value(t) for t in having], c=[t.number for t in having], cmap="viridis",
                              vmin=0, vmax=last, s=16, edgecolors="black", linewidths=0.3)
        param_axis(axis, param)
        axis.set_ylabel(view.label())
        axis.set_title(f"{param.name} ({len(having)} of {len(scored)} trials)", fontsize="medium")
        axis.grid(alpha=0.3)
    figure.colorbar(points, ax=figure.axes, label="trial", shrink=0.8)
    figure.suptitle(f"{view.config.name}: {view.objective.name} against each parameter")
