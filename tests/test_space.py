"""The search space: both spellings, the unit-cube encoding, validation and the grid.

Spaces are generated as *drafts* -- what a user means, independent of how it
is written -- and then spelled as YAML mappings, as command-line shorthands and
as shorthand strings inside YAML.  Every spelling must parse to the draft, and
everything a sampler builds from the parsed space must pass ``validate``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from asktell.errors import InvalidInput
from asktell.fileio import dump_yaml, parse_yaml
from asktell.space import CategoricalParam, FloatParam, IntParam, Space
from tests.support.spaces import (
    cell_identity,
    Draft,
    PROPERTY,
    active,
    drafts,
    number,
    shorthand_in_yaml_space,
    shorthand_space,
    typed,
    unconditional,
    yaml_space,
)

SPELLINGS = {
    "yaml": yaml_space,
    "yaml-when-list": lambda space: yaml_space(space, when_as_list=True),
    "shorthand": shorthand_space,
    "shorthand-in-yaml": shorthand_in_yaml_space,
}


def assert_matches(param: Any, draft: Draft) -> None:
    """The parsed parameter is exactly the draft: kind, bounds, scale, step, choices, conditions."""
    assert param.name == draft.name
    assert param.kind == draft.kind
    if draft.kind == "categorical":
        assert isinstance(param, CategoricalParam)
        assert typed(param.choices) == typed(draft.choices)
    else:
        assert isinstance(param, FloatParam if draft.kind == "float" else IntParam)
        assert typed([param.low, param.high]) == typed([number(draft, draft.low), number(draft, draft.high)])
        assert param.log is draft.log
        default_step = None if draft.kind == "float" else 1
        expected_step = default_step if draft.step is None else number(draft, draft.step)
        assert typed(param.step) == typed(expected_step)
    assert [(c.param, c.op, typed(c.value)) for c in param.when] == \
        [(p, op, typed(v)) for p, op, v in draft.when]


# --------------------------------------------------------------------- parsing


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
@PROPERTY
@given(space=drafts())
def test_every_spelling_parses_to_what_was_meant(spelling: str, space: list[Draft]) -> None:
    """YAML mappings, shorthands and shorthands inside YAML are the same language."""
    parsed = SPELLINGS[spelling](space)
    assert list(parsed.params) == [d.name for d in space]
    for draft in space:
        assert_matches(parsed.params[draft.name], draft)


@PROPERTY
@given(space=drafts())
def test_to_spec_round_trips_through_study_yaml(space: list[Draft]) -> None:
    """study.yaml stores ``to_spec()``; reading it back must give the same space."""
    original = yaml_space(space)
    spec = original.to_spec()
    reread = Space.from_spec(parse_yaml(dump_yaml(spec), "study.yaml"))
    assert typed(reread.to_spec()) == typed(spec)
    for draft in space:
        assert_matches(reread.params[draft.name], draft)


@pytest.mark.parametrize("value", ["1", "2.5", "true", "null", ""])
def test_string_condition_values_round_trip(value: str) -> None:
    """A condition on a string choice that looks like a number, a keyword or is blank survives to_spec."""
    spec = {"opt": [value, "other"], "m": {"type": "float", "low": 0, "high": 1, "when": [f"opt == '{value}'"]}}
    space = Space.from_spec(spec)
    assert space.params["m"].when[0].value == value
    reread = Space.from_spec(parse_yaml(dump_yaml(space.to_spec()), "study.yaml"))
    assert typed(reread.to_spec()) == typed(space.to_spec())
    assert reread.build(lambda p, _: p.choices[0] if p.name == "opt" else 0.5) == {"opt": value, "m": 0.5}


@pytest.mark.parametrize("shorthand_text, expected", [
    ("1..8", {"type": "int", "low": 1, "high": 8}),
    ("1e-5..1e-1:log", {"type": "float", "low": 1e-5, "high": 0.1, "log": True}),
    ("0..0.5:0.1", {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1}),
    ("16..256:log", {"type": "int", "low": 16, "high": 256, "log": True}),
    ("0..100:5", {"type": "int", "low": 0, "high": 100, "step": 5}),
    ("adam,sgd,rmsprop", {"type": "categorical", "choices": ["adam", "sgd", "rmsprop"]}),
    ("true,false,1,1.5,'2',null", {"type": "categorical", "choices": [True, False, 1, 1.5, "2", None]}),
])
def test_shorthand_examples(shorthand_text: str, expected: dict) -> None:
    """The documented shorthands mean what the README table says."""
    assert typed(Space.from_shorthands([f"x={shorthand_text}"]).to_spec()["x"]) == typed(expected)


@pytest.mark.parametrize("when, present, absent", [
    ("opt == sgd", {"opt": "sgd", "n": 1}, {"opt": "adam", "n": 1}),
    ("n >= 3", {"opt": "adam", "n": 3}, {"opt": "adam", "n": 2}),
    ("opt in [sgd, rmsprop]", {"opt": "rmsprop", "n": 1}, {"opt": "adam", "n": 1}),
    ("opt not in [sgd, rmsprop]", {"opt": "adam", "n": 1}, {"opt": "sgd", "n": 1}),
    ("opt == sgd and n >= 3", {"opt": "sgd", "n": 4}, {"opt": "sgd", "n": 2}),
    ("n != 2", {"opt": "sgd", "n": 1}, {"opt": "sgd", "n": 2}),
])
def test_conditions_decide_presence(when: str, present: dict, absent: dict) -> None:
    """A conditional parameter is required where its condition holds and refused elsewhere."""
    space = Space.from_shorthands(["opt=adam,sgd,rmsprop", "n=1..4", f"units=16..256:log if {when}"])
    assert space.validate({**present, "units": 32}) == {**present, "units": 32}
    assert space.validate(absent) == absent
    with pytest.raises(InvalidInput, match="missing parameter"):
        space.validate(present)
    with pytest.raises(InvalidInput, match="inactive"):
        space.validate({**absent, "units": 32})


@pytest.mark.parametrize("when, tag, present", [
    ("tag == 1", 1, True), ("tag == 1", True, False),
    ("tag == true", True, True), ("tag == true", 1, False),
    ("tag in [1, 2.5]", True, False), ("tag in [true]", 1, False),
    ("tag != true", 1, True), ("tag not in [1]", True, True),
])
def test_conditions_keep_true_apart_from_one(when: str, tag: Any, present: bool) -> None:
    """YAML ``true`` and ``1`` are different choices, so a condition on one must not match the other."""
    space = Space.from_shorthands(["tag=1,true,2.5", f"m=0..1 if {when}"])
    params = space.build(lambda p, _: tag if p.name == "tag" else 0)
    assert ("m" in params) is present


def test_documented_space_round_trips_through_study_yaml() -> None:
    """Every condition form of the README survives study.yaml, including joined conditions."""
    space = Space.from_shorthands([
        "lr=1e-5..1e-1:log", "n_layers=1..8", "dropout=0..0.5:0.1", "opt=adam,sgd,rmsprop",
        "momentum=0..0.99 if opt == sgd", "units=16..256:log if n_layers >= 3",
        "beta=0.5..0.999 if opt in [adam, rmsprop] and n_layers < 6", "nesterov=true,false if opt not in [adam]",
    ])
    reread = Space.from_spec(parse_yaml(dump_yaml(space.to_spec()), "study.yaml"))
    assert typed(reread.to_spec()) == typed(space.to_spec())
    assert [[(c.param, c.op, typed(c.value)) for c in p.when] for p in reread] == \
        [[(c.param, c.op, typed(c.value)) for c in p.when] for p in space]


def test_numeric_yaml_bounds_written_as_strings() -> None:
    """YAML 1.1 reads ``1e-5`` as a string; bounds must still be numbers."""
    space = Space.from_spec(yaml.safe_load("lr: {type: float, low: 1e-5, high: 1e-1, log: true}"))
    assert (space.params["lr"].low, space.params["lr"].high) == (1e-5, 0.1)


@pytest.mark.parametrize("spec, kind", [
    ({"low": 1, "high": 8}, "int"),
    ({"low": 1, "high": 8, "step": 2}, "int"),
    ({"low": 0, "high": 0.5}, "float"),
    ({"low": 0, "high": 1, "step": 0.25}, "float"),
    ({"choices": ["a", "b"]}, "categorical"),
])
def test_type_is_inferred_when_omitted(spec: dict, kind: str) -> None:
    assert Space.from_spec({"x": spec}).params["x"].kind == kind


# --------------------------------------------------------------------- encoding


def encoded_values(param: Any, us: list[float]) -> list:
    return [param.from_unit(u) for u in (0.0, 1.0, *us)]


@PROPERTY
@given(space=drafts(), us=st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_from_unit_gives_valid_values(space: list[Draft], us: list[float]) -> None:
    """Whatever a sampler draws in [0, 1] maps to a value in range, on the grid, of the right type."""
    parsed = yaml_space(space)
    for draft in space:
        param = parsed.params[draft.name]
        for value in encoded_values(param, us):
            assert typed(param.validate(value, None, draft.name)) == typed(value)
            if draft.kind == "float" and draft.step is not None:
                assert value in draft.float_grid()
            u = param.to_unit(value)
            assert 0.0 <= u <= 1.0


@PROPERTY
@given(space=drafts(), us=st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_to_unit_then_from_unit_gives_the_value_back(space: list[Draft], us: list[float]) -> None:
    """A model-based sampler that stores points as unit coordinates must get the same value back."""
    parsed = yaml_space(space)
    for draft in space:
        param = parsed.params[draft.name]
        for value in encoded_values(param, us):
            again = param.from_unit(param.to_unit(value))
            if draft.kind == "float" and draft.step is None:
                assert again == pytest.approx(value, rel=1e-9, abs=1e-12)
            else:
                assert typed(again) == typed(value)


@pytest.mark.parametrize("text, values", [
    ("1..4", [1, 2, 3, 4]),
    ("0..0.5:0.1", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]),
    ("a,b,c", ["a", "b", "c"]),
])
def test_from_unit_gives_every_value_an_equal_share(text: str, values: list) -> None:
    """Equal slices of [0, 1] map to each value, so a uniform sampler is uniform over values."""
    param = Space.from_shorthands([f"x={text}"]).params["x"]
    n = len(values)
    assert (param.from_unit(0.0), param.from_unit(1.0)) == (values[0], values[-1])
    assert [param.from_unit((i + 0.5) / n) for i in range(n)] == values
    assert [param.from_unit((i + 0.01) / n) for i in range(n)] == values
    assert [param.from_unit((i + 0.99) / n) for i in range(n)] == values


def draw_all(space: Space, us: list[float]) -> dict:
    stream = itertools.cycle(us)
    return space.build(lambda param, _partial: param.from_unit(next(stream)))


@PROPERTY
@given(space=drafts(), us=st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_built_sets_are_valid_and_follow_conditions(space: list[Draft], us: list[float]) -> None:
    """``build`` asks only for active parameters; ``validate`` accepts exactly that set."""
    parsed = yaml_space(space)
    params = draw_all(parsed, us)
    assert typed(parsed.validate(params)) == typed(params)
    built: dict = {}
    for draft in space:
        if active(draft, built):
            assert draft.name in params
            built[draft.name] = params[draft.name]
        else:
            assert draft.name not in params
    assert list(built) == list(params)


@PROPERTY
@given(space=drafts(), us=st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_validate_rejects_missing_and_inactive_parameters(space: list[Draft], us: list[float]) -> None:
    parsed = yaml_space(space)
    params = draw_all(parsed, us)
    for name in params:
        with pytest.raises(InvalidInput) as missing:
            parsed.validate({k: v for k, v in params.items() if k != name})
        assert missing.value.field == f"params.{name}"
    for name, param in parsed.params.items():
        if name not in params:
            with pytest.raises(InvalidInput) as inactive:
                parsed.validate({**params, name: param.from_unit(0.5)})
            assert inactive.value.field == f"params.{name}"
    with pytest.raises(InvalidInput) as unknown:
        parsed.validate({**params, "no_such_param": 1})
    assert unknown.value.field == "params.no_such_param"


@pytest.mark.parametrize("spec, value", [
    ("0..0.5:0.1", 0.25),
    ("0..0.5:0.1", 0.6),
    ("0..0.5", -0.1),
    ("0..0.5", True),
    ("0..0.5", "0.3"),
    ("0..0.5", float("nan")),
    ("1..8", 2.0),
    ("1..8", 9),
    ("0..10:2", 3),
    ("1,2,a", "1"),
    ("1,2,a", True),
    ("1,true", 1.0),
])
def test_validate_rejects_wrong_values(spec: str, value: Any) -> None:
    """Off-grid, out-of-range and wrong-type values name the parameter and the value."""
    space = Space.from_shorthands([f"x={spec}"])
    with pytest.raises(InvalidInput) as error:
        space.validate({"x": value})
    assert error.value.field == "params.x"
    assert repr(value) in str(error.value)


# --------------------------------------------------------------------- grid


def expected_cells(space: list[Draft], parsed: Space) -> set:
    """Brute force: every combination of all grid values, with inactive parameters dropped."""
    grids = [parsed.params[d.name].grid_values() for d in space]
    cells = set()
    for combination in itertools.product(*grids):
        cell: dict = {}
        for draft, value in zip(space, combination):
            if active(draft, cell):
                cell[draft.name] = value
        cells.add(cell_identity(cell))
    return cells


@PROPERTY
@given(space=drafts(gridable=True))
def test_grid_cells_are_distinct_valid_and_complete(space: list[Draft]) -> None:
    """Each active combination appears once; inactive parameters do not multiply cells."""
    parsed = yaml_space(space)
    cells = parsed.grid_cells()
    identities = [cell_identity(c) for c in cells]
    assert len(set(identities)) == len(identities)
    for cell in cells:
        assert typed(parsed.validate(cell)) == typed(cell)
    assert set(identities) == expected_cells(space, parsed)


@PROPERTY
@given(space=drafts(gridable=True).map(unconditional))
def test_unconditional_grid_size_is_the_product(space: list[Draft]) -> None:
    assert len(yaml_space(space).grid_cells()) == math.prod(d.grid_size() for d in space)


@PROPERTY
@given(space=drafts(gridable=True))
def test_float_grid_values_are_clean_decimals(space: list[Draft]) -> None:
    """``0..0.5:0.1`` must give 0.3, not 0.30000000000000004, or params files and grids disagree."""
    parsed = yaml_space(space)
    for draft in space:
        if draft.kind == "float":
            assert parsed.params[draft.name].grid_values() == draft.float_grid()


@pytest.mark.parametrize("text, values", [
    ("0..0.5:0.1", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]),
    ("0.1..0.7:0.2", [0.1, 0.3, 0.5, 0.7]),
    ("0..1:0.3", [0.0, 0.3, 0.6, 0.9]),
    ("-0.3..0.3:0.15", [-0.3, -0.15, 0.0, 0.15, 0.3]),
    ("1..2.5:0.5", [1.0, 1.5, 2.0, 2.5]),
])
def test_float_step_examples(text: str, values: list[float]) -> None:
    assert Space.from_shorthands([f"x={text}"]).params["x"].grid_values() == values


def test_conditional_grid_does_not_multiply_inactive_params() -> None:
    space = Space.from_shorthands(["opt=adam,sgd", "momentum=0..0.9:0.3 if opt == sgd"])
    assert space.grid_cells() == [
        {"opt": "adam"},
        {"opt": "sgd", "momentum": 0.0}, {"opt": "sgd", "momentum": 0.3},
        {"opt": "sgd", "momentum": 0.6}, {"opt": "sgd", "momentum": 0.9},
    ]


# --------------------------------------------------------------------- parse errors

PARSE_ERRORS = {
    # id: (space spec as in a YAML file, field, offending value)
    "condition-on-undefined": ({"m": "0..1 if opt == sgd"}, "space.m.when", "opt == sgd"),
    "condition-on-later": ({"m": "0..1 if opt == sgd", "opt": "adam,sgd"}, "space.m.when", "opt == sgd"),
    "condition-on-itself": ({"m": "0..1 if m > 0.5"}, "space.m.when", "m > 0.5"),
    "ordering-on-categorical": ({"opt": "adam,sgd", "m": "0..1 if opt < sgd"}, "space.m.when", "opt < sgd"),
    "ordering-on-categorical-yaml": ({"opt": ["adam", "sgd"], "m": {"low": 0, "high": 1, "when": "opt >= adam"}},
                                     "space.m.when", "opt >= adam"),
    "condition-value-not-a-choice": ({"opt": "adam,sgd", "m": "0..1 if opt == rmsprop"}, "space.m.when", "rmsprop"),
    "numeric-compared-with-word": ({"n": "1..8", "m": "0..1 if n == many"}, "space.m.when", "n == many"),
    "bad-condition-operator": ({"opt": "adam,sgd", "m": "0..1 if opt ~ sgd"}, "space.m.when", "opt ~ sgd"),
    "bad-condition-no-value": ({"opt": "adam,sgd", "m": {"low": 0, "high": 1, "when": "opt =="}},
                               "space.m.when", "opt =="),
    "bad-condition-second-part": ({"n": "1..8", "m": "0..1 if n > 2 and n ~ 3"}, "space.m.when", "n ~ 3"),
    "condition-not-a-string": ({"n": "1..8", "m": {"low": 0, "high": 1, "when": 3}}, "space.m.when", 3),
    "log-low-zero": ({"lr": "0..0.1:log"}, "space.lr.low", 0),
    "log-low-negative": ({"lr": {"type": "float", "low": -1, "high": 1, "log": True}}, "space.lr.low", -1),
    "int-log-low-zero": ({"units": {"type": "int", "low": 0, "high": 256, "log": True}}, "space.units.low", 0),
    "low-above-high-int": ({"n": "8..1"}, "space.n.low", 8),
    "low-above-high-float": ({"lr": {"type": "float", "low": 0.5, "high": 0.1}}, "space.lr.low", 0.5),
    "unknown-key": ({"lr": {"type": "float", "low": 0, "high": 1, "lgo": True}}, "space.lr.lgo", True),
    "unknown-key-categorical": ({"opt": {"choices": ["a"], "low": 0}}, "space.opt.low", 0),
    "unknown-type": ({"lr": {"type": "real", "low": 0, "high": 1}}, "space.lr.type", "real"),
    "int-float-low": ({"n": {"type": "int", "low": 1.5, "high": 8}}, "space.n.low", 1.5),
    "int-float-high": ({"n": {"type": "int", "low": 1, "high": 8.5}}, "space.n.high", 8.5),
    "int-float-step": ({"n": {"type": "int", "low": 1, "high": 8, "step": 0.5}}, "space.n.step", 0.5),
    "int-log-with-step": ({"n": {"type": "int", "low": 1, "high": 64, "log": True, "step": 2}}, "space.n.step", 2),
    "float-log-with-step": ({"lr": "0.1..1.0:log:0.1"}, "space.lr.step", 0.1),
    "step-zero": ({"d": "0..1:0"}, "space.d.step", 0),
    "step-negative": ({"d": {"type": "float", "low": 0, "high": 1, "step": -0.1}}, "space.d.step", -0.1),
    "bound-not-a-number": ({"n": "a..8"}, "space.n.low", "a"),
    "bound-infinite": ({"x": {"type": "float", "low": 0, "high": float("inf")}}, "space.x.high", float("inf")),
    "bound-boolean": ({"x": {"type": "float", "low": False, "high": 1}}, "space.x.low", False),
    "log-not-boolean": ({"x": {"type": "float", "low": 1, "high": 2, "log": "yes"}}, "space.x.log", "yes"),
    "bad-modifier": ({"x": "0..1:fast"}, "space.x", "fast"),
    "duplicate-choice": ({"opt": ["adam", "sgd", "adam"]}, "space.opt", "adam"),
    "duplicate-choice-shorthand": ({"opt": "adam,sgd,adam"}, "space.opt", "adam"),
    "duplicate-boolean-choice": ({"flag": [True, False, True]}, "space.flag", True),
    "empty-choices": ({"opt": {"type": "categorical", "choices": []}}, "space.opt", []),
    "empty-choice-list": ({"opt": []}, "space.opt", []),
    "choice-not-scalar": ({"opt": ["a", ["b"]]}, "space.opt", ["b"]),
    "choices-not-a-list": ({"opt": {"choices": "a,b"}}, "space.opt.choices", "a,b"),
    "missing-high": ({"x": {"type": "float", "low": 0}}, "space.x", {"type": "float", "low": 0}),
    "spec-not-a-mapping": ({"x": 3}, "space.x", 3),
    "bad-name": ({"1x": "1..8"}, "space.1x", "1x"),
}


@pytest.mark.parametrize("spec, field, value", PARSE_ERRORS.values(), ids=PARSE_ERRORS.keys())
def test_parse_errors_name_field_and_value(spec: dict, field: str, value: Any) -> None:
    """A user must see which field is wrong and what they wrote, in one line."""
    with pytest.raises(InvalidInput) as error:
        Space.from_spec(spec, file="space.yaml")
    message = str(error.value)
    assert error.value.field == field
    assert f"field '{field}'" in message
    assert (str(value) if isinstance(value, str) and field.endswith(".when") else repr(value)) in message
    assert message.startswith("space.yaml: ")


@pytest.mark.parametrize("items, field, value", [
    (["lr=0..0.1:log"], "-p lr.low", 0),
    (["n=8..1"], "-p n.low", 8),
    (["opt=adam,adam"], "-p opt", "adam"),
    (["m=0..1 if opt == sgd", "opt=adam,sgd"], "space.m.when", "opt == sgd"),
    (["lr"], "-p", "lr"),
    (["=1..8"], "-p", "=1..8"),
])
def test_command_line_errors_name_the_option(items: list[str], field: str, value: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        Space.from_shorthands(items)
    assert error.value.field == field
    assert str(value) in str(error.value)


@pytest.mark.parametrize("spec", [{}, [], "lr=1..2", None])
def test_space_must_be_a_non_empty_mapping(spec: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        Space.from_spec(spec)
    assert error.value.field == "space"


@pytest.mark.parametrize("name", ["path", "HOME", "ifs", "ld_preload", "asktell_trial", "pythonpath"])
def test_names_that_would_overwrite_the_environment_are_refused(name: str) -> None:
    """``asktell params --format env`` output is eval'd: a parameter must never set $PATH and kin."""
    for build in (lambda: Space.from_spec({name: "0..1"}), lambda: Space.from_shorthands([f"{name}=0..1"])):
        with pytest.raises(InvalidInput) as error:
            build()
        assert name in str(error.value) and "environment" in str(error.value)
