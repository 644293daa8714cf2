"""Checks for numeric sampler options, so every sampler words the error the same way."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInput


def check_number(value: Any, name: str, low: float, high: float, *, low_open: bool = False) -> None:
    """``value`` must be a number in [low, high] (or (low, high] when ``low_open``)."""
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high
            or (low_open and value == low)):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise InvalidInput(f"must be a number in {interval}", field=f"sampler.options.{name}", value=value)


def check_population(value: Any, smallest: int, why: str, *, allow_null: bool = False) -> None:
    """An integer population of at least ``smallest`` (``why`` says what needs that many)."""
    if allow_null and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
        raise InvalidInput(f"must be an integer >= {smallest} ({why}){' or null' if allow_null else ''}",
                           field="sampler.options.population", value=value)
