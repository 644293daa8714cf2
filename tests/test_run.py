"""``asktell run``: a command per trial, J at a time, through the real CLI.

The commands are small shell scripts written by each test; they report what
they were given (arguments, environment) into their trial folder and print
metric lines, so every test can compare what ran with what the study says.
"""

from __future__ import annotations

import io
import os
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from asktell import Study
from asktell.config import Objective
from asktell.errors import InvalidInput
from asktell.invocation import Invocation
from asktell.metrics import MetricLines, outcome
from asktell.progress import Progress
from asktell.runstudy import default_folder
from asktell.snapshot import read_snapshot
from asktell.trial import ALL
from asktell.space import Space
from tests.conftest import ASKTELL, popen_asktell, run_asktell
from tests.support.processes import assert_check_passes, describe, finish, stop_leftovers

ROOT = Path(__file__).resolve().parents[1]
MAKEFILE = ROOT / "pipelines" / "make" / "Makefile"
LOSS = (Objective("loss", "minimize"),)


def script(folder: Path, name: str, body: str) -> Path:
    """An executable ``/bin/sh`` script in ``folder``."""
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def create(path: Path, *args: object) -> Path:
    result = run_asktell("create", path, *args)
    assert result.returncode == 0, describe(result)
    return path


def trial_yaml(study: Path, number: int) -> dict:
    return yaml.safe_load((study / "trials" / f"{number:06d}" / "trial.yaml").read_text())


def process_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, dead but not yet reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# ---------------------------------------------------------------------- metric lines and results


def test_metric_lines_last_line_of_a_metric_wins_whatever_the_chunks():
    """Lines split across reads, other output, malformed and non-numeric lines: only metric lines count."""
    stream = (b'epoch 1\n{"metric": "acc", "value": 0.5}\n  {"metric": "loss", "value": 2}  \n'
              b'{"metric": "acc", "value": true}\n{"metric": "acc", "value": "high"}\n{"metric": "acc"\n'
              b'[1, 2]\n{"metric": "acc", "value": 0.93, "step": 9}\n{"metric": "f1", "value": 1e-3}')
    for size in (1, 7, len(stream)):
        lines = MetricLines()
        for start in range(0, len(stream), size):
            lines.feed(stream[start:start + size])
        lines.close()
        assert lines.metrics == {"acc": 0.93, "loss": 2.0, "f1": 0.001}, size


def test_metric_lines_skip_an_overlong_line_but_not_the_next():
    lines = MetricLines()
    lines.feed(b'{"metric": "acc", "value": 1, "junk": "' + b"x" * 100_000)
    lines.feed(b'"}\n{"metric": "loss", "value": 3}\n')
    assert lines.metrics == {"loss": 3.0}
    lines.feed(b'{"metric": "big", "value": 1' + b"0" * 400 + b'}\n')  # no float holds it: infinite, not a crash
    assert lines.metrics["big"] == float("inf")


def test_outcome_needs_every_objective_and_names_the_missing_line(tmp_path):
    with pytest.raises(InvalidInput, match=r'no value for the objective .loss.*\{"metric": "loss"'):
        outcome({"acc": 0.5}, tmp_path, LOSS)
    with pytest.raises(InvalidInput, match="finite"):
        outcome({"loss": float("nan")}, tmp_path, LOSS)
    result = outcome({"loss": 0.25, "acc": 0.5}, tmp_path, LOSS)
    assert result.values == {"loss": 0.25} and result.attrs == {"metrics": {"loss": 0.25, "acc": 0.5}}


def test_outcome_result_file_wins_and_lines_fill_in_what_it_lacks(tmp_path):
    both = (Objective("loss", "minimize"), Objective("acc", "maximize"))
    (tmp_path / "result.yaml").write_text("values: {loss: 1.5}\nconstraints: {mem: -2}\n")
    result = outcome({"loss": 9.0, "acc": 0.75}, tmp_path, both)
    assert result.values == {"loss": 1.5, "acc": 0.75} and result.constraints == {"mem": -2.0}
    (tmp_path / "result.yaml").write_text("state: pruned\n")
    assert outcome({}, tmp_path, both).state == "pruned"


# ---------------------------------------------------------------------- handing parameters over


