"""The SLURM pipeline example, pipelines/slurm/job.sh, run as an array job on a real cluster.

The set-up installs Debian's SLURM and MUNGE when missing and starts a private single-node
cluster (tests/support/slurm.py); ``sbatch --array=0-31%8 job.sh`` is submitted from the
repository root as the example's README says, and every task's trial is checked.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from asktell import Study
from asktell.trial import parse_iso
from tests.support.files import journal_events
from tests.support.pipelines import asktell_command, max_overlap
from tests.support.processes import assert_check_passes, create_study
from tests.support.slurm import Cluster, install_reason, wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
JOB = ROOT / "pipelines" / "slurm" / "job.sh"
SPACE = ROOT / "pipelines" / "shell" / "space.yaml"
#: Bounds for a whole array job on a 2-CPU machine (the 32 tasks take about 20 s), never speed assertions.
JOB_TIMEOUT = 300


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = install_reason()
    if reason:
        pytest.skip(reason)
    # Eight CPUs advertised on a machine with fewer, so that %8 really runs eight tasks at once.
    started = Cluster(tmp_path_factory.mktemp("slurm"), cpus=8)
    try:
        started.start()
        yield started
    finally:
        started.stop()


def job_env(tmp_path: Path, study: Path, **env: str) -> dict[str, str]:
    """What the submitting shell exports: the study, this interpreter's CLI and few epochs."""
    inherited = {k: v for k, v in os.environ.items() if k != "STEPS"}
    return {**inherited, "STUDY": str(study), "ASKTELL": asktell_command(tmp_path),
            "EPOCHS": "30", **env}


def test_array_job_runs_one_trial_per_task(cluster, tmp_path, valid_files):
    """32 tasks, 8 at a time; trial 3's training crashes on purpose, which fails that task and trial only."""
    study = create_study(tmp_path / "study", "--space", SPACE, "--minimize", "loss", "--sampler", "tpe",
                         "--max-trials", "32", "--seed", "5")
    job = cluster.submit("--array=0-31%8", f"--output={tmp_path}/slurm-%A_%a.out", str(JOB),
                         cwd=ROOT, env=job_env(tmp_path, study, FAIL_TRIAL="3"))
    cluster.wait(job, JOB_TIMEOUT)

    outputs = {n: (tmp_path / f"slurm-{job}_{n}.out").read_text() for n in range(32)}
    trials = Study.open(study).trials
    assert [t.state for t in trials] == ["complete"] * 3 + ["failed"] + ["complete"] * 28, outputs

    # Each task asked once, under its own key, and said which trial it got.
    task_of = {}
    for record in trials:
        folder = study / "trials" / f"{record.number:06d}"
        key = yaml.safe_load((folder / "params.yaml").read_text())["key"]
        assert key.startswith(f"{job}-")
        task_of[record.number] = int(key.split("-")[1])
        assert f"job {key}: trial {folder} " in outputs[task_of[record.number]]
        if record.state == "complete":
            assert record.values == yaml.safe_load((folder / "result.yaml").read_text())["values"]
        assert ("momentum" in record.params) == (record.params["opt"] == "sgd")
    assert sorted(task_of.values()) == list(range(32))
    states = cluster.finished_states(job)
    assert states == {task: "FAILED" if number == 3 else "COMPLETED" for number, task in task_of.items()}, outputs
    assert "simulated crash" in (study / "trials" / "000003" / "train.log").read_text()

    # No two tasks were handed the same parameters, although eight asked at a time.
    assert len({json.dumps(t.params, sort_keys=True) for t in trials}) == 32
    events = journal_events(study)
    asked = {e["trial"]: parse_iso(e["at"]) for e in events if e["event"] == "asked"}
    told = {e["trial"]: parse_iso(e["at"]) for e in events if e["event"] == "told"}
    assert max_overlap([(asked[n], told[n]) for n in range(32)]) >= 2
    valid_files(study)
    assert_check_passes(study)


def test_a_requeued_task_gets_its_own_trial_back(cluster, tmp_path):
    """The first run of the task hangs in training and is requeued; the rerun finishes the same trial."""
    steps = tmp_path / "steps"
    steps.mkdir()
    shell_steps = ROOT / "pipelines" / "shell"
    (steps / "evaluate.sh").symlink_to(shell_steps / "evaluate.sh")
    (steps / "train.sh").write_text(f"""#!/bin/sh
if [ "${{SLURM_RESTART_COUNT:-0}}" = 0 ]; then
    touch "$1/first-run"
    exec sleep 600
fi
exec "{shell_steps}/train.sh" "$1"
""")
    (steps / "train.sh").chmod(0o755)
    study = create_study(tmp_path / "study", "--space", SPACE, "--minimize", "loss", "--max-trials", "1")
    job = cluster.submit("--array=0", f"--output={tmp_path}/slurm-%A_%a.out", "--open-mode=append", str(JOB),
                         cwd=ROOT, env=job_env(tmp_path, study, STEPS=str(steps)))

    wait_for((study / "trials" / "000000" / "first-run").exists, JOB_TIMEOUT, "the first run did not start training")
    requeue = cluster.run("scontrol", "requeue", f"{job}_0")
    assert requeue.returncode == 0, requeue.stderr
    cluster.wait(job, JOB_TIMEOUT)

    output = (tmp_path / f"slurm-{job}_0.out").read_text()
    assert "(restart 0)" in output and "(restart 1)" in output, output
    (record,) = Study.open(study).trials
    assert record.state == "complete", output
    assert_check_passes(study)
