"""pareto: complete trials in objective space, the non-dominated ones (the front) highlighted.

One panel per pair of objectives.  The front is that of the feasible trials
over every objective; with two objectives it is joined by a staircase.
Infeasible trials are drawn hollow.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from ..importance import ranked_complete
from ..samplers.constraints import total_violation
from .figure import BEST_COLOUR, STATE_COLOURS, panels
from .view import View


def problem(view: View) -> str | None:
    if len(view.config.objectives) < 2:
        return "the study has one objective (pareto needs several)"
    return None if ranked_complete(view.trials, view.config.objectives) else "no complete trial yet"


def draw(figure: Any, view: View) -> None:
    import numpy as np

    from ..samplers.pareto import non_dominated

    objectives = list(view.config.objectives)
    trials = ranked_complete(view.trials, objectives)
    feasible = [t for t in trials if not total_violation(t)]
    signed = np.array([[o.sign * t.values[o.name] for o in objectives] for t in feasible])  # type: ignore[index]
    on_front = non_dominated(signed) if feasible else np.zeros(0, dtype=bool)
    front = [t for t, on in zip(feasible, on_front) if on]
    rest = [t for t, on in zip(feasible, on_front) if not on]
    infeasible = [t for t in trials if total_violation(t)]
    pairs = list(combinations(objectives, 2))
    for axis, (a, b) in zip(panels(figure, len(pairs)), pairs):
        def xy(group):
            return [t.values[a.name] for t in group], [t.values[b.name] for t in group]

        axis.scatter(*xy(rest), s=16, color=STATE_COLOURS["complete"], alpha=0.7, label="dominated")
        if infeasible:
            axis.scatter(*xy(infeasible), s=16, facecolors="none", edgecolors="#999999", label="infeasible")
        if len(objectives) == 2 and front:
            staircase = sorted(front, key=lambda t: a.sign * t.values[a.name])  # type: ignore[index]
            axis.step(*xy(staircase), where="post", color=BEST_COLOUR, linewidth=1.5)
        axis.scatter(*xy(front), s=30, color=BEST_COLOUR, edgecolors="black", linewidths=0.5, zorder=3,
                     label=f"Pareto front ({len(front)})")
        axis.set_xlabel(view.label(a))
        axis.set_ylabel(view.label(b))
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.suptitle(f"{view.config.name}: {len(trials)} complete trials")
