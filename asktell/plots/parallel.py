"""parallel-coordinates: each complete trial a line through the objective's axis and one axis per parameter.

Lines are coloured by the objective, the best bright yellow and drawn on
top.  A parameter absent from a trial (its condition did not hold) is
drawn at an "inactive" mark below its axis, so the line stays whole and the
absence shows.
"""

from __future__ import annotations

from typing import Any

from .figure import BETTER_MAPS, INACTIVE, unit_ticks
from .view import View


def problem(view: View) -> str | None:
    return None if view.scored() else f"no complete trial with a value of {view.objective.name} yet"


def draw(figure: Any, view: View) -> None:
    from matplotlib.collections import LineCollection

    objective = view.objective
    params = view.params
    scored = sorted(view.scored(), key=lambda t: -objective.sign * view.value(t))  # worst first: best on top
    values = [view.value(t) for t in scored]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    figure.set_size_inches(max(6.0, 1.6 * (len(params) + 1)), 4.8)
    axis = figure.subplots()
    lines = []
    for trial, value in zip(scored, values):
        ys = [(value - low) / span] + [param.to_unit(trial.params[param.name]) if param.name in trial.params
                                       else INACTIVE for param in params]
        lines.append(list(enumerate(ys)))
    collection = LineCollection(lines, array=values, cmap=BETTER_MAPS[objective.direction], linewidths=1.2,
                                alpha=0.8)
    axis.add_collection(collection)
    figure.colorbar(collection, ax=axis, label=view.label())
    labels = [(0.0, f"{low:.4g}"), (1.0, f"{high:.4g}")]
    _label_axis(axis, 0, labels)
    for x, param in enumerate(params, start=1):
        positions, texts = unit_ticks(param)
        marks = list(zip(positions, texts))
        if any(param.name not in t.params for t in scored):
            marks.append((INACTIVE, "inactive"))
        _label_axis(axis, x, marks)
    axis.set_xticks(range(len(params) + 1), [objective.name, *(p.name for p in params)])
    axis.set_xlim(-0.3, len(params) + 0.3)
    axis.set_ylim(INACTIVE - 0.08, 1.05)
    axis.set_yticks([])
    for side in ("left", "right", "top"):
        axis.spines[side].set_visible(False)
    axis.set_title(f"{view.config.name}: {len(scored)} complete trials")


def _label_axis(axis: Any, x: int, marks: list[tuple[float, str]]) -> None:
    """A vertical axis line at ``x`` with its tick labels written beside it."""
    axis.axvline(x, color="#444444", linewidth=0.8, zorder=0)
    for y, text in marks:
        axis.text(x + 0.04, y, text, fontsize="x-small", va="center", ha="left",
                  color="#777777" if y == INACTIVE else "#222222",
                  bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 0.5})
