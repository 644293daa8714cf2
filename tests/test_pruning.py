"""Pruning from the shell and from Python: the pruner in study.yaml, report and should-prune, tell pruned.

The pruners' own decisions are tested in test_pruners.py; here the study
around them: what ``create`` stores, what ``report`` writes and when it exits
3, what ``tell --state pruned`` records, and a shell training loop of 4
workers that stops its bad trials early.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

import asktell
from asktell import Study
from asktell.errors import InvalidInput
from tests.conftest import run_asktell
from tests.support.files import journal_events
from tests.test_pipeline_shell import example_env

ROOT = Path(__file__).resolve().parents[1]
EXIT_PRUNE = 3


def ok(*args) -> subprocess.CompletedProcess:
    result = run_asktell(*args)
    assert result.returncode == 0, result.stderr
    return result


def create(path: Path, *args: str) -> Path:
    ok("create", path, "-p", "x=0..1", "--seed", "3", *args)
    return path


def median_study(tmp_path: Path, *args: str) -> Path:
    """Two complete trials that reported 1.0, 0.5, 0.3 and 0.9, 0.4, 0.2 at steps 0-2; median pruning from 2."""
    study = create(tmp_path / "study", "--minimize", "loss", "--pruner", "median", "--pruner-option",
                   "n_startup_trials=2", *args)
    opened = Study.open(study)
    for curve in ([1.0, 0.5, 0.3], [0.9, 0.4, 0.2]):
        trial = opened.ask()
        for step, value in enumerate(curve):
            opened.report(trial.number, step, value)
        opened.tell(trial, curve[-1])
    return study


# ---------------------------------------------------------------------- create


def test_create_stores_the_pruner_in_study_yaml_and_its_copy(tmp_path, valid_files):
    study = create(tmp_path / "study", "--minimize", "loss", "--maximize", "acc", "--pruner", "percentile",
                   "--pruner-option", "percentile=25", "--pruner-option", "n_warmup_steps=3",
                   "--pruner-option", "metric=acc")
    expected = {"name": "percentile", "options": {"percentile": 25, "n_warmup_steps": 3, "metric": "acc"}}
    assert yaml.safe_load((study / "study.yaml").read_text())["pruner"] == expected
    assert json.loads((study / "cache" / "study.json").read_text())["study"]["pruner"] == expected
    config = Study.open(study).config
    assert (config.pruner, config.pruner_options) == ("percentile", expected["options"])
    valid_files(study)


def test_a_study_without_a_pruner_setting_never_prunes(tmp_path, valid_files):
    """Studies created before pruners have no ``pruner`` in study.yaml: they get nop."""
    study = create(tmp_path / "study", "--minimize", "loss")
    config = yaml.safe_load((study / "study.yaml").read_text())
    assert config.pop("pruner") == {"name": "nop", "options": {}}
    (study / "study.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    opened = Study.open(study)
    assert opened.config.pruner == "nop"
    trial = opened.ask()
    assert run_asktell("report", study, trial.number, "--step", "0", "--value", "1e9").returncode == 0
    valid_files(study)


@pytest.mark.parametrize(("field", "change"), [
    ("pruner.name", ["--pruner", "nop"]),
    ("pruner.options.n_startup_trials", ["--pruner", "median", "--pruner-option", "n_startup_trials=3"]),
    ("pruner.options.n_warmup_steps", ["--pruner", "median", "--pruner-option", "n_startup_trials=2",
                                       "--pruner-option", "n_warmup_steps=1"]),
])
def test_create_exist_ok_names_a_different_pruner(tmp_path, field, change):
    study = create(tmp_path / "study", "--minimize", "loss", "--pruner", "median", "--pruner-option",
                   "n_startup_trials=2")
    ok("create", study, "-p", "x=0..1", "--seed", "3", "--minimize", "loss", "--pruner", "median",
       "--pruner-option", "n_startup_trials=2", "--exist-ok")
    result = run_asktell("create", study, "-p", "x=0..1", "--seed", "3", "--minimize", "loss", *change, "--exist-ok")
    assert result.returncode == 2 and field in result.stderr, result.stderr


# ---------------------------------------------------------------------- report and should-prune


def test_report_exits_3_with_one_line_when_the_trial_should_stop(tmp_path, valid_files):
    study = median_study(tmp_path)
    trial = Study.open(study).ask()
    for step, value in enumerate([0.95, 0.45]):
        result = run_asktell("report", study, trial.path, "--step", step, "--value", value)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    result = run_asktell("report", study, trial.path, "--step", "2", "--value", "0.35")
    assert result.returncode == EXIT_PRUNE
    assert result.stderr == f"asktell: trial {trial.number} should be pruned (median: 0.35 worse than 0.25 at step 2)\n"
    assert result.stdout == ""
    reports = [e for e in journal_events(study) if e["event"] == "reported" and e["trial"] == trial.number]
    assert [(e["step"], e["values"]) for e in reports] == [(0, {"loss": 0.95}), (1, {"loss": 0.45}),
                                                           (2, {"loss": 0.35})]  # the pruned step is recorded
    valid_files(study)


def test_should_prune_answers_without_writing(tmp_path):
    study = median_study(tmp_path)
    opened = Study.open(study)
    good, bad = opened.ask(), opened.ask()
    for step, (g, b) in enumerate([(0.8, 1.2), (0.3, 0.6), (0.1, 0.5)]):
        opened.report(good.number, step, g)
        opened.report(bad.number, step, b)
    journal = (study / "journal.jsonl").read_bytes()
    assert run_asktell("should-prune", study, good.number).returncode == 0
    shown = run_asktell("should-prune", study, bad.path)
    assert shown.returncode == EXIT_PRUNE
    assert shown.stderr == f"asktell: trial {bad.number} should be pruned (median: 0.5 worse than 0.25 at step 2)\n"
    assert (study / "journal.jsonl").read_bytes() == journal
    assert opened.should_prune(good.number) is None
    assert opened.should_prune(bad.number) == "median: 0.5 worse than 0.25 at step 2"


def test_a_finished_trial_is_neither_reported_nor_judged(tmp_path):
    study = median_study(tmp_path)
    opened = Study.open(study)
    with pytest.raises(InvalidInput, match="already told complete"):
        opened.should_prune(0)
    result = run_asktell("should-prune", study, "0")
    assert result.returncode == 2 and "already told complete" in result.stderr


def test_report_values_name_metrics_and_value_is_the_watched_objective(tmp_path, valid_files):
    """With several objectives ``--value`` is the pruner's ``metric``; ``--values`` may name any metric."""
    study = create(tmp_path / "study", "--minimize", "loss", "--maximize", "acc", "--pruner", "threshold",
                   "--pruner-option", "lower=0.2", "--pruner-option", "metric=acc")
    trial = Study.open(study).ask()
    ok("report", study, trial.number, "--step", "0", "--value", "0.5")
    ok("report", study, trial.number, "--step", "1", "--values", "loss=0.9", "--values", "grad_norm=3.5")
    low = run_asktell("report", study, trial.number, "--step", "2", "--values", "acc=0.1", "--values", "loss=2")
    assert low.returncode == EXIT_PRUNE and "threshold: 0.1 below the lower bound 0.2 at step 2" in low.stderr
    record = Study.open(study).trial(trial.number)
    assert record.intermediate == {"acc": {0: 0.5, 2: 0.1}, "loss": {1: 0.9, 2: 2.0}, "grad_norm": {1: 3.5}}
    valid_files(study)


