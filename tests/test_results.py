"""Result files: what a pipeline reports back, checked against the study's objectives."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

import asktell
from asktell.config import Objective
from asktell.errors import InvalidInput
from asktell.results import RESULT_NAME, Result, check_values, parse_result, read_result
from asktell.trial import COMPLETE, FAILED, PRUNED
from tests.support.files import schema_problems

LOSS = (Objective("loss", "minimize"),)
LOSS_ACC = (Objective("loss", "minimize"), Objective("acc", "maximize"))


@pytest.mark.parametrize("data, objectives, expected", [
    ({"value": 0.12}, LOSS, Result(COMPLETE, {"loss": 0.12})),
    ({"value": 3}, LOSS, Result(COMPLETE, {"loss": 3.0})),
    ({"values": {"loss": 0.12}}, LOSS, Result(COMPLETE, {"loss": 0.12})),
    ({"values": {"acc": 0.9, "loss": 0.1}}, LOSS_ACC, Result(COMPLETE, {"loss": 0.1, "acc": 0.9})),
    ({"state": FAILED}, LOSS_ACC, Result(FAILED, None)),
    ({"state": FAILED, "values": {}}, LOSS, Result(FAILED, None)),
    ({"state": PRUNED, "values": {"acc": 0.5}}, LOSS_ACC, Result(PRUNED, {"acc": 0.5})),
    ({"format": "asktell/1", "value": 1, "attrs": {"epochs": 12}}, LOSS,
     Result(COMPLETE, {"loss": 1.0}, {"epochs": 12})),
    ({"value": 1, "constraints": {"memory_gb": -0.5, "latency.ms": "2"}}, LOSS,
     Result(COMPLETE, {"loss": 1.0}, constraints={"memory_gb": -0.5, "latency.ms": 2.0})),
])
def test_parse_result_accepts(data: dict, objectives: tuple, expected: Result) -> None:
    """Values come back as floats keyed in the study's objective order; partial values only if not complete."""
    result = parse_result(data, objectives, "result.yaml")
    assert result == expected
    assert list(result.values or {}) == [o.name for o in objectives if o.name in (result.values or {})]
    assert all(type(v) is float for v in (result.values or {}).values())


def test_values_written_as_yaml_strings_are_numbers() -> None:
    """YAML 1.1 reads ``value: 1e-5`` as the string '1e-5'; it must still count as 1e-5."""
    data = yaml.safe_load("value: 1e-5")
    assert data == {"value": "1e-5"}
    assert parse_result(data, LOSS, "result.yaml").values == {"loss": 1e-5}


REJECTED = {
    # id: (result data, objectives, field)
    "missing-objective": ({"values": {"loss": 0.1}}, LOSS_ACC, "values.acc"),
    "complete-without-values": ({}, LOSS, "values"),
    "complete-explicitly-without-values": ({"state": COMPLETE}, LOSS_ACC, "values"),
    "unknown-objective": ({"values": {"loss": 0.1, "los": 0.2}}, LOSS, "values.los"),
    "value-with-two-objectives": ({"value": 0.1}, LOSS_ACC, "value"),
    "value-and-values": ({"value": 0.1, "values": {"loss": 0.1}}, LOSS, "value"),
    "null-value": ({"values": {"loss": None}}, LOSS, "values.loss"),
    "values-not-a-mapping": ({"values": [0.1]}, LOSS, "values"),
    "unknown-field": ({"value": 0.1, "loss": 0.1}, LOSS, "loss"),
    "unknown-state": ({"value": 0.1, "state": "done"}, LOSS, "state"),
    "running-state": ({"value": 0.1, "state": "running"}, LOSS, "state"),
    "wrong-format": ({"format": "asktell/2", "value": 0.1}, LOSS, "format"),
    "attrs-not-a-mapping": ({"value": 0.1, "attrs": [1]}, LOSS, "attrs"),
    "constraints-not-a-mapping": ({"value": 0.1, "constraints": [1]}, LOSS, "constraints"),
    "constraints-empty": ({"value": 0.1, "constraints": {}}, LOSS, "constraints"),
    "constraint-not-a-number": ({"value": 0.1, "constraints": {"mem": "lots"}}, LOSS, "constraints.mem"),
    "constraint-nan": ({"value": 0.1, "constraints": {"mem": float("nan")}}, LOSS, "constraints.mem"),
    "constraint-bad-name": ({"value": 0.1, "constraints": {"two words": 1}}, LOSS, "constraints"),
}


@pytest.mark.parametrize("data, objectives, field", REJECTED.values(), ids=REJECTED.keys())
def test_parse_result_rejects(data: dict, objectives: tuple, field: str) -> None:
    """``tell`` prints this one line; it must name the file and the field to fix."""
    with pytest.raises(InvalidInput) as error:
        parse_result(data, objectives, "trials/000003/result.yaml")
    assert error.value.field == field
    assert str(error.value).startswith(f"trials/000003/result.yaml: field '{field}': ")


BAD_NUMBERS = [float("nan"), float("inf"), -float("inf"), True, False, "fast", "nan", "-inf", [0.1]]


@pytest.mark.parametrize("bad", BAD_NUMBERS, ids=repr)
@pytest.mark.parametrize("data_for", [lambda bad: {"values": {"loss": bad}}, lambda bad: {"value": bad}],
                         ids=["values", "value"])
