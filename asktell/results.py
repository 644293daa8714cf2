"""Result files and values: what a pipeline reports back, checked against the objectives.

``result.yaml`` is written by the pipeline's evaluate step (``save_result`` in
Python, or any tool that writes YAML)::

    values: {loss: 0.12, acc: 0.97}   # or, with one objective:  value: 0.12
    state: complete                   # optional: complete (default), failed or pruned
    constraints: {memory_gb: -1.5}    # optional: feasible when every one is <= 0
    attrs: {epochs: 12}               # optional: anything the user wants kept

Every value must be a finite number for an objective the study declares;
constraints are finite numbers under names of the pipeline's choosing.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .config import NAME_RE, Objective
from .errors import InvalidInput
from .fileio import FORMAT, read_mapping
from .trial import COMPLETE, FAILED, FAILURE_FIELDS, PRUNED
from .space import parse_scalar

RESULT_NAME = "result.yaml"
TELL_STATES = (COMPLETE, PRUNED, FAILED)
_RESULT_KEYS = {"format", "value", "values", "state", "constraints", "attrs"}


@dataclass
class Result:
    state: str = COMPLETE
    values: dict[str, float] | None = None
    attrs: dict = field(default_factory=dict)
    constraints: dict[str, float] | None = None


def finite_number(value: Any, file: object, where: str) -> float:
    if isinstance(value, str):
        value = parse_scalar(value)
    # numbers.Real also admits numpy scalars (float32 metrics are common); bool is not a value.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput("must be a number", file=file, field=where, value=value)
    value = float(value)
    if not math.isfinite(value):
        raise InvalidInput("must be a finite number", file=file, field=where, value=value)
    return float(value)


def check_values(values: Any, objectives: tuple[Objective, ...], state: str, file: object,
                 where: str = "values") -> dict[str, float] | None:
    """Values keyed by objective, in the study's order; all required when complete."""
    if values is None:
        if state == COMPLETE and objectives:
            names = ", ".join(o.name for o in objectives)
            raise InvalidInput(f"a complete trial needs a value for every objective ({names})",
                               file=file, field=where)
        return None
    if not isinstance(values, Mapping):
        raise InvalidInput("must be a mapping of objective names to numbers", file=file, field=where, value=values)
    known = {o.name for o in objectives}
    for name in values:
        if not known:
            raise InvalidInput(NO_OBJECTIVE, file=file, field=f"{where}.{name}", value=values[name])
        if name not in known:
            raise InvalidInput(f"unknown objective; the study has {', '.join(sorted(known))}",
                               file=file, field=f"{where}.{name}", value=values[name])
    checked = {}
    for objective in objectives:
        if objective.name in values:
            checked[objective.name] = finite_number(values[objective.name], file, f"{where}.{objective.name}")
        elif state == COMPLETE:
            raise InvalidInput("missing value for an objective", file=file, field=f"{where}.{objective.name}")
    return checked or None


def check_constraints(constraints: Any, file: object, where: str = "constraints") -> dict[str, float] | None:
    """Constraint values by name; a trial is feasible when all are <= 0 (samplers read them)."""
    if constraints is None:
        return None
    return check_named_numbers(constraints, "constraint", file, where)


def check_named_numbers(mapping: Any, what: str, file: object, where: str) -> dict[str, float]:
    """A non-empty mapping of names (as objectives are named) to finite numbers, e.g. constraints or metrics."""
    if not isinstance(mapping, Mapping) or not mapping:
        raise InvalidInput(f"must be a non-empty mapping of {what} names to numbers", file=file, field=where,
                           value=mapping)
    checked = {}
    for name, value in mapping.items():
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise InvalidInput(f"a {what} name is a letter or _ followed by letters, digits, _ . -",
                               file=file, field=where, value=name)
        checked[name] = finite_number(value, file, f"{where}.{name}")
    return checked


def check_failure(failure: Mapping[str, Any] | None, file: object) -> dict[str, Any]:
    """Why a trial failed, as the ``told`` event keeps it: an ``exit_code``, a ``reason``, a ``log_tail``."""
    if not failure:
        return {}
    unknown = sorted(set(failure) - set(FAILURE_FIELDS))
    if unknown:
        raise InvalidInput(f"unknown failure detail; use {', '.join(FAILURE_FIELDS)}", file=file,
                           field=unknown[0], value=failure[unknown[0]])
    checked = {k: v for k, v in failure.items() if v is not None}
    code = checked.get("exit_code")
    if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
        raise InvalidInput("must be an integer", file=file, field="exit_code", value=code)
    for name in ("reason", "log_tail"):
        if name in checked and not isinstance(checked[name], str):
            raise InvalidInput("must be a string", file=file, field=name, value=checked[name])
    return checked


NO_OBJECTIVE = "the study has no objective (a sweep): tell its trials without values"


def values_from(value: Any, values: Any, objectives: tuple[Objective, ...], file: object) -> Any:
    """Merge the single-value shorthand ``value`` into the ``values`` mapping."""
    if value is None:
        return values
    value = finite_number(value, file, "value")
    if values is not None:
        raise InvalidInput("give either 'value' or 'values', not both", file=file, field="value", value=value)
    if not objectives:
        raise InvalidInput(NO_OBJECTIVE, file=file, field="value", value=value)
    if len(objectives) != 1:
        raise InvalidInput(f"the study has {len(objectives)} objectives; give 'values' by name",
                           file=file, field="value", value=value)
    return {objectives[0].name: value}


def check_state(state: Any, file: object, where: str = "state") -> str:
    if state not in TELL_STATES:
        raise InvalidInput(f"must be one of {', '.join(TELL_STATES)}", file=file, field=where, value=state)
    return state


def parse_result(data: dict, objectives: tuple[Objective, ...], file: object) -> Result:
    unknown = sorted(set(data) - _RESULT_KEYS)
    if unknown:
        raise InvalidInput("unknown field in a result file (keep extra data under 'attrs')",
                           file=file, field=unknown[0], value=data[unknown[0]])
    if "format" in data and data["format"] != FORMAT:
        raise InvalidInput(f"unsupported format; expected {FORMAT}", file=file, field="format", value=data["format"])
    state = check_state(data.get("state", COMPLETE), file)
    values = values_from(data.get("value"), data.get("values"), objectives, file)
    attrs = data.get("attrs", {})
    if not isinstance(attrs, dict):
        raise InvalidInput("must be a mapping", file=file, field="attrs", value=attrs)
    return Result(state=state, values=check_values(values, objectives, state, file),
                  constraints=check_constraints(data.get("constraints"), file), attrs=attrs)


def read_result(path: Path, objectives: tuple[Objective, ...]) -> Result:
    return parse_result(read_mapping(path, "result file"), objectives, path)