SPACE = Space.from_shorthands(["lr=1e-4..1e-1:log", "opt=adam,sgd", "momentum=0..0.9 if opt == sgd",
                               "model.depth=1..4"])


def test_placeholders_replace_parameters_and_leave_other_braces():
    invocation = Invocation(["train", "--lr={lr}", "{opt}/{momentum}", "awk '{print $1}'", "{nope}",
                             "--out={ASKTELL_TRIAL_DIR}/m", "{model.depth}"], SPACE)
    argv = invocation.argv({"lr": 0.001, "opt": "adam", "model.depth": 3}, 7, Path("s/trials/000007"), Path("s"))
    assert argv == ["train", "--lr=0.001", "adam/", "awk '{print $1}'", "{nope}", "--out=s/trials/000007/m", "3"]


def test_make_variables_are_appended_for_present_parameters_with_dollars_kept():
    space = Space.from_shorthands(["ALPHA=1..3", "TAG=a$b,c", "BETA=0..1 if ALPHA > 2"])
    argv = Invocation(["make", "train"], space, make=True).argv({"ALPHA": 2, "TAG": "a$b"}, 0, Path("t"), Path("s"))
    assert argv == ["make", "train", "ALPHA=2", "TAG=a$$b"]


def test_environment_has_trial_variables_and_parameters_and_drops_absent_ones():
    base = {"PATH": "/bin", "momentum": "0.5", "lr": "stale"}
    env = Invocation(["x"], SPACE).env({"lr": 0.01, "opt": "adam", "model.depth": 2}, 3, Path("s/trials/000003"),
                                       Path("s"), base)
    assert env == {"PATH": "/bin", "lr": "0.01", "opt": "adam", "model_depth": "2", "ASKTELL_TRIAL": "3",
                   "ASKTELL_TRIAL_DIR": "s/trials/000003", "ASKTELL_STUDY": "s"}


def test_parameters_that_would_share_a_variable_are_refused():
    with pytest.raises(InvalidInput, match="model_depth"):
        Invocation(["x"], Space.from_shorthands(["model.depth=1..2", "model_depth=1..2"]))


# ---------------------------------------------------------------------- the study of a one-liner


def test_default_folder_is_a_readable_slug_and_a_hash_of_what_defines_the_study():
    space = Space.from_shorthands(["ALPHA=0..10"])
    command = ["make", "-f", "/somewhere/deep/Makefile", "train", "test"]
    folder = default_folder(command, space, [], "grid", True)
    assert re.fullmatch(r"\.asktell/make-f-makefile-train-test-[0-9a-f]{8}", str(folder))
    assert default_folder(list(command), Space.from_shorthands(["ALPHA=0..10"]), [], "grid", True) == folder
    others = {default_folder(command, Space.from_shorthands(["ALPHA=0..9"]), [], "grid", True),
              default_folder(command, space, [("acc", "maximize")], None, True),
              default_folder(command, space, [], "grid", False), default_folder(command[:-1], space, [], "grid", True)}
    assert folder not in others and len(others) == 4


def test_a_sweep_needs_a_sampler_that_needs_no_objective(tmp_path):
    with pytest.raises(InvalidInput, match="no objective"):
        Study.create(tmp_path / "s", {"x": "0..1"}, objectives=[], sampler="tpe")
    sweep = Study.create(tmp_path / "ok", {"x": "0..1"}, objectives=[], sampler="grid")
    trial = sweep.ask()
    assert sweep.tell(trial).record.state == "complete" and sweep.best_trials() == []


def test_telling_a_sweep_values_is_a_clear_error_and_telling_it_none_completes(tmp_path):
    sweep = Study.create(tmp_path / "s", {"x": "0..3"}, objectives=[], sampler="grid")
    number = str(sweep.ask().number)
    before = sweep.layout.journal.read_bytes()
    for args, field in ((["--value", "0.5"], "'value'"), (["--values", "loss=0.5"], "'values.loss'")):
        told = run_asktell("tell", sweep.path, number, *args)
        assert told.returncode == 2 and told.stderr.count("\n") == 1, told.stderr
        assert field in told.stderr and "no objective (a sweep): tell its trials without values" in told.stderr
    assert sweep.layout.journal.read_bytes() == before
    told = run_asktell("tell", sweep.path, number)  # no result file: a sweep's trial just completes
    assert told.returncode == 0 and sweep.trial(int(number)).state == "complete"


