"""history: every trial's value by trial number, and the best value so far.

Only feasible complete trials can be best; infeasible ones are drawn hollow.
Pruned trials told with a value (their last intermediate one) are drawn too,
as crosses: they stopped early, so their value is not comparable.
"""

from __future__ import annotations

from typing import Any

from ..samplers.constraints import total_violation
from ..trial import COMPLETE, PRUNED
from .figure import BEST_COLOUR, STATE_COLOURS
from .view import View


def problem(view: View) -> str | None:
    return None if view.scored() else f"no complete trial with a value of {view.objective.name} yet"


def draw(figure: Any, view: View) -> None:
    axis = figure.subplots()
    objective = view.objective
    complete = view.scored()
    feasible = [t for t in complete if not total_violation(t)]
    infeasible = [t for t in complete if total_violation(t)]
    axis.scatter([t.number for t in feasible], [view.value(t) for t in feasible], s=18,
                 color=STATE_COLOURS[COMPLETE], label=COMPLETE, zorder=3)
    if infeasible:
        axis.scatter([t.number for t in infeasible], [view.value(t) for t in infeasible], s=18, facecolors="none",
                     edgecolors=STATE_COLOURS[COMPLETE], label="complete, infeasible", zorder=3)
    pruned = [t for t in view.trials if t.state == PRUNED and t.values and objective.name in t.values]
    if pruned:
        axis.scatter([t.number for t in pruned], [view.value(t) for t in pruned], marker="x", s=22,
                     color=STATE_COLOURS[PRUNED], label=PRUNED, zorder=3)
    if feasible:
        best, steps, bests = None, [], []
        for t in feasible:
            value = view.value(t)
            if best is None or objective.sign * value < objective.sign * best:
                best = value
            steps.append(t.number)
            bests.append(best)
        steps.append(view.trials[-1].number)
        bests.append(best)
        axis.step(steps, bests, where="post", color=BEST_COLOUR, linewidth=2.2, label="best so far", zorder=4)
    axis.set_xlabel("trial")
    axis.set_ylabel(view.label())
    axis.set_title(f"{view.config.name}: {objective.name} of {len(complete)} complete trials")
    axis.grid(alpha=0.3)
    axis.legend(loc="upper right", fontsize="small")
