"""Generated search spaces for property tests: *drafts* of what a user means.

A draft is independent of spelling; the helpers spell it as a YAML mapping,
as command-line shorthands, or as shorthand strings inside YAML, so the space
and sampler tests can check that every spelling means the same thing.
"""

from __future__ import annotations

import math
import operator
import string
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from asktell.fileio import dump_yaml, parse_yaml
from asktell.space import Space, parse_scalar

PROPERTY = settings(max_examples=100, deadline=None)


# --------------------------------------------------------------------- drafts


@dataclass(frozen=True)
class Draft:
    """One generated parameter; ``low``/``high``/``step`` are exact Decimals (or ints)."""

    name: str
    kind: str  # "float", "int" or "categorical"
    low: Any = None
    high: Any = None
    log: bool = False
    step: Any = None
    choices: tuple = ()
    when: tuple = ()  # ((param, op, value), ...), joined with "and"

    @property
    def gridable(self) -> bool:
        return self.kind != "float" or self.step is not None

    def grid_size(self) -> int:
        """How many grid values the user expects, computed exactly in decimal."""
        if self.kind == "categorical":
            return len(self.choices)
        step = self.step if self.step is not None else 1
        return int((Decimal(self.high) - Decimal(self.low)) // Decimal(step)) + 1

    def float_grid(self) -> list[float]:
        """The clean decimals a stepped float must take: low, low+step, ... <= high."""
        return [float(self.low + k * self.step) for k in range(self.grid_size())]


def typed(value: Any) -> Any:
    """``value`` with every scalar tagged by its type, so that 1, 1.0 and True differ."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


def same(a: Any, b: Any) -> bool:
    """Equality as a YAML user means it: ``true`` is not ``1``."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


_OPS = {
    "==": same,
    "!=": lambda a, b: not same(a, b),
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "in": lambda a, b: any(same(a, x) for x in b),
    "not in": lambda a, b: not any(same(a, x) for x in b),
}


def active(draft: Draft, params: dict) -> bool:
    """An independent reading of ``when``: every condition on a present parameter holds."""
    return all(p in params and _OPS[op](params[p], v) for p, op, v in draft.when)


# --------------------------------------------------------------------- spelling drafts


def literal(value: Any) -> str:
    """A scalar as a user types it in a condition or a shorthand (quoted if it would change)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        parsed = parse_scalar(value)
        return value if isinstance(parsed, str) and parsed == value else f"'{value}'"
    return str(value)


def condition_text(condition: tuple) -> str:
    param, op, value = condition
    shown = "[" + ", ".join(map(literal, value)) + "]" if isinstance(value, list) else literal(value)
    return f"{param} {op} {shown}"


def when_text(draft: Draft) -> str:
    return " and ".join(map(condition_text, draft.when))


def number(draft: Draft, value: Any) -> int | float:
    return int(value) if draft.kind == "int" else float(value)


def mapping_spec(draft: Draft, when_as_list: bool = False) -> Any:
    """The YAML mapping spelling (a plain list for unconditional categoricals)."""
    if draft.kind == "categorical":
        if not draft.when:
            return list(draft.choices)
        spec: dict = {"type": "categorical", "choices": list(draft.choices)}
    else:
        spec = {"type": draft.kind, "low": number(draft, draft.low), "high": number(draft, draft.high)}
        if draft.log:
            spec["log"] = True
        if draft.step is not None:
            spec["step"] = number(draft, draft.step)
    if draft.when:
        spec["when"] = [condition_text(c) for c in draft.when] if when_as_list else when_text(draft)
    return spec


def shorthand(draft: Draft) -> str:
    """The command-line spelling: ``1..8``, ``1e-05..0.1:log``, ``0.0..0.5:0.1``, ``a,b if ...``."""
    if draft.kind == "categorical":
        body = ",".join(map(literal, draft.choices))
    else:
        shown = (lambda v: str(int(v))) if draft.kind == "int" else (lambda v: repr(float(v)))
        body = f"{shown(draft.low)}..{shown(draft.high)}"
        if draft.log:
            body += ":log"
        if draft.step is not None:
            body += f":{shown(draft.step)}"
    return f"{body} if {when_text(draft)}" if draft.when else body


# --------------------------------------------------------------------- strategies

WORDS = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=5)  # includes true, null, nan, inf
DIGIT_STRINGS = st.integers(0, 99).map(str)  # strings that look like numbers
CLEAN_FLOATS = st.decimals(min_value=-100, max_value=100, places=2).map(float)
SCALARS = st.one_of(WORDS, DIGIT_STRINGS, st.integers(-5, 100), CLEAN_FLOATS, st.booleans())


def clean_steps() -> st.SearchStrategy[Decimal]:
    """A positive step as users write them: 0.05, 0.1, 2.5, 7, ..."""
    return st.builds(lambda m, e: Decimal(m).scaleb(-e), st.integers(1, 20), st.integers(0, 3))


@st.composite
def float_bounds(draw, gridable: bool) -> dict:
    """Plain, log-scale or stepped float fields (only stepped ones when the grid must walk them)."""
    if not gridable and draw(st.booleans()):
        if draw(st.booleans()):  # log scale: low > 0
            low, high = sorted(draw(st.lists(st.decimals(min_value=Decimal("0.00001"), max_value=1000,
                                                         places=5), min_size=2, max_size=2)))
            return {"low": low, "high": high, "log": True}
        low, high = sorted(draw(st.lists(st.decimals(min_value=-100, max_value=100, places=3),
                                         min_size=2, max_size=2)))
        return {"low": low, "high": high}
    step = draw(clean_steps())
    low = Decimal(draw(st.integers(-200, 200))).scaleb(-draw(st.integers(0, 3)))
    n_steps = draw(st.integers(0, 4 if gridable else 12))
    off_grid = step * draw(st.integers(0, 9)) / 10  # high need not be on the grid
    return {"low": low, "high": low + n_steps * step + off_grid, "step": step}


@st.composite
def int_bounds(draw, gridable: bool) -> dict:
    """Log-scale or stepped int fields; small ranges when the grid must walk them."""
    if draw(st.booleans()):
        low = draw(st.integers(1, 60))
        return {"low": low, "high": low + draw(st.integers(0, 4 if gridable else 2000)), "log": True}
    low, step = draw(st.integers(-50, 50)), draw(st.integers(1, 5))
    high = low + draw(st.integers(0, 4 if gridable else 30)) * step + draw(st.integers(0, step - 1))
    return {"low": low, "high": high, "step": None if step == 1 and draw(st.booleans()) else step}


@st.composite
def condition_on(draw, target: Draft) -> tuple:
    """A condition the space must accept: a value of the target's type, no ordering on categoricals."""
    if target.kind == "categorical":
        op = draw(st.sampled_from(["==", "!=", "in", "not in"]))
        values = st.sampled_from(target.choices)
    else:
        op = draw(st.sampled_from(sorted(_OPS)))
        low, high = int(math.floor(target.low)), int(math.ceil(target.high))
        values = st.one_of(st.integers(low - 1, high + 1),
                           st.decimals(min_value=low, max_value=high, places=2).map(float))
    if op in ("in", "not in"):
        return target.name, op, draw(st.lists(values, min_size=1, max_size=3))
    return target.name, op, draw(values)


@st.composite
def drafts(draw, gridable: bool = False, max_params: int = 4) -> list[Draft]:
    """An ordered space; later parameters may depend on earlier ones."""
    count = draw(st.integers(1, max_params))
    styles = draw(st.lists(st.sampled_from(["p", "n_layers", "lr.", "x-"]), min_size=count, max_size=count))
    result: list[Draft] = []
    for i, style in enumerate(styles):
        name = f"{style}{i}"
        kind = draw(st.sampled_from(["float", "int", "categorical"]))
        if kind == "categorical":
            choices = draw(st.lists(SCALARS, min_size=1, max_size=4 if gridable else 5,
                                    unique_by=lambda v: (type(v), v)))
            fields: dict = {"choices": tuple(choices)}
        elif kind == "int":
            fields = draw(int_bounds(gridable))
        else:
            fields = draw(float_bounds(gridable))
        when: tuple = ()
        if result and draw(st.integers(0, 2)) == 0:
            targets = draw(st.lists(st.sampled_from(result), min_size=1, max_size=2))
            when = tuple(draw(condition_on(t)) for t in targets)
        result.append(Draft(name, kind, when=when, **fields))
    return result


def unconditional(space: list[Draft]) -> list[Draft]:
    return [replace(d, when=()) for d in space]


def yaml_space(space: list[Draft], when_as_list: bool = False) -> Space:
    """Parse the mapping spelling the way ``study.yaml`` and ``--space`` are read: from YAML text."""
    text = dump_yaml({d.name: mapping_spec(d, when_as_list) for d in space})
    return Space.from_spec(parse_yaml(text, "space.yaml"))


def shorthand_space(space: list[Draft]) -> Space:
    return Space.from_shorthands([f"{d.name}={shorthand(d)}" for d in space])


def shorthand_in_yaml_space(space: list[Draft]) -> Space:
    text = dump_yaml({d.name: shorthand(d) for d in space})
    return Space.from_spec(parse_yaml(text, "space.yaml"))


def cell_identity(cell: dict) -> tuple:
    """A grid cell's identity, keeping True apart from 1 (as the grid sampler must)."""
    return tuple(sorted((k, type(v).__name__, repr(v)) for k, v in cell.items()))