# ---------------------------------------------------------------------- runs


FAIL_ONE_IN_FIVE = """\
echo "start $(date +%s.%N)"
echo "trial $ASKTELL_TRIAL k=$k"
sleep 0.2
if [ $((k % 5)) -eq 0 ]; then echo "k=$k is unlucky" >&2; echo "end $(date +%s.%N)"; exit 3; fi
echo "{\\"metric\\": \\"loss\\", \\"value\\": $k}"
echo "end $(date +%s.%N)"
"""


def test_forty_trials_four_at_a_time_with_failures_recorded(tmp_path, valid_files):
    """Every trial is told; a failing command fails only its trial, with its exit code and log tail."""
    study = create(tmp_path / "study", "-p", "k=0..99", "--minimize", "loss", "--seed", "3")
    command = script(tmp_path, "step.sh", FAIL_ONE_IN_FIVE)
    result = run_asktell("run", study, "-n", "40", "-j", "4", "--", command)
    assert result.returncode == 0, describe(result)
    assert result.stdout.strip() == str(study)

    records = Study.open(study).trials
    assert len(records) == 40 and all(r.finished for r in records)
    unlucky = [r for r in records if r.params["k"] % 5 == 0]
    assert unlucky, "the seed gives no failing trial: the test would prove nothing"
    for record in records:
        document = trial_yaml(study, record.number)
        if record.params["k"] % 5 == 0:
            assert record.state == "failed"
            assert document["exit_code"] == 3 and document["reason"] == "exit 3"
            assert document["log_tail"] == f"k={record.params['k']} is unlucky"
        else:
            assert record.state == "complete" and record.values == {"loss": float(record.params["k"])}
            assert "exit_code" not in document
        log = (study / "trials" / f"{record.number:06d}" / "logs" / "stdout.log").read_text()
        assert f"trial {record.number} k={record.params['k']}" in log
    assert f"{len(records) - len(unlucky)} complete, {len(unlucky)} failed" in result.stderr
    assert max_overlap(study) == 4
    valid_files(study)
    assert_check_passes(study)


def max_overlap(study: Path) -> int:
    """The most commands that ran at one moment, from the start and end times they logged."""
    edges = []
    for log in study.glob("trials/*/logs/stdout.log"):
        text = log.read_text()
        edges += [(float(re.search(r"start (\S+)", text).group(1)), 1), (float(re.search(r"end (\S+)", text).group(1)), -1)]
    running = most = 0
    for _, step in sorted(edges):
        running += step
        most = max(most, running)
    return most


def test_parameters_reach_the_command_as_placeholders_environment_and_make_variables(tmp_path, valid_files):
    study = create(tmp_path / "study", "-p", "lr=1e-4..1e-1:log", "-p", "opt=adam,sgd",
                   "-p", "momentum=0..0.9 if opt == sgd", "--minimize", "loss", "--seed", "5")
    command = script(tmp_path, "show.sh", """\
printf '%s\\n' "$@" > "$ASKTELL_TRIAL_DIR/argv"
env > "$ASKTELL_TRIAL_DIR/env"
echo '{"metric": "loss", "value": 1}'
""")
    result = run_asktell("run", study, "-n", "6", "--make", "--", command, "--lr={lr}", "{momentum}", "{nope}",
                         cwd=tmp_path, env={"momentum": "inherited"})
    assert result.returncode == 0, describe(result)
    for record in Study.open(study).trials:
        folder = study / "trials" / f"{record.number:06d}"
        params = record.params
        argv = (folder / "argv").read_text().splitlines()
        momentum = str(params.get("momentum", ""))
        expected = [f"--lr={params['lr']}", momentum, "{nope}", f"lr={params['lr']}", f"opt={params['opt']}"]
        assert argv == expected + ([f"momentum={momentum}"] if "momentum" in params else [])
        env = dict(line.split("=", 1) for line in (folder / "env").read_text().splitlines() if "=" in line)
        assert env["ASKTELL_TRIAL"] == str(record.number)
        assert Path(env["ASKTELL_TRIAL_DIR"]).resolve() == folder.resolve()
        assert Path(env["ASKTELL_STUDY"]).resolve() == study.resolve()
        assert env["lr"] == str(params["lr"]) and env["opt"] == params["opt"]
        assert env.get("momentum") == (momentum if "momentum" in params else None)  # never the inherited value
    assert {r.params["opt"] for r in Study.open(study).trials} == {"adam", "sgd"}
    valid_files(study)


