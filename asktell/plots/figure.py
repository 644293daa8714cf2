"""matplotlib behind one door: the import, the figure, the colours, the axes of parameters, the file.

matplotlib is an optional extra (``pip install 'asktell[plots]'``), imported
here only, when a picture is drawn.  Figures are made with
``matplotlib.figure.Figure``, never ``pyplot``: no global state, no GUI
backend, and half of pyplot's import time (0.3 s instead of 0.5 s here).

Parameters are placed on an axis by their unit coordinate (``Param.to_unit``),
the one the samplers use: a log-scale parameter is spread evenly in its log,
an integer or stepped value sits in the middle of its cell, a categorical
choice in the middle of its slot, and ticks carry the real values.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..errors import AsktellError, InvalidInput
from ..fileio import write_atomic
from ..importance import cell_count
from ..space import CategoricalParam, Param, format_scalar
from ..trial import COMPLETE, FAILED, PRUNED, RUNNING

#: One colour per trial state, the same in every plot.
STATE_COLOURS = {COMPLETE: "#1f77b4", PRUNED: "#ff7f0e", FAILED: "#d62728", RUNNING: "#7f7f7f"}
#: The best trials: the best-so-far line, the Pareto front.
BEST_COLOUR = "#2ca02c"
#: Colour maps by direction: the best values are always the bright (yellow) end.
BETTER_MAPS = {"minimize": "viridis_r", "maximize": "viridis"}
#: Where a parameter absent from a trial is drawn, below its axis (parallel coordinates).
INACTIVE = -0.12
FORMATS = ("png", "svg")
#: An integer or stepped parameter with at most this many values gets a tick for each.
MAX_TICKS = 10
#: Pixels per inch of a PNG; figures are sized in inches.
DPI = 100


class MissingExtra(AsktellError):
    """The plots need matplotlib, which the plain install does not bring."""


def new_figure(width: float = 7.0, height: float = 4.5) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtra("plots need matplotlib, which is not installed",
                           hint="install the plots extra: pip install 'asktell[plots]'") from None
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def panels(figure: Any, count: int, columns: int = 3) -> list:
    """``count`` axes in a grid of at most ``columns`` columns; the figure grows to hold them."""
    columns = min(columns, count)
    rows = -(-count // columns)
    figure.set_size_inches(max(4.0 * columns, 6.0), 3.4 * rows + 0.6)
    grid = figure.subplots(rows, columns, squeeze=False)
    for extra in grid.flat[count:]:
        extra.set_visible(False)
    return list(grid.flat[:count])


def image_bytes(figure: Any, fmt: str) -> bytes:
    """The figure as PNG or SVG.  SVG keeps text as text (searchable, small) and is byte-for-byte repeatable."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "asktell"}):
        figure.savefig(buffer, format=fmt, dpi=DPI, metadata={"Date": None} if fmt == "svg" else None)
    return buffer.getvalue()


def save(figure: Any, path: Path) -> None:
    """Write the figure to ``path`` in the format its suffix names, atomically (a Makefile target never half-written)."""
    write_atomic(Path(path), image_bytes(figure, file_format(path)))


def file_format(path: Path) -> str:
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidInput("the output file must end in .png or .svg", field="--output", value=str(path))
    return fmt


def unit_ticks(param: Param) -> tuple[list[float], list[str]]:
    """Tick positions in the unit interval and their labels: every value when there are few, else about five."""
    if isinstance(param, CategoricalParam):
        return [param.to_unit(c) for c in param.choices], [format_scalar(c) for c in param.choices]
    cells = cell_count(param)
    ticks: dict[float, str] = {}
    for u in [(k + 0.5) / cells for k in range(cells)] if cells <= MAX_TICKS else (0.0, 0.25, 0.5, 0.75, 1.0):
        value = param.from_unit(u)
        ticks.setdefault(round(param.to_unit(value), 9), f"{value:.3g}")
    return list(ticks), list(ticks.values())


def param_axis(axis: Any, param: Param, which: str = "x") -> None:
    """Label an axis that carries ``param`` in unit coordinates."""
    positions, labels = unit_ticks(param)
    setter = axis.set_xticks if which == "x" else axis.set_yticks
    setter(positions, labels, rotation=30 if which == "x" and isinstance(param, CategoricalParam) else 0)
    (axis.set_xlim if which == "x" else axis.set_ylim)(-0.02, 1.02)
    (axis.set_xlabel if which == "x" else axis.set_ylabel)(param.name + (" (log)" if getattr(param, "log", False)
                                                                         else ""))


def jitter(number: int, width: float) -> float:
    """A small offset, the same for a trial every time, that keeps points on one categorical value apart."""
    return ((number * 0.6180339887) % 1.0 - 0.5) * width
