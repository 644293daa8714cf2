"""Pictures of a study (``asktell plot``, ``asktell report-html``), one module per kind.

Each module has ``problem(view) -> str | None`` -- why its kind cannot be
drawn for this study (pareto with one objective, learning curves nobody
reported), None when it can -- and ``draw(figure, view)``.  Modules are
imported when their kind is drawn; matplotlib only by ``figure.new_figure``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput

if TYPE_CHECKING:  # the CLI imports this module for KINDS alone: keep it to the registry
    from .view import View

#: kind -> module of this package.
KINDS = {
    "history": "history",
    "slice": "slice",
    "parallel-coordinates": "parallel",
    "contour": "contour",
    "importance": "importance",
    "intermediate": "intermediate",
    "pareto": "pareto",
    "timeline": "timeline",
}

__all__ = ["KINDS", "draw", "plot", "problem"]


def _module(kind: str) -> Any:
    return importlib.import_module(f"{__name__}.{KINDS[kind]}")


def problem(view: "View", kind: str) -> str | None:
    """Why ``kind`` cannot be drawn for this study, or None."""
    return _module(kind).problem(view)


def draw(view: "View", kind: str) -> Any:
    """The matplotlib figure of ``kind``; an input error when the kind does not apply to the study."""
    from .figure import new_figure

    module = _module(kind)
    reason = module.problem(view)
    if reason is not None:
        raise InvalidInput(f"cannot be drawn for this study: {reason}", field="KIND", value=kind)
    figure = new_figure()
    module.draw(figure, view)
    return figure


def plot(view: "View", kind: str, path: Path) -> None:
    """Draw ``kind`` into ``path``, PNG or SVG by its suffix."""
    from .figure import file_format, save

    file_format(path)  # a wrong suffix fails before anything is drawn
    save(draw(view, kind), path)
