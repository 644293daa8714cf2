"""The search space: parameter types, their parsing, validation and encoding.

A space is an ordered mapping of parameters.  Order matters: a parameter's
``when`` condition may only refer to parameters defined before it, so a
parameter set is always built (and checked) top to bottom, and a conditional
parameter is *absent* from a trial whose condition does not hold.

Two spellings parse into the same objects:

* YAML mappings (``lr: {type: float, low: 1e-5, high: 0.1, log: true}``) or a
  list of choices (``opt: [adam, sgd]``);
* the Hake-style shorthand used on the command line and accepted as a YAML
  string too: ``n=1..8``, ``lr=1e-5..1e-1:log``, ``dropout=0..0.5:0.1``,
  ``opt=adam,sgd``, with an optional condition ``momentum=0..0.99 if opt == sgd``.

Samplers see every parameter through ``to_unit``/``from_unit``, a map to and
from [0, 1] that respects log scales, steps and integer rounding, so a sampler
never needs to know the parameter kinds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from .errors import InvalidInput

Scalar = Any  # a YAML scalar: str, int, float, bool or None


# --------------------------------------------------------------------- conditions

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: _same(a, b),
    "!=": lambda a, b: not _same(a, b),
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "in": lambda a, b: any(_same(a, x) for x in b),
    "not in": lambda a, b: not any(_same(a, x) for x in b),
}
_ORDERING = {"<", "<=", ">", ">="}
_CONDITION_RE = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*(==|!=|<=|>=|<|>|not\s+in|in)\s*(.+?)\s*$")


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps ``True`` apart from ``1`` (YAML scalars differ by type)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


@dataclass(frozen=True)
class Condition:
    """``param OP value``: the owning parameter exists only when this holds."""

    param: str
    op: str
    value: Any

    def holds(self, params: Mapping[str, Any]) -> bool:
        if self.param not in params:
            return False
        try:
            return _COMPARISONS[self.op](params[self.param], self.value)
        except TypeError:  # e.g. "adam" < 3: the condition simply does not hold
            return False

    def __str__(self) -> str:
        if isinstance(self.value, list):
            shown = "[" + ", ".join(_spell(v) for v in self.value) + "]"
        else:
            shown = _spell(self.value)
        return f"{self.param} {self.op} {shown}"


def _spell(value: Scalar) -> str:
    """A condition value as text that ``parse_scalar`` reads back as the same value.

    Strings that would read as numbers, booleans or null (``'1'``, ``'true'``)
    are quoted, as are empty ones and those holding a comma or bracket.
    """
    text = format_scalar(value)
    if isinstance(value, str):
        back = parse_scalar(text)
        if type(back) is not str or back != value or not text or any(c in text for c in ",[]'\""):
            quote = "'" if '"' in value else '"'
            return quote + value + quote
    return text


def parse_conditions(text: Any, where: str, file: object) -> tuple[Condition, ...]:
    """Parse ``a == x and b >= 3`` (or a list of such strings) into conditions."""
    if isinstance(text, list):
        return tuple(c for item in text for c in parse_conditions(item, where, file))
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("a condition must be a string like 'opt == sgd'", file=file, field=where, value=text)
    conditions = []
    for part in re.split(r"\s+and\s+", text.strip()):
        match = _CONDITION_RE.match(part)
        if not match:
            raise InvalidInput(
                "cannot read the condition; write 'NAME OP VALUE' with OP one of "
                "==, !=, <, <=, >, >=, in, not in",
                file=file, field=where, value=part,
            )
        name, op, raw = match.group(1), " ".join(match.group(2).split()), match.group(3)
        if op in ("in", "not in"):
            value: Any = [parse_scalar(v) for v in _split_list(raw)]
        else:
            value = parse_scalar(raw)
        conditions.append(Condition(name, op, value))
    return tuple(conditions)


def _split_list(raw: str) -> list[str]:
    raw = raw.strip()
    if raw.startswith("[") and raw.endswith("]"):
        raw = raw[1:-1]
    return [item.strip() for item in raw.split(",") if item.strip()]


# --------------------------------------------------------------------- scalars

_INT_RE = re.compile(r"^[-+]?\d+$")
_FLOAT_RE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?(inf|nan)$", re.IGNORECASE)


def parse_scalar(text: str) -> Scalar:
    """A command-line word as the YAML-like scalar a user means by it.

    Only ``true``/``false`` become booleans: YAML 1.1's ``yes``/``no``/``on``
    stay strings, because ``opt=yes,no`` on a command line means two words.
    """
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if _INT_RE.match(text):
        return int(text)
    if _FLOAT_RE.match(text):
        return float(text)
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "~"):
        return None
    return text


def format_scalar(value: Scalar) -> str:
    """The text a shell or a Makefile should see for a parameter value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return repr(value) if isinstance(value, float) else str(value)


