"""Checks for numeric options, so every sampler and pruner words the error the same way.

``owner`` is the study.yaml setting the options belong to (``sampler`` or
``pruner``): the error names ``OWNER.options.NAME``.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInput


def check_number(value: Any, name: str, low: float, high: float, *, low_open: bool = False,
                 owner: str = "sampler") -> None:
    """``value`` must be a number in [low, high] (or (low, high] when ``low_open``)."""
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high
            or (low_open and value == low)):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise InvalidInput(f"must be a number in {interval}", field=f"{owner}.options.{name}", value=value)


def check_integer(value: Any, name: str, low: int, *, owner: str = "sampler") -> None:
    """``value`` must be an integer >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidInput(f"must be an integer >= {low}", field=f"{owner}.options.{name}", value=value)


def check_population(value: Any, smallest: int, why: str, *, allow_null: bool = False) -> None:
    """An integer population of at least ``smallest`` (``why`` says what needs that many)."""
    if allow_null and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
        raise InvalidInput(f"must be an integer >= {smallest} ({why}){' or null' if allow_null else ''}",
                           field="sampler.options.population", value=value)