def test_report_value_needs_a_watched_objective(tmp_path):
    study = create(tmp_path / "study", "--minimize", "loss", "--maximize", "acc")  # nop, no metric
    trial = Study.open(study).ask()
    result = run_asktell("report", study, trial.number, "--step", "0", "--value", "0.5")
    assert result.returncode == 2 and "give the values by name" in result.stderr, result.stderr
    ok("report", study, trial.number, "--step", "0", "--values", "acc=0.5")


# ---------------------------------------------------------------------- tell pruned


def test_tell_pruned_without_a_value_records_the_last_reported_value(tmp_path, valid_files):
    """The value at the largest step, whatever the order of the reports; telling it again changes nothing."""
    study = median_study(tmp_path)
    opened = Study.open(study)
    trial = opened.ask()
    for step, value in [(0, 0.9), (1, 0.7), (3, 0.6), (2, 0.65)]:
        opened.report(trial.number, step, value)
    told = run_asktell("tell", study, trial.path, "--state", "pruned")
    assert told.returncode == 0 and told.stderr == f"trial {trial.number} pruned: loss=0.6\n", told.stderr
    assert opened.trial(trial.number).values == {"loss": 0.6}
    assert yaml.safe_load((trial.path / "trial.yaml").read_text())["values"] == {"loss": 0.6}
    again = run_asktell("tell", study, trial.number, "--state", "pruned")
    assert again.returncode == 0 and "already told" in again.stderr
    valid_files(study)