def _number(value: Any, where: str, file: object) -> float:
    """A bound or step: YAML reads ``1e-5`` as a string, so accept numeric strings."""
    if isinstance(value, bool):
        raise InvalidInput("must be a number", file=file, field=where, value=value)
    if isinstance(value, str):
        try:
            value = parse_scalar(value)
        except ValueError:
            pass
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidInput("must be a finite number", file=file, field=where, value=value)
    return value


def _decimals(x: float) -> int:
    """Digits after the point in the shortest spelling of ``x`` (0.1 -> 1, 1e-07 -> 7)."""
    from decimal import Decimal  # only stepped floats need it; keep it off the start-up path

    exponent = Decimal(repr(float(x))).as_tuple().exponent
    return max(0, -int(exponent))  # type: ignore[arg-type]


# --------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Param:
    """What every parameter kind shares: a name and the conditions it lives under."""

    name: str
    when: tuple[Condition, ...] = field(default=(), kw_only=True)

    kind = "param"

    def is_active(self, params: Mapping[str, Any]) -> bool:
        return all(c.holds(params) for c in self.when)

    def _spec_tail(self) -> dict:
        return {"when": " and ".join(str(c) for c in self.when)} if self.when else {}

    # Subclasses implement: validate, to_unit, from_unit, grid_values, to_spec.
    def validate(self, value: Any, file: object, where: str) -> Any:  # pragma: no cover
        raise NotImplementedError

    def to_unit(self, value: Any) -> float:  # pragma: no cover
        raise NotImplementedError

    def from_unit(self, u: float) -> Any:  # pragma: no cover
        raise NotImplementedError

    def grid_values(self) -> list:  # pragma: no cover
        raise NotImplementedError

    def to_spec(self) -> dict:  # pragma: no cover
        raise NotImplementedError


def _check_step(value: float, low: float, step: float, file: object, where: str) -> None:
    k = (value - low) / step
    if abs(k - round(k)) > 1e-6:
        raise InvalidInput(f"not on the step grid (low {format_scalar(low)}, step {format_scalar(step)})",
                           file=file, field=where, value=value)


def _check_range(value: float, low: float, high: float, file: object, where: str) -> None:
    if not low <= value <= high:
        raise InvalidInput(f"out of range [{format_scalar(low)}, {format_scalar(high)}]",
                           file=file, field=where, value=value)


