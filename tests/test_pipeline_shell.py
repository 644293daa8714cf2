"""The shell pipeline example, pipelines/shell/, run end to end as a user runs it.

``run.sh`` drives several workers that share one study folder; each trial goes through
``train.sh`` (reads its params with ``asktell params``, fits a small network, writes
``model.txt``) and ``evaluate.sh`` (writes ``result.yaml``) before ``asktell tell``.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from asktell import Study
from asktell.trial import parse_iso
from tests.conftest import run_asktell
from tests.support.files import journal_events
from tests.support.pipelines import asktell_command, max_overlap

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "pipelines" / "shell"
RUN = EXAMPLE / "run.sh"
TRIAL_FILES = ("params.yaml", "model.txt", "result.yaml", "trial.yaml", "train.log", "evaluate.log")
#: Fewer gradient steps than the default: the tests check the plumbing, not the fit.
EPOCHS = "60"


def example_env(tmp_path: Path, **env: str) -> dict[str, str]:
    """The environment of the scripts: this interpreter's CLI, few epochs, no settings of the caller's."""
    inherited = {k: v for k, v in os.environ.items()
                 if k not in ("STUDY", "N_TRIALS", "WORKERS", "SEED", "EPOCHS", "FAIL_TRIAL")}
    return {**inherited, "ASKTELL": asktell_command(tmp_path), "EPOCHS": EPOCHS, **env}


def run_example(tmp_path: Path, study: str, **env: str) -> subprocess.CompletedProcess:
    """Run run.sh from tmp_path (not the repository), as its executable, like a user would."""
    return subprocess.run([str(RUN)], cwd=tmp_path, env=example_env(tmp_path, STUDY=study, **env),
                          capture_output=True, text=True, timeout=600)


def train_interval(log: Path) -> tuple[float, float]:
    """When train.sh started and finished, from the timestamps it logs."""
    text = log.read_text()
    start = re.search(r"started at (\S+)", text)
    end = re.search(r"finished at (\S+)", text)
    assert start and end, f"{log} lacks its start or end timestamp:\n{text}"
    return parse_iso(start.group(1)), parse_iso(end.group(1))


def test_example_scripts_are_executable():
    for name in ("run.sh", "train.sh", "evaluate.sh"):
        mode = (EXAMPLE / name).stat().st_mode
        assert mode & stat.S_IXUSR, f"pipelines/shell/{name} must be executable"


def test_train_and_evaluate_steps_by_hand(tmp_path, valid_files):
    """The two steps, called one after the other on one asked trial, produce a result tell accepts."""
    study = tmp_path / "study"
    created = run_asktell("create", study, "--space", EXAMPLE / "space.yaml", "--minimize", "loss", "--seed", "3")
    assert created.returncode == 0, created.stderr
    asked = run_asktell("ask", study)
    assert asked.returncode == 0, asked.stderr
    trial = Path(asked.stdout.strip())
    env = example_env(tmp_path)

    train = subprocess.run([str(EXAMPLE / "train.sh"), str(trial)], env=env, capture_output=True, text=True,
                           timeout=300)
    assert train.returncode == 0, train.stdout + train.stderr
    assert "train: epoch" in train.stdout
    model = (trial / "model.txt").read_text()
    assert re.search(r"^layers [1-4]$", model, re.M) and re.search(r"^out 0 \S+$", model, re.M)

    evaluate = subprocess.run([str(EXAMPLE / "evaluate.sh"), str(trial)], env=env, capture_output=True,
                              text=True, timeout=300)
    assert evaluate.returncode == 0, evaluate.stdout + evaluate.stderr
    result = yaml.safe_load((trial / "result.yaml").read_text())
    loss = result["values"]["loss"]
    assert isinstance(loss, float) and 0 <= loss < 10

    told = run_asktell("tell", study, trial)
    assert told.returncode == 0, told.stderr
    (record,) = Study.open(study).trials
    assert record.state == "complete" and record.values == {"loss": loss}
    valid_files(study)


def test_evaluate_fails_without_a_model(tmp_path):
    trial = tmp_path / "trial"
    trial.mkdir()
    evaluate = subprocess.run([str(EXAMPLE / "evaluate.sh"), str(trial)], capture_output=True, text=True,
                              timeout=60)
    assert evaluate.returncode == 1
    assert "no model" in evaluate.stderr
    assert not (trial / "result.yaml").exists()


@pytest.mark.slow
def test_run_sh_runs_trials_in_parallel_workers(tmp_path, valid_files):
    result = run_example(tmp_path, "study", N_TRIALS="12", WORKERS="4")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "best trial:" in result.stdout
    study = tmp_path / "study"

    trials = Study.open(study).trials
    assert [t.number for t in trials] == list(range(12))
    assert [t.state for t in trials] == ["complete"] * 12, result.stdout + result.stderr

    folders = sorted(p for p in (study / "trials").iterdir() if not p.name.startswith("."))
    assert [p.name for p in folders] == [f"{n:06d}" for n in range(12)]
    for folder, record in zip(folders, trials):
        for name in TRIAL_FILES:
            assert (folder / name).is_file(), f"{folder} lacks {name}: {sorted(os.listdir(folder))}"
        assert not list(folder.glob("*.partial")), f"{folder} holds an unfinished file"
        loss = yaml.safe_load((folder / "result.yaml").read_text())["values"]["loss"]
        assert record.values == {"loss": loss}
        assert ("momentum" in record.params) == (record.params["opt"] == "sgd")
    valid_files(study)

    # The workers really ran at the same time: by the journal (ask to tell) ...
    asked = {e["trial"]: parse_iso(e["at"]) for e in journal_events(study) if e["event"] == "asked"}
    told = {e["trial"]: parse_iso(e["at"]) for e in journal_events(study) if e["event"] == "told"}
    assert max_overlap([(asked[n], told[n]) for n in range(12)]) >= 2
    # ... and by the training steps' own timestamps.
    assert max_overlap([train_interval(folder / "train.log") for folder in folders]) >= 2
    workers = set(re.findall(r"^\[worker (\d+)\] trial \d+ in ", result.stdout, re.M))
    assert len(workers) >= 2, result.stdout

    check = run_asktell("check", study)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "0 errors, 0 warnings" in check.stderr


@pytest.mark.slow
def test_a_failing_train_step_fails_its_trial_and_the_run_goes_on(tmp_path, valid_files):
    result = run_example(tmp_path, "a study", N_TRIALS="6", WORKERS="3", FAIL_TRIAL="1,4", SEED="11")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "simulated crash" in result.stderr
    study = tmp_path / "a study"  # a space in the path: the scripts quote it

    states = {t.number: t.state for t in Study.open(study).trials}
    assert states == {0: "complete", 1: "failed", 2: "complete", 3: "complete", 4: "failed", 5: "complete"}
    for number in (1, 4):
        folder = study / "trials" / f"{number:06d}"
        assert not (folder / "model.txt").exists() and not (folder / "result.yaml").exists()
        assert "simulated crash" in (folder / "train.log").read_text()
        assert yaml.safe_load((folder / "trial.yaml").read_text())["state"] == "failed"
    valid_files(study)
    assert run_asktell("check", study).returncode == 0

    # Running again with the same budget finds the study complete and adds nothing.
    again = run_example(tmp_path, "a study", N_TRIALS="6", WORKERS="3", SEED="11")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("nothing left to ask") == 3
    assert len(Study.open(study).trials) == 6
