"""An Airflow DAG that tunes a pipeline with asktell: ask -> train -> evaluate -> tell.

Each run of ``asktell_pipeline`` runs ``trials`` trials side by side, one instance of the
mapped task group ``trial`` each (dynamic task mapping). Every task is a bash command of
its own, so it can run on any worker; the tasks share nothing but the study folder, and the
only value passed between them is the trial folder that ``asktell ask`` prints.

    asktell create /shared/study --space pipelines/shell/space.yaml --minimize loss --max-trials 40
    airflow dags trigger asktell_pipeline --conf '{"study": "/shared/study", "trials": 4}'

Params (``--conf``):
    study      the study folder, an absolute path every worker sees (default: $ASKTELL_STUDY)
    trials     trials per DAG run (default 4)
    train      command run as ``TRAIN TRIAL_DIR`` (default: the shell pipeline's train.sh)
    evaluate   command run as ``EVALUATE TRIAL_DIR``; it must write TRIAL_DIR/result.yaml
               (default: the shell pipeline's evaluate.sh)

A trial whose train or evaluate task fails is told failed, and the DAG run still succeeds:
its leaves, the tell tasks, recorded every trial (the failed task instance shows which step
broke). A spent budget (ask exits 4) skips the trial's tasks.

Workers find asktell as ``$ASKTELL`` (split on whitespace) or ``asktell`` on their PATH.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from airflow.sdk import Param, dag, task, task_group

SHELL_STEPS = Path(__file__).resolve().parent.parent / "shell"


def asktell(*args: str) -> str:
    """An asktell command line for bash, its arguments quoted."""
    return " ".join([os.environ.get("ASKTELL", "asktell"), *map(shlex.quote, args)])


@dag(
    dag_id="asktell_pipeline",
    schedule=None,
    catchup=False,
    tags=["asktell"],
    params={
        "study": Param(os.environ.get("ASKTELL_STUDY", ""), type="string", minLength=1),
        "trials": Param(4, type="integer", minimum=1),
        "train": Param(str(SHELL_STEPS / "train.sh"), type="string", minLength=1),
        "evaluate": Param(str(SHELL_STEPS / "evaluate.sh"), type="string", minLength=1),
    },
)
def asktell_pipeline():
    @task
    def plan(params: dict) -> list[int]:
        """One slot per trial of this run; fails early when the study is not there."""
        if not (Path(params["study"]) / "study.yaml").is_file():
            raise FileNotFoundError(f"no study at {params['study']!r}: create it with `asktell create`")
        return list(range(params["trials"]))

    @task_group
    def trial(slot: int):
        # Exit 4: the study's budget is used up, so this trial is skipped, and its steps with it.
        # The key makes a retried or cleared ask return the trial it handed out before.
        @task.bash(skip_on_exit_code=4)
        def ask(slot: int, params: dict, run_id: str) -> str:
            return asktell("ask", params["study"], "--key", f"{run_id}-{slot}")

        @task.bash
        def train(trial_dir: str, params: dict) -> str:
            return f"{params['train']} {shlex.quote(trial_dir)}"

        @task.bash
        def evaluate(trial_dir: str, params: dict) -> str:
            return f"{params['evaluate']} {shlex.quote(trial_dir)}"

        # Runs once train and evaluate are done, whether they succeeded or not (but not when the
        # ask was skipped): a trial without a result file is told failed.  A result file that the
        # study refuses fails this task and leaves the trial running, to be fixed and told again.
        @task.bash(trigger_rule="none_skipped")
        def tell(trial_dir: str, params: dict) -> str:
            told = asktell("tell", params["study"], trial_dir)
            result = shlex.quote(f"{trial_dir}/result.yaml")
            return f"if [ -f {result} ]; then {told}; else {told} --state failed; fi"

        trial_dir = ask(slot)
        train(trial_dir) >> evaluate(trial_dir) >> tell(trial_dir)

    trial.expand(slot=plan())


asktell_pipeline()