@dataclass(frozen=True)
class FloatParam(Param):
    """A real number in [low, high], optionally on a log scale or a step grid."""

    low: float = 0.0
    high: float = 1.0
    log: bool = False
    step: float | None = None

    kind = "float"

    def validate(self, value: Any, file: object, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInput("must be a number (float parameter)", file=file, field=where, value=value)
        value = float(value)
        if not math.isfinite(value):
            raise InvalidInput("must be finite", file=file, field=where, value=value)
        _check_range(value, self.low, self.high, file, where)
        if self.step is not None:
            _check_step(value, self.low, self.step, file, where)
        return value

    def to_unit(self, value: float) -> float:
        lo, hi = self._bounds()
        x = math.log(value) if self.log else value
        return 0.5 if hi == lo else (x - lo) / (hi - lo)

    def from_unit(self, u: float) -> float:
        lo, hi = self._bounds()
        x = lo + min(max(u, 0.0), 1.0) * (hi - lo)
        value = math.exp(x) if self.log else x
        return self._snap(value)

    def _bounds(self) -> tuple[float, float]:
        if self.log:
            return math.log(self.low), math.log(self.high)
        if self.step is not None:  # widen so every grid point gets an equal share
            return self.low - self.step / 2, self.high + self.step / 2
        return self.low, self.high

    def _snap(self, value: float) -> float:
        if self.step is not None:
            k = round((value - self.low) / self.step)
            k = min(max(k, 0), self._n_steps())
            value = round(self.low + k * self.step, max(_decimals(self.step), _decimals(self.low)))
        return min(max(value, self.low), self.high)

    def _n_steps(self) -> int:
        assert self.step is not None
        return int(math.floor((self.high - self.low) / self.step + 1e-9))

    def grid_values(self) -> list:
        if self.step is None:
            raise InvalidInput("a float parameter needs a step (lo..hi:step) or a list of values for the grid",
                               field=f"space.{self.name}", value=self.to_spec())
        return [self._snap(self.low + k * self.step) for k in range(self._n_steps() + 1)]

    def to_spec(self) -> dict:
        spec: dict = {"type": "float", "low": self.low, "high": self.high}
        if self.log:
            spec["log"] = True
        if self.step is not None:
            spec["step"] = self.step
        return {**spec, **self._spec_tail()}


@dataclass(frozen=True)
class IntParam(Param):
    """An integer in [low, high] on a step grid, optionally on a log scale."""

    low: int = 0
    high: int = 1
    log: bool = False
    step: int = 1

    kind = "int"

    def validate(self, value: Any, file: object, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput("must be an integer (int parameter)", file=file, field=where, value=value)
        _check_range(value, self.low, self.high, file, where)
        _check_step(value, self.low, self.step, file, where)
        return value

    def to_unit(self, value: int) -> float:
        lo, hi = self._bounds()
        x = math.log(value) if self.log else value
        return (x - lo) / (hi - lo)

    def from_unit(self, u: float) -> int:
        lo, hi = self._bounds()
        x = lo + min(max(u, 0.0), 1.0) * (hi - lo)
        value = math.exp(x) if self.log else x
        k = round((value - self.low) / self.step)
        k = min(max(k, 0), (self.high - self.low) // self.step)
        return self.low + k * self.step

    def _bounds(self) -> tuple[float, float]:
        # Each integer owns the interval of width `step` around it, so a uniform
        # draw in the unit cube gives every value an equal (or log-equal) share.
        half = self.step / 2
        if self.log:
            return math.log(self.low - half), math.log(self.high + half)
        return self.low - half, self.high + half

    def grid_values(self) -> list:
        return list(range(self.low, self.high + 1, self.step))

    def to_spec(self) -> dict:
        spec: dict = {"type": "int", "low": self.low, "high": self.high}
        if self.log:
            spec["log"] = True
        if self.step != 1:
            spec["step"] = self.step
        return {**spec, **self._spec_tail()}


@dataclass(frozen=True)
class CategoricalParam(Param):
    """One of a list of YAML scalars (strings, numbers, booleans, null)."""

    choices: tuple = ()

    kind = "categorical"

    def validate(self, value: Any, file: object, where: str) -> Any:
        for choice in self.choices:
            if _same(value, choice) and type(value) is type(choice):
                return choice
        shown = ", ".join(format_scalar(c) for c in self.choices)
        raise InvalidInput(f"not one of the choices [{shown}]", file=file, field=where, value=value)

    def index(self, value: Any) -> int:
        for i, choice in enumerate(self.choices):
            if _same(value, choice) and type(value) is type(choice):
                return i
        raise ValueError(value)

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.choices)

    def from_unit(self, u: float) -> Any:
        n = len(self.choices)
        return self.choices[min(max(int(u * n), 0), n - 1)]

    def grid_values(self) -> list:
        return list(self.choices)

    def to_spec(self) -> dict:
        return {"type": "categorical", "choices": list(self.choices), **self._spec_tail()}


# --------------------------------------------------------------------- parsing one parameter

_SPEC_KEYS = {
    "float": {"type", "low", "high", "log", "step", "when"},
    "int": {"type", "low", "high", "log", "step", "when"},
    "categorical": {"type", "choices", "when"},
}


def parse_param(name: str, spec: Any, file: object = None) -> Param:
    """One parameter from its YAML spec: a mapping, a list of choices or a shorthand string."""
    where = f"space.{name}"
    check_name(name, file, where)
    if isinstance(spec, str):
        return parse_shorthand_spec(name, spec, file, where)
    if isinstance(spec, list):
        return _categorical(name, spec, (), file, where)
    if not isinstance(spec, dict):
        raise InvalidInput("must be a mapping, a list of choices or a shorthand like 1..8",
                           file=file, field=where, value=spec)
    kind = spec.get("type")
    if kind is None:
        if "choices" in spec:
            kind = "categorical"
        else:
            bounds = [spec.get("low"), spec.get("high"), spec.get("step", 1)]
            kind = "int" if all(isinstance(b, int) and not isinstance(b, bool) for b in bounds) else "float"
    if kind not in _SPEC_KEYS:
        raise InvalidInput("unknown parameter type; use float, int or categorical",
                           file=file, field=f"{where}.type", value=kind)
    unknown = sorted(set(spec) - _SPEC_KEYS[kind])
    if unknown:
        raise InvalidInput(f"unknown key for a {kind} parameter", file=file, field=f"{where}.{unknown[0]}",
                           value=spec[unknown[0]])
    when = parse_conditions(spec["when"], f"{where}.when", file) if "when" in spec else ()
    if kind == "categorical":
        if "choices" not in spec:
            raise InvalidInput("a categorical parameter needs 'choices'", file=file, field=where, value=spec)
        if not isinstance(spec["choices"], list):
            raise InvalidInput("must be a list", file=file, field=f"{where}.choices", value=spec["choices"])
        return _categorical(name, spec["choices"], when, file, where)
    for key in ("low", "high"):
        if key not in spec:
            raise InvalidInput(f"a {kind} parameter needs '{key}'", file=file, field=where, value=spec)
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise InvalidInput("must be true or false", file=file, field=f"{where}.log", value=log)
    return _numeric(name, kind, spec["low"], spec["high"], log, spec.get("step"), when, file, where)


def _categorical(name: str, choices: list, when: tuple, file: object, where: str) -> CategoricalParam:
    if not choices:
        raise InvalidInput("needs at least one choice", file=file, field=where, value=choices)
    seen: list = []
    for choice in choices:
        if isinstance(choice, (dict, list)):
            raise InvalidInput("choices must be scalars (strings, numbers, booleans)", file=file,
                               field=where, value=choice)
        if isinstance(choice, float) and not math.isfinite(choice):
            raise InvalidInput("choices must be finite", file=file, field=where, value=choice)
        if any(_same(choice, s) and type(choice) is type(s) for s in seen):
            raise InvalidInput("duplicate choice", file=file, field=where, value=choice)
        seen.append(choice)
    return CategoricalParam(name, choices=tuple(choices), when=when)


def _numeric(name: str, kind: str, low: Any, high: Any, log: bool, step: Any, when: tuple,
             file: object, where: str) -> Param:
    low = _number(low, f"{where}.low", file)
    high = _number(high, f"{where}.high", file)
    if step is not None:
        step = _number(step, f"{where}.step", file)
        if step <= 0:
            raise InvalidInput("must be positive", file=file, field=f"{where}.step", value=step)
    if low > high:
        raise InvalidInput(f"low must not exceed high ({format_scalar(high)})", file=file,
                           field=f"{where}.low", value=low)
    if log and low <= 0:
        raise InvalidInput("a log-scale parameter needs low > 0", file=file, field=f"{where}.low", value=low)
    if kind == "int":
        for key, v in (("low", low), ("high", high), ("step", step if step is not None else 1)):
            if not isinstance(v, int):
                raise InvalidInput("must be an integer for an int parameter", file=file,
                                   field=f"{where}.{key}", value=v)
        if log and step not in (None, 1):
            raise InvalidInput("an int parameter cannot have both log and a step other than 1",
                               file=file, field=f"{where}.step", value=step)
        return IntParam(name, low=low, high=high, log=log, step=step or 1, when=when)
    if log and step is not None:
        raise InvalidInput("a float parameter cannot have both log and step", file=file,
                           field=f"{where}.step", value=step)
    return FloatParam(name, low=float(low), high=float(high), log=log,
                      step=None if step is None else float(step), when=when)


#: Variables that `asktell params --format env|make` must never set: a parameter named
#: ``path`` would otherwise overwrite $PATH in the shell that evals the output.
_RESERVED_VARIABLES = {"PATH", "HOME", "IFS", "PWD", "OLDPWD", "SHELL", "USER", "LOGNAME", "LANG", "TERM",
                       "TMPDIR", "ENV", "BASH_ENV", "CDPATH", "SHELLOPTS", "PS1", "PS2", "PS4", "PYTHONPATH",
                       "PYTHONHOME", "MAKEFLAGS", "MAKE", "SHELLFLAGS", "HOSTNAME", "UID"}


def check_name(name: Any, file: object, where: str) -> None:
    """A parameter name must be a word that is safe as a shell and make variable."""
    if not isinstance(name, str) or not re.match(r"^[A-Za-z_][\w.-]*$", name):
        raise InvalidInput("a parameter name must start with a letter or '_' and hold only "
                           "letters, digits, '_', '-' and '.'", file=file, field=where, value=name)
    variable = re.sub(r"\W", "_", name).upper()
    if variable in _RESERVED_VARIABLES or variable.startswith(("LD_", "ASKTELL_")):
        raise InvalidInput(f"as a variable ({variable}) this name would overwrite the environment of "
                           "pipeline steps; choose another name", file=file, field=where, value=name)


def parse_shorthand_spec(name: str, text: str, file: object = None, where: str | None = None) -> Param:
    """``1..8``, ``1e-5..1e-1:log``, ``0..0.5:0.1``, ``adam,sgd`` — optionally ``... if COND``."""
    where = where or f"space.{name}"
    check_name(name, file, where)
    body, _, condition = text.partition(" if ")
    when = parse_conditions(condition, f"{where}.when", file) if condition.strip() else ()
    body = body.strip()
    if ".." not in body:
        if not body:
            raise InvalidInput("empty parameter spec", file=file, field=where, value=text)
        return _categorical(name, [parse_scalar(w) for w in _split_list(body)], when, file, where)
    range_part, *modifiers = body.split(":")
    low_text, _, high_text = range_part.partition("..")
    low, high = parse_scalar(low_text), parse_scalar(high_text)
    log, step = False, None
    for modifier in modifiers:
        if modifier.strip().lower() == "log":
            log = True
            continue
        step = parse_scalar(modifier)
        if not isinstance(step, (int, float)) or isinstance(step, bool):
            raise InvalidInput("a range modifier must be 'log' or a step size", file=file,
                               field=where, value=modifier)
    is_int = all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high, step if step else 1))
    return _numeric(name, "int" if is_int else "float", low, high, log, step, when, file, where)