def test_tell_pruned_keeps_a_given_value_and_a_trial_without_reports_gets_none(tmp_path):
    study = median_study(tmp_path)
    opened = Study.open(study)
    given, silent = opened.ask(), opened.ask()
    opened.report(given.number, 0, 0.9)
    assert opened.tell(given, 0.75, state="pruned").record.values == {"loss": 0.75}
    assert opened.tell(silent, state="pruned").record.values is None


def test_tell_pruned_fills_in_the_metric_of_a_several_objective_study(tmp_path):
    study = create(tmp_path / "study", "--minimize", "loss", "--maximize", "acc", "--pruner", "nop",
                   "--pruner-option", "metric=acc")
    opened = Study.open(study)
    trial = opened.ask()
    opened.report(trial.number, 0, {"acc": 0.4, "loss": 1.2})
    assert opened.tell(trial, state="pruned").record.values == {"acc": 0.4}


# ---------------------------------------------------------------------- Python


def test_python_report_finds_the_trial_from_the_environment_or_the_current_folder(tmp_path, monkeypatch):
    study = median_study(tmp_path)
    trial = Study.open(study).ask()
    monkeypatch.setenv("ASKTELL_TRIAL_DIR", str(trial.path))
    assert asktell.report(0, 0.95) is False
    assert asktell.report(1, loss=0.45) is False
    monkeypatch.delenv("ASKTELL_TRIAL_DIR")
    monkeypatch.chdir(trial.path)
    assert asktell.load_params() == trial.params
    assert asktell.report(2, 0.35) is True
    assert Study.open(study).trial(trial.number).intermediate == {"loss": {0: 0.95, 1: 0.45, 2: 0.35}}


def test_python_report_outside_a_trial_folder_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv("ASKTELL_TRIAL_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidInput, match="holds no params.yaml"):
        asktell.report(0, 1.0)


# ---------------------------------------------------------------------- the shell example


RUN = ROOT / "pipelines" / "pruning" / "run.sh"


@pytest.mark.slow
def test_shell_training_loops_stop_pruned_trials_early(tmp_path, valid_files):
    """30 trials of 20 epochs, 4 workers, every epoch reported through ``asktell report`` (about a minute)."""
    env = {k: v for k, v in example_env(tmp_path).items() if k not in ("N_TRIALS", "WORKERS", "EPOCHS")}
    result = subprocess.run([str(RUN)], cwd=tmp_path, env={**env, "STUDY": "study", "SEED": "5", "N_TRIALS": "30",
                                                           "WORKERS": "4", "EPOCHS": "20"},
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    study = tmp_path / "study"
    trials = Study.open(study).trials
    assert len(trials) == 30
    stopped = {int(n): int(e) for n, e in re.findall(r"trial (\d+) pruned at epoch (\d+): asktell: trial \1 should "
                                                     r"be pruned \(median: ", result.stdout)}
    pruned = {t.number: t for t in trials if t.state == "pruned"}
    complete = [t for t in trials if t.state == "complete"]
    assert len(pruned) + len(complete) == 30
    assert set(stopped) == set(pruned) and len(pruned) >= 3 and len(complete) >= 5, result.stdout
    for number, record in pruned.items():
        steps = record.intermediate["loss"]
        assert sorted(steps) == list(range(stopped[number] + 1))  # stopped at the step report exited 3 ...
        assert stopped[number] >= 3  # ... never in the warm-up
        assert record.values == {"loss": steps[max(steps)]}  # told pruned with its last reported loss
    assert sum(epoch < 10 for epoch in stopped.values()) >= 3, stopped  # most stop long before the end
    for record in complete:
        assert sorted(record.intermediate["loss"]) == list(range(20))
    check = run_asktell("check", study)
    assert check.returncode == 0 and "0 errors, 0 warnings" in check.stderr, check.stdout + check.stderr
    valid_files(study)


def test_the_shell_example_is_executable():
    assert os.access(RUN, os.X_OK)
