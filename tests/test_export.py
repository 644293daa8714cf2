"""``asktell trials --format jsonl`` and ``asktell export``: every trial read back as it was recorded."""

from __future__ import annotations

import csv
import json

import pytest

from asktell.export import EXPORTS
from asktell.output import render_trials
from asktell.space import parse_scalar
from asktell.study import Study
from tests.conftest import run_asktell
from tests.support.studies import TWO, build_study


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Study:
    return build_study(tmp_path_factory.mktemp("export") / "study", TWO, trials=12)


def test_jsonl_is_one_trial_record_per_line(study) -> None:
    lines = render_trials(study.trials, study.config, "jsonl").splitlines()
    assert [json.loads(line) for line in lines] == json.loads(render_trials(study.trials, study.config, "json"))
    assert len(lines) == len(study.trials)


def test_export_writes_what_trials_prints_and_it_reads_back(study, tmp_path) -> None:
    result = run_asktell("export", study.path, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(EXPORTS)
    for name, fmt in EXPORTS.items():
        printed = run_asktell("trials", study.path, "--format", fmt)
        assert printed.returncode == 0, printed.stderr
        assert (tmp_path / "out" / name).read_text() == printed.stdout

    records = study.trials
    jsonl = [json.loads(line) for line in (tmp_path / "out" / "trials.jsonl").read_text().splitlines()]
    assert [(r["trial"], r["state"], r["params"], r.get("values"), r.get("host")) for r in jsonl] == \
        [(t.number, t.state, t.params, t.values, t.host) for t in records]
    assert [r.get("duration_s") for r in jsonl] == [None if t.duration is None else round(t.duration, 3)
                                                     for t in records]
    assert jsonl[0]["intermediate"]["loss"] == {str(s): v for s, v in records[0].intermediate["loss"].items()}

    with open(tmp_path / "out" / "trials.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    names = list(study.config.space.params)
    assert [{n: parse_scalar(r[n]) for n in names if r[n] != ""} for r in rows] == [t.params for t in records]
    assert [r["state"] for r in rows] == [t.state for t in records]
    assert [float(r["loss"]) if r["loss"] else None for r in rows] == \
        [t.values["loss"] if t.values else None for t in records]
    assert [r["host"] for r in rows] == [t.host for t in records]


def test_export_into_a_file_is_an_input_error(study, tmp_path) -> None:
    (tmp_path / "taken").write_text("")
    result = run_asktell("export", study.path, tmp_path / "taken")
    assert result.returncode == 2 and "not a folder" in result.stderr