def parse_assignment(text: str) -> tuple[str, str]:
    """Split ``NAME=SPEC`` from the command line."""
    name, sep, spec = text.partition("=")
    if not sep or not name.strip():
        raise InvalidInput("write a parameter as NAME=SPEC, e.g. lr=1e-5..1e-1:log or opt=adam,sgd",
                           field="-p", value=text)
    return name.strip(), spec


# --------------------------------------------------------------------- the space


class Space:
    """An ordered set of parameters, checked so that every condition can be evaluated."""

    def __init__(self, params: Sequence[Param], file: object = None) -> None:
        self.params: dict[str, Param] = {}
        for param in params:
            if param.name in self.params:
                raise InvalidInput("parameter defined twice", file=file, field=f"space.{param.name}")
            for condition in param.when:
                self._check_condition(param, condition, file)
            self.params[param.name] = param
        if not self.params:
            raise InvalidInput("the search space has no parameters; give --space FILE or -p NAME=SPEC",
                               file=file, field="space")

    def _check_condition(self, param: Param, condition: Condition, file: object) -> None:
        where = f"space.{param.name}.when"
        target = self.params.get(condition.param)
        if target is None:
            raise InvalidInput("a condition may only refer to a parameter defined above it",
                               file=file, field=where, value=str(condition))
        values = condition.value if isinstance(condition.value, list) else [condition.value]
        if isinstance(target, CategoricalParam):
            if condition.op in _ORDERING:
                raise InvalidInput(f"'{condition.op}' needs a numeric parameter, '{target.name}' is categorical",
                                   file=file, field=where, value=str(condition))
            for v in values:
                target.validate(v, file, where)
        else:
            for v in values:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise InvalidInput(f"'{target.name}' is numeric, compare it with a number",
                                       file=file, field=where, value=str(condition))

    # ---- construction
    @classmethod
    def from_spec(cls, spec: Any, file: object = None) -> "Space":
        if not isinstance(spec, dict):
            raise InvalidInput("the space must be a mapping of parameter names to specs",
                               file=file, field="space", value=spec)
        return cls([parse_param(name, value, file) for name, value in spec.items()], file)

    @classmethod
    def from_shorthands(cls, items: Sequence[str], base: "Space | None" = None) -> "Space":
        """``-p NAME=SPEC`` words, added after (or replacing) the parameters of ``base``."""
        params = dict(base.params) if base else {}
        for item in items:
            name, spec = parse_assignment(item)
            params[name] = parse_shorthand_spec(name, spec, where=f"-p {name}")
        return cls(list(params.values()))

    @classmethod
    def from_options(cls, space_file: Any = None, items: Sequence[str] = ()) -> "Space | None":
        """The space of ``--space FILE`` and ``-p NAME=SPEC`` (added to the file's); None if neither is given."""
        base = None
        if space_file is not None:
            from .fileio import read_mapping

            data = read_mapping(space_file, "space file")
            base = cls.from_spec(data.get("space", data) if isinstance(data.get("space"), dict) else data, space_file)
        return cls.from_shorthands(items, base) if items else base

    def to_spec(self) -> dict:
        return {name: param.to_spec() for name, param in self.params.items()}

    # ---- parameter sets
    def __iter__(self) -> Iterator[Param]:
        return iter(self.params.values())

    def __len__(self) -> int:
        return len(self.params)

    def build(self, value_for: Callable[[Param, dict], Any]) -> dict:
        """A parameter set, top to bottom, asking ``value_for`` only for active parameters."""
        params: dict = {}
        for param in self.params.values():
            if param.is_active(params):
                params[param.name] = value_for(param, params)
        return params

    def validate(self, params: Any, file: object = None, prefix: str = "params") -> dict:
        """Check a full parameter set: known names, active ones present, inactive ones absent."""
        if not isinstance(params, dict):
            raise InvalidInput("must be a mapping of parameter names to values", file=file,
                               field=prefix, value=params)
        for name in params:
            if name not in self.params:
                raise InvalidInput("unknown parameter", file=file, field=f"{prefix}.{name}", value=params[name])

        def checked(param: Param, _done: dict) -> Any:
            if param.name not in params:
                raise InvalidInput("missing parameter", file=file, field=f"{prefix}.{param.name}")
            return param.validate(params[param.name], file, f"{prefix}.{param.name}")

        result = self.build(checked)
        for name in params:
            if name not in result:
                conditions = " and ".join(str(c) for c in self.params[name].when)
                raise InvalidInput(f"parameter is inactive here (it needs {conditions})", file=file,
                                   field=f"{prefix}.{name}", value=params[name])
        return result

    def grid_cells(self) -> list[dict]:
        """Every distinct parameter set of the grid, conditional parameters included.

        An inactive parameter does not multiply the cells: ``momentum`` only
        branches the cells where ``opt == sgd``.
        """
        grids = {p.name: p.grid_values() for p in self.params.values()}
        order = list(self.params.values())
        cells: list[dict] = []

        def extend(i: int, partial: dict) -> None:
            if i == len(order):
                cells.append(dict(partial))
                return
            param = order[i]
            if not param.is_active(partial):
                extend(i + 1, partial)
                return
            for value in grids[param.name]:
                partial[param.name] = value
                extend(i + 1, partial)
            del partial[param.name]

        extend(0, {})
        return cells
