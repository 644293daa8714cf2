"""intermediate: learning curves, the values trials reported step by step, one panel per metric.

Each curve is coloured by its trial's state; a pruned trial's curve ends in a
cross, where it was stopped.  ``--objective`` keeps the panel of that
objective's metric (reports usually use the objective's name).
"""

from __future__ import annotations

from typing import Any

from ..trial import PRUNED, STATES
from .figure import STATE_COLOURS, panels
from .view import View


def metrics(view: View) -> list[str]:
    """The metrics to draw: every reported one in first-seen order, or the chosen objective's."""
    seen: dict[str, None] = {}
    for trial in view.trials:
        for name in trial.intermediate or {}:
            seen.setdefault(name)
    return [view.chosen.name] if view.chosen and view.chosen.name in seen else list(seen)


def problem(view: View) -> str | None:
    reported = metrics(view)
    if not reported:
        return "no trial reported an intermediate value"
    if view.chosen and view.chosen.name not in reported:
        return f"no trial reported {view.chosen.name} (reported: {', '.join(reported)})"
    return None


def draw(figure: Any, view: View) -> None:
    from matplotlib.collections import LineCollection
    from matplotlib.ticker import MaxNLocator

    names = metrics(view)
    for axis, name in zip(panels(figure, len(names), columns=2), names):
        curves = [t for t in view.trials if t.intermediate and name in t.intermediate]
        for state in STATES:  # one collection per state: thousands of curves draw as fast as a few
            of_state = [sorted(t.intermediate[name].items()) for t in curves if t.state == state]  # type: ignore
            if not of_state:
                continue
            colour = STATE_COLOURS[state]
            axis.add_collection(LineCollection(of_state, colors=colour, linewidths=1.2, alpha=0.75,
                                               label=f"{state} ({len(of_state)})"))
            if state == PRUNED:  # where each pruned trial was stopped
                axis.scatter([c[-1][0] for c in of_state], [c[-1][1] for c in of_state], marker="x", s=40,
                             color=colour, zorder=3)
        axis.autoscale_view()
        axis.legend(fontsize="small", loc="upper right")
        axis.set_xlabel("step")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel(name)
        axis.set_title(f"{name}: {len(curves)} trials", fontsize="medium")
        axis.grid(alpha=0.3)
    figure.suptitle(f"{view.config.name}: intermediate values")
