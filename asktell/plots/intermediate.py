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
    from matplotlib.ticker import MaxNLocator

    names = metrics(view)
    for axis, name in zip(panels(figure, len(names), columns=2), names):
        curves = [t for t in view.trials if t.intermediate and name in t.intermediate]
        for trial in curves:
            steps = sorted(trial.intermediate[name])  # type: ignore[index]
            values = [trial.intermediate[name][s] for s in steps]  # type: ignore[index]
            colour = STATE_COLOURS[trial.state]
            axis.plot(steps, values, color=colour, linewidth=1.2, alpha=0.75)
            if trial.state == PRUNED:
                axis.plot(steps[-1:], values[-1:], marker="x", markersize=7, color=colour)
        shown = [s for s in STATES if any(t.state == s for t in curves)]
        for state in shown:
            axis.plot([], [], color=STATE_COLOURS[state], marker="x" if state == PRUNED else None,
                      label=f"{state} ({sum(t.state == state for t in curves)})")
        axis.legend(fontsize="small")
        axis.set_xlabel("step")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel(name)
        axis.set_title(f"{name}: {len(curves)} trials", fontsize="medium")
        axis.grid(alpha=0.3)
    figure.suptitle(f"{view.config.name}: intermediate values")
