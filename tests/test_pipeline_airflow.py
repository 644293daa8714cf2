"""The Airflow pipeline example, pipelines/airflow/asktell_dag.py, run by a real Apache Airflow.

The set-up installs Airflow and asktell into a venv of their own (tests/support/venvs.py), and
each test points AIRFLOW_HOME at a temp folder with SQLite metadata and runs the DAG with
``airflow dags test``, the study passed by ``--conf``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from asktell import Study
from tests.support.files import journal_events
from tests.support.pipelines import max_overlap
from tests.support.processes import assert_check_passes, create_study
from tests.support.venvs import ROOT, VenvUnavailable, cached_venv

pytestmark = pytest.mark.slow

AIRFLOW = "apache-airflow==3.3.2"
DAGS = ROOT / "pipelines" / "airflow"
SPACE = ROOT / "pipelines" / "shell" / "space.yaml"
#: Bound for one DAG run on a small, busy machine, never a speed assertion.
RUN_TIMEOUT = 600


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    """``airflow(*args, **env)`` runs the airflow CLI of the venv against fresh SQLite metadata."""
    try:
        python = cached_venv("airflow", [AIRFLOW, "-e", str(ROOT)])
    except VenvUnavailable as exc:
        pytest.skip(f"Airflow cannot be installed here: {exc}")
    home = tmp_path_factory.mktemp("airflow-home")
    bin_dir = python.parent
    base_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ASKTELL"))},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # The tasks find the venv's asktell (this repository, installed editable) on PATH.
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "EPOCHS": "30",
    }

    def run(*args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(bin_dir / "airflow"), *args], env={**base_env, **env}, cwd=home,
                              capture_output=True, text=True, timeout=RUN_TIMEOUT)

    migrated = run("db", "migrate")
    assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]
    return run


def dags_test(airflow, study: Path, trials: int, **env: str) -> subprocess.CompletedProcess:
    return airflow("dags", "test", "asktell_pipeline", "--conf", json.dumps({"study": str(study), "trials": trials}),
                   **env)


def test_mapped_trials_are_asked_trained_evaluated_and_told(airflow, tmp_path, valid_files):
    study = create_study(tmp_path / "study", "--space", SPACE, "--minimize", "loss", "--seed", "2")
    run = dags_test(airflow, study, 4)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-5000:]

    trials = Study.open(study).trials
    assert [t.state for t in trials] == ["complete"] * 4, run.stdout[-5000:]
    keys = sorted(yaml.safe_load((study / "trials" / f"{t.number:06d}" / "params.yaml").read_text())["key"]
                  for t in trials)
    run_id = keys[0].rsplit("-", 1)[0]
    assert run_id.startswith("manual__") and keys == [f"{run_id}-{slot}" for slot in range(4)]
    for record in trials:
        result = yaml.safe_load((study / "trials" / f"{record.number:06d}" / "result.yaml").read_text())
        assert record.values == result["values"]
    # The mapped trials were all out at once: every ask came before the first tell.
    events = journal_events(study)
    asked = {e["trial"]: e["seq"] for e in events if e["event"] == "asked"}
    told = {e["trial"]: e["seq"] for e in events if e["event"] == "told"}
    assert max_overlap([(asked[n], told[n]) for n in range(4)]) == 4
    valid_files(study)
    assert_check_passes(study)


def test_a_failing_step_fails_its_trial_only_and_a_spent_budget_skips(airflow, tmp_path):
    """Trial 1's training crashes: it is told failed, the others complete; asks past the budget are skipped.

    The run itself succeeds: its leaves, the tells, recorded every trial.
    """
    study = create_study(tmp_path / "study", "--space", SPACE, "--minimize", "loss", "--max-trials", "3")
    run = dags_test(airflow, study, 4, FAIL_TRIAL="1")
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    assert "simulated crash" in output and "state=success" in output, output[-5000:]

    states = {t.number: t.state for t in Study.open(study).trials}
    assert states == {0: "complete", 1: "failed", 2: "complete"}
    assert_check_passes(study)
