"""The median stopping rule: the percentile pruner at 50 (see ``percentile.py``)."""

from __future__ import annotations

from .percentile import PercentilePruner


class MedianPruner(PercentilePruner):
    """Stop a trial whose best value so far is worse than the median of the complete trials at its step."""

    name = "median"
    required = ()
    quantile = 50.0
    label = "median"
