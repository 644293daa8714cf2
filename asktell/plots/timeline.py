"""timeline: every trial as a bar from its ask to its tell, in lanes per host; gaps are idle workers.

A study records the host of each ask but not which worker on it: every
``asktell ask`` is a new process, so its pid names no worker.  The lanes are
therefore reconstructed: on each host a trial takes the first lane free when
it was asked (interval partitioning), so a host gets as many lanes as it ran
trials at once, and a gap in a lane is a worker that had nothing to run --
or a pipeline that spent the time between a tell and its next ask.
Running trials reach up to now.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..trial import STATES, TrialRecord, parse_iso
from .figure import STATE_COLOURS
from .view import View

#: The time axis's unit: the first whose span stays under its limit (seconds).
UNITS = (("s", 1.0, 600.0), ("min", 60.0, 5 * 3600.0), ("h", 3600.0, 7 * 86400.0), ("days", 86400.0, float("inf")))


def problem(view: View) -> str | None:
    return None if view.trials else "the study has no trial yet"


def lanes(trials: list[TrialRecord], now: float) -> dict[tuple[str, int], list[tuple[TrialRecord, float, float]]]:
    """(host, lane) -> its trials with start and end times; a trial takes its host's first free lane."""
    ends: dict[str, list[float]] = defaultdict(list)
    placed: dict[tuple[str, int], list] = defaultdict(list)
    for trial in sorted(trials, key=lambda t: (parse_iso(t.asked_at), t.number)):
        start = parse_iso(trial.asked_at)
        end = max(start, parse_iso(trial.told_at) if trial.told_at else now)
        host = trial.host or "unknown host"
        free = next((i for i, busy_until in enumerate(ends[host]) if busy_until <= start), len(ends[host]))
        if free == len(ends[host]):
            ends[host].append(end)
        ends[host][free] = end
        placed[(host, free)].append((trial, start, end))
    return dict(sorted(placed.items()))


def draw(figure: Any, view: View) -> None:
    from matplotlib.patches import Patch

    placed = lanes(view.trials, view.now)
    origin = min(start for bars in placed.values() for _, start, _ in bars)
    span = max(end for bars in placed.values() for _, _, end in bars) - origin
    unit, scale, _ = next(u for u in UNITS if span < u[2])
    figure.set_size_inches(8.0, max(3.0, 1.4 + 0.35 * len(placed)))
    axis = figure.subplots()
    for row, bars in enumerate(placed.values()):
        # A bar is at least a thousandth of the span wide, so instant trials still show.
        widths = [max(end - start, span / 1000) / scale for _, start, end in bars]
        axis.broken_barh(list(zip([(start - origin) / scale for _, start, _ in bars], widths)), (row - 0.4, 0.8),
                         facecolors=[STATE_COLOURS[t.state] for t, _, _ in bars], edgecolor="white", linewidth=0.3)
    axis.set_yticks(range(len(placed)), [f"{host} #{lane + 1}" for host, lane in placed])
    axis.invert_yaxis()
    axis.set_xlabel(f"time since the first ask ({unit})")
    counts = {state: sum(t.state == state for t in view.trials) for state in STATES}
    axis.legend(handles=[Patch(color=STATE_COLOURS[s], label=f"{s} ({n})") for s, n in counts.items() if n],
                fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axis.grid(axis="x", alpha=0.3)
    plural = "s" if len(placed) != 1 else ""
    axis.set_title(f"{view.config.name}: {len(view.trials)} trials, {len(placed)} worker lane{plural}")