def test_non_finite_or_non_numbers_are_rejected(bad: Any, data_for) -> None:
    """Only finite numbers are results; the error shows the value the pipeline wrote."""
    with pytest.raises(InvalidInput) as error:
        parse_result(data_for(bad), LOSS, "result.yaml")
    assert error.value.field in ("values.loss", "value")
    assert repr(bad) in str(error.value) or str(bad) in str(error.value)


@pytest.mark.parametrize("data, field", [
    ({"values": {"loss": float("nan")}}, "values.loss"),
    ({"value": float("nan")}, "value"),
])
def test_bad_number_error_names_the_field_as_written(data: dict, field: str) -> None:
    """A file holding ``value: .nan`` has no ``values.loss``; the error must point at ``value``."""
    with pytest.raises(InvalidInput) as error:
        parse_result(data, LOSS, "result.yaml")
    assert error.value.field == field


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), True, "fast"], ids=repr)
def test_check_values_rejects_bad_numbers_under_any_state(bad: Any) -> None:
    """A pruned trial's partial values are checked as strictly as a complete one's."""
    for state in (COMPLETE, PRUNED, FAILED):
        with pytest.raises(InvalidInput) as error:
            check_values({"loss": bad}, LOSS, state, None)
        assert error.value.field == "values.loss"


# --------------------------------------------------------------------- the pipeline side


@pytest.fixture
def trial_dir(tmp_path: Path) -> Path:
    """A real trial folder, as ``asktell ask`` leaves it."""
    study = asktell.Study.create(tmp_path / "study", {"lr": "1e-5..1e-1:log", "opt": "adam,sgd"},
                                 objectives={"loss": "minimize", "acc": "maximize"}, seed=1)
    return study.ask().path


@pytest.mark.parametrize("call, objectives, expected", [
    (lambda d: asktell.save_result(0.12, path=d), LOSS, Result(COMPLETE, {"loss": 0.12})),
    (lambda d: asktell.save_result(1e-5, path=d), LOSS, Result(COMPLETE, {"loss": 1e-5})),
    (lambda d: asktell.save_result(loss=0.1, acc=0.9, path=d), LOSS_ACC, Result(COMPLETE, {"loss": 0.1, "acc": 0.9})),
    (lambda d: asktell.save_result({"loss": 0.1, "acc": 2}, path=d), LOSS_ACC,
     Result(COMPLETE, {"loss": 0.1, "acc": 2.0})),
    (lambda d: asktell.save_result(state=FAILED, path=d), LOSS_ACC, Result(FAILED, None)),
    (lambda d: asktell.save_result(0.5, state=PRUNED, attrs={"epochs": 3, "note": "early"}, path=d), LOSS,
     Result(PRUNED, {"loss": 0.5}, {"epochs": 3, "note": "early"})),
])
def test_save_result_writes_what_read_result_reads(trial_dir: Path, call, objectives: tuple,
                                                   expected: Result) -> None:
    """The file round-trips and matches the published schema."""
    path = call(trial_dir)
    assert path == trial_dir / RESULT_NAME
    assert read_result(path, objectives) == expected
    assert schema_problems("result", yaml.safe_load(path.read_text())) == []


@pytest.mark.parametrize("call, field", [
    (lambda d: asktell.save_result(float("nan"), path=d), "value"),
    (lambda d: asktell.save_result(loss=float("nan"), path=d), "values.loss"),
    (lambda d: asktell.save_result({"loss": math.inf}, path=d), "values.loss"),
    (lambda d: asktell.save_result(True, path=d), "value"),
    (lambda d: asktell.save_result(0.1, loss=0.2, path=d), "values"),
    (lambda d: asktell.save_result(0.1, state="done", path=d), "state"),
])
def test_save_result_refuses_bad_values_and_writes_nothing(trial_dir: Path, call, field: str) -> None:
    """Refused where the number was made, so the step that made it can say why."""
    with pytest.raises(InvalidInput) as error:
        call(trial_dir)
    assert error.value.field == field
    assert not (trial_dir / RESULT_NAME).exists()


def test_save_result_accepts_numpy_scalars(trial_dir: Path) -> None:
    """Metrics computed with numpy are often float32 or int64, which are not Python floats."""
    numpy = pytest.importorskip("numpy")
    asktell.save_result(loss=numpy.float32(0.5), acc=numpy.int64(1), path=trial_dir)
    assert read_result(trial_dir / RESULT_NAME, LOSS_ACC).values == {"loss": 0.5, "acc": 1.0}


def test_save_result_needs_an_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        asktell.save_result(0.1, path=tmp_path / "missing")


def test_load_params_reads_the_trial_dir_from_the_environment(trial_dir: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A step started by ``asktell run`` or a job script finds its trial without arguments."""
    expected = yaml.safe_load((trial_dir / "params.yaml").read_text())["params"]
    monkeypatch.setenv("ASKTELL_TRIAL_DIR", str(trial_dir))
    assert asktell.load_params() == expected
    assert asktell.load_params(trial_dir) == expected
    assert set(expected) == {"lr", "opt"}
    asktell.save_result(loss=0.1, acc=0.2)
    assert read_result(trial_dir / RESULT_NAME, LOSS_ACC).values == {"loss": 0.1, "acc": 0.2}


def test_load_params_without_a_trial_dir_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASKTELL_TRIAL_DIR", raising=False)
    with pytest.raises(InvalidInput, match="ASKTELL_TRIAL_DIR"):
        asktell.load_params()
