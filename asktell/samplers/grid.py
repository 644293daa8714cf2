"""Grid search: every combination of the ranges and lists, each handed out once.

Cells already taken by any trial -- finished or still running -- are skipped,
so cells are never handed out twice: the study lock serialises asks, and the
set of taken cells is read under it.  The order is a seeded shuffle by default
(stopping early still covers the whole grid evenly) or the plain nested-loop
order with ``order: sequential``, as Hake walked it.
"""

from __future__ import annotations

import random
from typing import Sequence

from ..errors import Exhausted, InvalidInput
from ..space import Space
from ..trial import TrialRecord
from .base import Sampler


def cell_key(params: dict) -> tuple:
    """Identity of a cell; the type is part of it so that ``True`` and ``1`` differ."""
    return tuple(sorted((name, type(value).__name__, repr(value)) for name, value in params.items()))


class GridSampler(Sampler):
    name = "grid"
    defaults = {"order": "shuffled"}

    def __init__(self, study_seed: int = 0, **options) -> None:
        super().__init__(study_seed, **options)
        if self.options["order"] not in ("shuffled", "sequential"):
            raise InvalidInput("must be shuffled or sequential", field="sampler.options.order",
                               value=self.options["order"])

    def check_space(self, space: Space) -> None:
        for param in space:
            param.grid_values()

    def cells(self, space: Space) -> list[dict]:
        cells = space.grid_cells()
        if self.options["order"] == "shuffled":
            random.Random(self.study_seed).shuffle(cells)
        return cells

    def suggest(self, space: Space, history: Sequence[TrialRecord], pending: Sequence[TrialRecord],
                seed: int) -> dict:
        taken = {cell_key(t.params) for t in (*history, *pending)}
        cells = self.cells(space)
        for cell in cells:
            if cell_key(cell) not in taken:
                return cell
        raise Exhausted(f"all {len(cells)} cells of the grid have been handed out")