def test_commands_get_the_users_blas_threads_not_the_one_asktell_takes(tmp_path):
    """asktell asks for one BLAS thread for itself; a training command keeps the user's setting, or none."""
    study = create(tmp_path / "study", "-p", "x=0..1", "--minimize", "loss")
    command = script(tmp_path, "show.sh", """\
echo "${OPENBLAS_NUM_THREADS-unset} ${MKL_NUM_THREADS-unset} ${OMP_NUM_THREADS-unset}" > "$ASKTELL_TRIAL_DIR/threads"
echo '{"metric": "loss", "value": 1}'
""")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    env["OMP_NUM_THREADS"] = "3"
    result = subprocess.run([*ASKTELL, "run", str(study), "-n", "1", "--", str(command)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, describe(result)
    assert (study / "trials" / "000000" / "threads").read_text() == "unset unset 3\n"


def test_timeout_stops_the_whole_group_and_retries_run_again_in_the_same_trial(tmp_path, valid_files):
    """Trial 0 hangs (with a child of its own) and times out every time; trial 1 fails once, then passes."""
    study = create(tmp_path / "study", "-p", "x=0..1", "--minimize", "loss")
    command = script(tmp_path, "flaky.sh", """\
logs="$ASKTELL_TRIAL_DIR/logs"
echo "attempt" >&2
if [ "$ASKTELL_TRIAL" = 0 ]; then sleep 60 & echo $! > "$logs/sleeper.$(ls "$logs" | wc -l)"; wait; fi
if [ ! -e "$logs/stdout.attempt-1.log" ]; then exit 9; fi
echo '{"metric": "loss", "value": 0.5}'
""")
    began = time.monotonic()
    result = run_asktell("run", study, "-n", "2", "-j", "2", "--timeout", "1", "--retries", "1", "--", command)
    assert result.returncode == 0, describe(result)
    assert time.monotonic() - began < 30  # not the sleeper's 60 s (a bound on hanging, not a speed test)
    hung, flaky = trial_yaml(study, 0), trial_yaml(study, 1)
    assert hung["state"] == "failed" and hung["reason"] == "timeout after 1.0s" and "exit_code" not in hung
    sleepers = [int(p.read_text()) for p in (study / "trials" / "000000" / "logs").glob("sleeper.*")]
    assert len(sleepers) == 2 and not any(process_running(pid) for pid in sleepers)
    assert flaky["state"] == "complete" and flaky["values"] == {"loss": 0.5}
    logs = sorted(p.name for p in (study / "trials" / "000001" / "logs").iterdir())
    assert logs == ["stderr.attempt-1.log", "stderr.log", "stdout.attempt-1.log", "stdout.log"]
    assert "trial 1: exit 9; retry 1 of 1" in result.stderr
    valid_files(study)


def test_metrics_from_a_result_file_and_a_missing_metric_fails_the_trial(tmp_path, valid_files):
    study = create(tmp_path / "study", "-p", "x=0..3", "--minimize", "loss", "--sampler", "grid")
    command = script(tmp_path, "report.sh", """\
case $x in
  0) printf 'values: {loss: 2.5}\\nconstraints: {mem: -1}\\nattrs: {note: kept}\\n' > "$ASKTELL_TRIAL_DIR/result.yaml";;
  1) echo '{"metric": "loss", "value": 7}'; printf 'state: pruned\\n' > "$ASKTELL_TRIAL_DIR/result.yaml";;
  2) echo '{"metric": "acc", "value": 7}';;
  3) echo '{"metric": "loss", "value": 1}'; echo '{"metric": "loss", "value": 0.25}';;
esac
""")
    result = run_asktell("run", study, "--", command)
    assert result.returncode == 0, describe(result)
    by_x = {r.params["x"]: r for r in Study.open(study).trials}
    assert by_x[0].state == "complete" and by_x[0].values == {"loss": 2.5} and by_x[0].constraints == {"mem": -1}
    assert by_x[1].state == "pruned"
    assert by_x[2].state == "failed" and by_x[2].exit_code == 0 and "no value for the objective 'loss'" in by_x[2].reason
    assert by_x[3].values == {"loss": 0.25}
    written = yaml.safe_load((study / "trials" / f"{by_x[3].number:06d}" / "result.yaml").read_text())
    assert written == {"format": "asktell/1", "values": {"loss": 0.25}, "attrs": {"metrics": {"loss": 0.25}}}
    valid_files(study)
    assert_check_passes(study)


def test_a_process_that_left_the_group_cannot_hold_the_trial_open(tmp_path):
    """It keeps the stdout pipe open; the run takes what came and tells the trial anyway."""
    study = create(tmp_path / "study", "-p", "x=0..1", "--minimize", "loss")
    command = script(tmp_path, "escape.sh", """\
setsid sleep 60 &
echo $! > "$ASKTELL_TRIAL_DIR/escaped"
echo '{"metric": "loss", "value": 2}'
""")
    result = run_asktell("run", study, "-n", "1", "--", command, timeout=60)
    escaped = int((study / "trials" / "000000" / "escaped").read_text())
    try:
        assert result.returncode == 0, describe(result)
        assert Study.open(study).trial(0).values == {"loss": 2.0}
    finally:
        os.kill(escaped, signal.SIGKILL)  # the one process a run cannot guard (docs/design.md)


SLEEPER = """\
echo $$ > "$PIDS/$ASKTELL_TRIAL.shell"
sleep 60 &
echo $! > "$PIDS/$ASKTELL_TRIAL.child"
wait
"""


def start_sleepers(tmp_path: Path, jobs: int) -> tuple[Path, Path, subprocess.Popen]:
    """An ``asktell run -j jobs`` whose commands hang, once every one of them is running."""
    study = create(tmp_path / "study", "-p", "x=0..1", "--minimize", "loss")
    pids = tmp_path / "pids"
    pids.mkdir()
    command = script(tmp_path, "sleeper.sh", SLEEPER)
    process = popen_asktell("run", study, "-n", "10", "-j", jobs, "--", command, env={**os.environ, "PIDS": str(pids)})
    wait_for(lambda: len(list(pids.glob("*.child"))) == jobs)
    return study, pids, process


def pids_in(folder: Path) -> list[int]:
    return [int(p.read_text()) for p in folder.iterdir()]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_every_command_and_tells_its_trial_interrupted(tmp_path, valid_files, signum):
    study, pids, process = start_sleepers(tmp_path, 3)
    try:
        process.send_signal(signum)
        result = finish(process, timeout=60)
    finally:
        stop_leftovers([process])
    assert result.returncode == 128 + signum, describe(result)
    wait_for(lambda: not any(process_running(pid) for pid in pids_in(pids)), timeout=10)
    records = Study.open(study).trials
    assert len(records) == 3 and all(r.state == "failed" and r.reason == "interrupted" for r in records)
    valid_files(study)
    assert_check_passes(study)


def test_sigkill_of_the_run_leaves_no_command_running(tmp_path, valid_files):
    """The guard ends the commands; their trials stay running until reap fails them."""
    study, pids, process = start_sleepers(tmp_path, 3)
    process.kill()
    process.wait()
    stop_leftovers([process])
    wait_for(lambda: not any(process_running(pid) for pid in pids_in(pids)), timeout=20)
    assert [r.state for r in Study.open(study).trials] == ["running"] * 3
    valid_files(study)
    assert_check_passes(study)
    reaped = run_asktell("reap", study, "--older-than", "0s")
    assert reaped.returncode == 0, describe(reaped)
    assert [r.state for r in Study.open(study).trials] == ["failed"] * 3  # after reap, nothing stays running
    valid_files(study)
    assert_check_passes(study)


def test_exit_status_says_whether_anything_completed_or_was_left(tmp_path):
    study = create(tmp_path / "study", "-p", "x=0..1", "--minimize", "loss", "--max-trials", "2")
    failing = script(tmp_path, "fail.sh", "exit 1\n")
    assert run_asktell("run", study, "--", failing).returncode == 1  # every trial failed
    left = run_asktell("run", study, "--", failing)
    assert left.returncode == 4 and "nothing left to run" in left.stderr
    missing = run_asktell("run", create(tmp_path / "other", "-p", "x=0..1"), "--", tmp_path / "no-such-command")
    assert missing.returncode == 2 and "no such command" in missing.stderr
    assert Study.open(tmp_path / "other").trials == []  # nothing was asked
    for args, complaint in ((["--", failing], "STUDY"), ([study, "--maximize", "acc", "--", failing], "--maximize"),
                            ([study], "COMMAND"), ([study, "-j", "0", "--", failing], "--jobs")):
        refused = run_asktell("run", *args, cwd=tmp_path)
        assert refused.returncode == 2 and complaint in refused.stderr, describe(refused)


def test_progress_line_is_redrawn_in_place_on_a_terminal(tmp_path):
    study = create(tmp_path / "study", "-p", "x=0..1", "--minimize", "loss")
    command = script(tmp_path, "slow.sh", 'sleep 0.4; echo \'{"metric": "loss", "value": 1}\'\n')
    leader, follower = pty.openpty()
    process = subprocess.Popen([*ASKTELL, "run", str(study), "-n", "4", "-j", "2", "--", str(command)],
                               stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the run closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.wait(timeout=60) == 0
    text = output.decode()
    assert re.search(r"\r\x1b\[Kasktell run: \d/4 done, 0 failed, \d running", text), text
    assert "trial 3 complete" in text


def test_status_counts_best_and_eta():
    stream = io.StringIO()
    progress = Progress(stream, (Objective("acc", "maximize"),), total=4, tty=False)
    progress.trial_finished(0, "complete", {"acc": 0.5}, 1.0)
    progress.trial_finished(1, "complete", {"acc": 0.75}, 1.0)
    progress.trial_finished(2, "failed", None, 1.0, ": exit 2")
    status = progress.status(running=1)
    assert re.fullmatch(r"asktell run: 3/4 done, 1 failed, 1 running, best acc=0.75 \(trial 1\), ETA \d+\.\ds",
                        status), status
    assert stream.getvalue().splitlines()[2] == "trial 2 failed in 1.0s: exit 2"


# ---------------------------------------------------------------------- the Hake one-liner


def hake(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    """``asktell run OPTIONS --make -- make -f pipelines/make/Makefile train test`` from ``tmp_path``."""
    return run_asktell("run", *options, "--make", "--", "make", "-f", MAKEFILE, "train", "test", cwd=tmp_path,
                       timeout=300)


def test_hake_grid_without_objective_runs_every_cell_once(tmp_path, valid_files):
    """Like ``hake train test ALPHA=1..3 BETA=100..200:50``: nine cells, in nested-loop order."""
    result = hake(tmp_path, "-p", "ALPHA=1..3", "-p", "BETA=100..200:50", "-j", "3")
    assert result.returncode == 0, describe(result)
    study = tmp_path / result.stdout.strip()
    assert study.parent == tmp_path / ".asktell" and study.name.startswith("make-f-makefile-train-test-")
    records = Study.open(study).trials
    assert [(r.params["ALPHA"], r.params["BETA"]) for r in records] == [
        (a, b) for a in (1, 2, 3) for b in (100, 150, 200)]
    for record in records:
        folder = study / "trials" / f"{record.number:06d}"
        assert record.state == "complete" and record.values is None
        model = (folder / "model.txt").read_text().splitlines()
        assert model[0] == f"width {(record.params['ALPHA'] + 1) / 100:g}" and len(model) == 1 + record.params["BETA"]
        assert set(yaml.safe_load((folder / "result.yaml").read_text())["attrs"]["metrics"]) == {"acc"}
    again = hake(tmp_path, "-p", "ALPHA=1..3", "-p", "BETA=100..200:50", "-j", "3")
    assert again.returncode == 4 and again.stdout.strip() == result.stdout.strip()  # the same study, used up
    valid_files(study)
    assert_check_passes(study)


def test_hake_with_an_objective_finds_a_good_alpha(tmp_path, valid_files):
    """The README's one-liner, with a budget of 30 trials: the best kernel width is ALPHA 2 to 5.

    Over all 1,111 cells, random search with 30 trials ends elsewhere about once in 1,300 runs
    (measured by resampling the full table); ALPHA 0 and 10 are never near the best.
    """
    result = hake(tmp_path, "--maximize", "acc", "-p", "ALPHA=0..10", "-p", "BETA=100..200", "-n", "30", "-j", "4")
    assert result.returncode == 0, describe(result)
    study = Study.open(tmp_path / result.stdout.strip())
    assert len(study.trials) == 30
    best = study.best_trial()
    assert 2 <= best.params["ALPHA"] <= 5 and best.values["acc"] > 0.96, best
    worst_alpha = [t for t in study.trials if t.params["ALPHA"] in (0, 10)]
    assert all(t.values["acc"] < best.values["acc"] for t in worst_alpha)
    valid_files(study.path)


def test_hake_reuses_a_study_only_with_the_same_settings(tmp_path):
    first = hake(tmp_path, "--maximize", "acc", "-p", "ALPHA=0..10", "-n", "2")
    assert first.returncode == 0, describe(first)
    study = first.stdout.strip()
    more = hake(tmp_path, study, "--maximize", "acc", "-p", "ALPHA=0..10", "-n", "2")
    assert more.returncode == 0 and len(Study.open(tmp_path / study).trials) == 4
    other = hake(tmp_path, study, "--maximize", "acc", "-p", "ALPHA=0..9", "-n", "2")
    assert other.returncode == 2 and "different study" in other.stderr


def test_run_imports_no_model_module_before_a_sampler_needs_it(study):
    """``run`` itself must not pull numpy into every trial's loop: only the sampler may."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "asktell", "run", str(study), "-n", "1",
                             "--", "true"], capture_output=True, text=True, timeout=60)
    loaded = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in result.stderr.splitlines()
              if line.startswith("import time:") and "|" in line}
    assert not loaded & {"numpy", "scipy", "jsonschema", "filelock"}, sorted(loaded)


# ---------------------------------------------------------------------- two hosts, one budget


@pytest.mark.slow
def test_two_runs_on_two_mounts_share_the_budget_exactly(tmp_path, tmp_path_factory, valid_files):
    """Two ``run -j 4``, one per sshfs mount of one folder, each wanting 100 trials of a 24-trial budget."""
    from tests.support.share import SetupUnavailable, two_mounts
    from tests.test_two_hosts import DOCUMENTED

    command = script(tmp_path, "step.sh", 'sleep 0.05; echo "{\\"metric\\": \\"loss\\", \\"value\\": $ASKTELL_TRIAL}"\n')
    try:
        with two_mounts(tmp_path_factory.mktemp("share"), DOCUMENTED) as pair:
            name = f"study-{time.monotonic_ns()}"
            create(pair.a / name, "-p", "x=0..1", "--minimize", "loss", "--max-trials", "24")
            runs = [popen_asktell("run", view / name, "-n", "100", "-j", "4", "--", command)
                    for view in (pair.a, pair.b)]
            try:
                results = [finish(run) for run in runs]
            finally:
                stop_leftovers(runs)
            export = pair.export / name
            records = Study.open(export).trials
            valid_files(export)
            assert_check_passes(export)
    except SetupUnavailable as exc:
        pytest.skip(f"two sshfs mounts cannot be set up here: {exc}")
    assert all(r.returncode == 0 for r in results), [describe(r) for r in results]
    assert [r.number for r in records] == list(range(24))
    assert all(r.state == "complete" and r.values == {"loss": float(r.number)} for r in records)
    counts = [int(re.search(r"(\d+) trials: (\d+) complete", r.stderr).group(2)) for r in results]
    assert sum(counts) == 24 and all(counts), counts
    print(f"two mounts: the runs took {counts[0]} and {counts[1]} of the 24 trials")


def test_failure_details_are_checked_and_a_retell_keeps_the_first(tmp_path, valid_files):
    study = Study.create(tmp_path / "s", {"x": "0..1"}, objectives={"loss": "minimize"})
    number = study.ask().number
    for failure, field in (({"exit_code": True}, "exit_code"), ({"reason": 3}, "reason"), ({"why": "x"}, "why")):
        with pytest.raises(InvalidInput) as raised:
            study.tell(number, state="failed", failure=failure)
        assert raised.value.field == field
    study.tell(number, state="failed", failure={"exit_code": 2, "reason": "exit 2", "log_tail": "boom\nbang"})
    again = study.tell(number, state="failed", failure={"reason": "other"})
    assert again.already_told and (again.record.exit_code, again.record.reason) == (2, "exit 2")
    assert trial_yaml(study.path, number)["log_tail"] == "boom\nbang"
    snapshot = study.layout.snapshot
    study.compact()  # the cache that spares calls the replay keeps them too
    assert read_snapshot(snapshot, ALL).history.get(number) == study.trial(number)
    assert_check_passes(study.path)
    valid_files(study.path)


def test_run_renews_leases_and_stops_a_command_whose_trial_was_reaped(tmp_path, monkeypatch, valid_files):
    """Heartbeats keep ``reap`` off long trials; a trial reaped anyway has its command stopped, not told twice."""
    import threading

    from asktell import run

    monkeypatch.setattr(run, "HEARTBEAT_SECONDS", 0.2)
    study = Study.create(tmp_path / "study", {"x": "0.0..1.0"}, objectives={"loss": "minimize"}, seed=1)
    reaped: list = []

    def reaper() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if any(t.heartbeat_at for t in Study.open(study.path).history().in_state("running")):
                spared = Study.open(study.path).reap(older_than=5.0)  # the heartbeats keep them alive
                reaped.extend([("spared", spared), ("reaped", Study.open(study.path).reap(older_than=0.0))])
                return
            time.sleep(0.05)

    thread = threading.Thread(target=reaper)
    thread.start()
    started = time.monotonic()
    run.run_command(study, ["sleep", "30"], trials=2, jobs=2, timeout=None, retries=0, make=False)
    thread.join()
    assert time.monotonic() - started < 25
    assert reaped[0] == ("spared", [])
    assert sorted(record.number for record, _ in reaped[1][1]) == [0, 1]
    assert all(t.state == "failed" and t.reason.startswith("reaped") for t in study.trials)
    valid_files(study.path)
    assert_check_passes(study.path)


STEPPER = """\
echo $$ > "$PIDS/$ASKTELL_TRIAL.shell"
step=0
while [ $step -lt 40 ]; do
    echo "{\\"metric\\": \\"loss\\", \\"value\\": $x, \\"step\\": $step}"
    step=$((step + 1))
    sleep 0.1
done
echo "{\\"metric\\": \\"loss\\", \\"value\\": $x}"
"""


def test_stepped_metric_lines_are_reported_and_pruned_commands_are_stopped(tmp_path, valid_files):
    """A threshold pruner stops every trial whose loss is above 0.5 at its first step, within the grace period."""
    study = create(tmp_path / "study", "-p", "x=0.0..1.0", "--minimize", "loss", "--sampler", "random", "--seed", "3",
                   "--pruner", "threshold", "--pruner-option", "upper=0.5")
    pids = tmp_path / "pids"
    pids.mkdir()
    command = script(tmp_path, "stepper.sh", STEPPER)
    result = run_asktell("run", study, "-n", "8", "-j", "4", "--", command, env={"PIDS": str(pids)}, timeout=300)
    assert result.returncode == 0, describe(result)
    wait_for(lambda: not any(process_running(pid) for pid in pids_in(pids)), timeout=10)
    records = Study.open(study).trials
    assert len(records) == 8
    for record in records:
        if record.params["x"] > 0.5:
            assert record.state == "pruned" and record.values == {"loss": record.params["x"]}, record
            assert record.intermediate["loss"] and max(record.intermediate["loss"]) < 20  # stopped early
            assert record.reason.startswith("threshold: ")  # the pruner's reason
        else:
            assert record.state == "complete" and sorted(record.intermediate["loss"]) == list(range(40))
    assert {r.state for r in records} == {"pruned", "complete"}  # 8 uniform draws: both kinds (seeded)
    valid_files(study)
    assert_check_passes(study)
