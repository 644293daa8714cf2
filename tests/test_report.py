"""Intermediate values: ``Study.report`` records them under the lock for pruners and plots to read."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from asktell import Study
from asktell.errors import InvalidInput
from asktell.snapshot import read_snapshot
from asktell.trial import ALL


@pytest.fixture
def opened(tmp_path: Path) -> Study:
    return Study.create(tmp_path / "study", {"x": "0.0..1.0"}, objectives={"loss": "minimize"}, seed=1)


def test_reports_replay_by_metric_and_step_and_a_repeated_step_replaces(opened: Study, valid_files) -> None:
    trial = opened.ask()
    for step in range(3):
        opened.report(trial.number, step, {"loss": 1.0 / (step + 1), "acc": 0.5 + step / 10})
    record, _ = opened.report(trial.number, 1, {"loss": 0.4})
    assert record.intermediate == {"loss": {0: 1.0, 1: 0.4, 2: 1 / 3}, "acc": {0: 0.5, 1: 0.6, 2: 0.7}}
    assert record.heartbeat_at is not None  # a report is a sign of life
    opened.compact()
    assert read_snapshot(opened.layout.snapshot, ALL).history.get(trial.number).intermediate == record.intermediate
    opened.tell(trial, 0.3)
    mirror = yaml.safe_load((opened.trial_dir(trial.number) / "trial.yaml").read_text())
    assert mirror["intermediate"]["loss"] == {0: 1.0, 1: 0.4, 2: 1 / 3}
    valid_files(opened.path)


@pytest.mark.parametrize(("step", "values", "field"), [
    (-1, {"loss": 1.0}, "step"),
    (1.5, {"loss": 1.0}, "step"),
    (0, {"loss": float("nan")}, "values.loss"),
    (0, {}, "values"),
    (0, {"bad name": 1.0}, "values"),
])
def test_bad_reports_are_refused_and_write_nothing(opened: Study, step, values, field) -> None:
    trial = opened.ask()
    before = opened.layout.journal.read_bytes()
    with pytest.raises(InvalidInput) as error:
        opened.report(trial.number, step, values)
    assert error.value.field == field
    assert opened.layout.journal.read_bytes() == before


def test_a_told_trial_takes_no_more_reports(opened: Study) -> None:
    trial = opened.ask()
    opened.tell(trial, 0.5)
    with pytest.raises(InvalidInput, match="takes no more reports"):
        opened.report(trial.number, 0, {"loss": 1.0})
