"""importance: each parameter's share of the importance (PED-ANOVA, ``asktell.importance``).

With several objectives and no ``--objective``, it is the importance of
reaching the Pareto front; otherwise of doing well on the one objective.
"""

from __future__ import annotations

from typing import Any

from ..importance import TARGET_QUANTILE, importances, ranked_complete
from .figure import STATE_COLOURS
from .view import View


def _objectives(view: View) -> list:
    return [view.chosen] if view.chosen else list(view.config.objectives)


def problem(view: View) -> str | None:
    count = len(ranked_complete(view.trials, _objectives(view)))
    return None if count >= 2 else f"it needs at least 2 complete trials (the study has {count})"


def draw(figure: Any, view: View) -> None:
    objectives = _objectives(view)
    shares = importances(view.config.space, view.trials, objectives, view.params)
    names = list(shares)[::-1]  # barh draws bottom-up: the most important on top
    figure.set_size_inches(7.0, max(3.0, 1.2 + 0.4 * len(names)))
    axis = figure.subplots()
    bars = axis.barh(names, [shares[n] for n in names], color=STATE_COLOURS["complete"])
    axis.bar_label(bars, labels=[f"{shares[n]:.0%}" for n in names], padding=3, fontsize="small")
    axis.set_xlim(0, max(1.0, max(shares.values()) * 1.15))
    axis.set_xlabel("share of importance")
    goal = objectives[0].name if len(objectives) == 1 else "the Pareto front"
    count = len(ranked_complete(view.trials, objectives))
    axis.set_title(f"{view.config.name}: what decides the top {TARGET_QUANTILE:.0%} for {goal} "
                   f"(PED-ANOVA, {count} trials)", fontsize="medium")
    axis.grid(axis="x", alpha=0.3)
