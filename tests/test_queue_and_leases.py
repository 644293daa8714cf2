"""Enqueued parameter sets, heartbeats and reaping: what a cluster needs when jobs die or are requeued.

A killed job leaves its trial ``running`` for ever; ``reap`` fails the ones
whose worker went silent, and ``--retry`` gives their parameters another run.
``heartbeat`` keeps a long trial from being reaped.  ``enqueue`` hands fixed
parameter sets to the next asks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from asktell import Study
from tests.conftest import ASKTELL, run_asktell
from tests.support.files import journal_events

SPACE = ["-p", "lr=1e-5..1e-1:log", "-p", "n=1..4", "-p", "opt=adam,sgd"]


def ok(*args: object) -> subprocess.CompletedProcess:
    result = run_asktell(*args)
    assert result.returncode == 0, f"asktell {' '.join(map(str, args))}: {result.stderr}"
    return result


@pytest.fixture
def study(tmp_path: Path) -> Path:
    path = tmp_path / "study"
    ok("create", path, *SPACE, "--minimize", "loss", "--seed", "5")
    return path


def asked_params(study: Path) -> dict:
    return json.loads(ok("ask", study, "--format", "json").stdout)["params"]


def test_enqueued_sets_go_out_first_in_order_then_the_sampler_takes_over(study, valid_files):
    ok("enqueue", study, "-p", "lr=0.01", "-p", "n=2", "-p", "opt=adam")
    ok("enqueue", study, "-p", "lr=1e-4", "-p", "n=4", "-p", "opt=sgd")
    assert asked_params(study) == {"lr": 0.01, "n": 2, "opt": "adam"}
    assert asked_params(study) == {"lr": 1e-4, "n": 4, "opt": "sgd"}
    third = asked_params(study)
    assert third not in ({"lr": 0.01, "n": 2, "opt": "adam"}, {"lr": 1e-4, "n": 4, "opt": "sgd"})
    queued = [e for e in journal_events(study) if e["event"] == "asked" and "queued" in e]
    assert [e["trial"] for e in queued] == [0, 1]
    assert "queued" not in ok("status", study).stdout
    valid_files(study)


def test_ask_many_mixes_the_queue_and_the_sampler(study):
    ok("enqueue", study, "-p", "lr=0.01", "-p", "n=2", "-p", "opt=adam")
    handed = [json.loads(line)["params"] for line in
              ok("ask", study, "-n", "3", "--format", "json").stdout.splitlines()]
    assert handed[0] == {"lr": 0.01, "n": 2, "opt": "adam"} and len(handed) == 3


def test_the_queue_survives_the_snapshot(study):
    """A snapshot taken while sets are queued must hand them out all the same, and check must agree."""
    ok("enqueue", study, "-p", "lr=0.01", "-p", "n=2", "-p", "opt=adam")
    ok("enqueue", study, "-p", "lr=0.02", "-p", "n=3", "-p", "opt=sgd")
    opened = Study.open(study)
    opened.compact()
    assert "queued: 2" in ok("status", study).stdout
    assert asked_params(study) == {"lr": 0.01, "n": 2, "opt": "adam"}
    assert asked_params(study) == {"lr": 0.02, "n": 3, "opt": "sgd"}
    assert "0 errors, 0 warnings" in ok("check", study).stderr


def test_concurrent_asks_take_each_queued_set_exactly_once(study):
    for n in range(1, 5):
        for opt in ("adam", "sgd"):
            ok("enqueue", study, "-p", "lr=0.001", "-p", f"n={n}", "-p", f"opt={opt}")
    workers = [subprocess.Popen([*ASKTELL, "ask", str(study), "--format", "json"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(12)]
    handed = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        handed.append(json.loads(out)["params"])
    fixed = [(p["n"], p["opt"]) for p in handed if p["lr"] == 0.001]
    assert sorted(fixed) == sorted((n, opt) for n in range(1, 5) for opt in ("adam", "sgd"))
    assert "0 errors" in ok("check", study).stderr


def test_reap_fails_silent_trials_and_spares_those_with_a_heartbeat(study, valid_files):
    opened = Study.open(study)
    alive, silent = opened.ask_many(2)
    time.sleep(1.5)
    opened.heartbeat(alive.number)
    reaped = opened.reap(older_than=1.0)
    assert [record.number for record, _ in reaped] == [silent.number]
    history = opened.history()
    assert history.get(alive.number).state == "running"
    assert history.get(silent.number).state == "failed"
    trial = yaml.safe_load((study / "trials" / f"{silent.number:06d}" / "trial.yaml").read_text())
    assert trial["state"] == "failed" and trial["reason"].startswith("reaped: no sign of life for")
    assert "last heartbeat" in ok("status", study).stdout
    valid_files(study)


def test_a_reaped_trial_learns_it_from_its_next_heartbeat_and_its_tell_is_refused(study):
    number = Study.open(study).ask().number
    ok("reap", study, "--older-than", "0s")
    beat = run_asktell("heartbeat", study, number)
    assert beat.returncode == 2 and "it was told failed" in beat.stderr
    late = run_asktell("tell", study, number, "--value", "0.5")
    assert late.returncode == 2 and "already told failed" in late.stderr


def test_retry_enqueues_the_parameters_again_at_most_n_times(study, valid_files):
    first = asked_params(study)
    assert "enqueued again" in ok("reap", study, "--older-than", "0s", "--retry", "2").stdout
    assert asked_params(study) == first
    assert "enqueued again" in ok("reap", study, "--older-than", "0s", "--retry", "2").stdout
    assert asked_params(study) == first
    last = ok("reap", study, "--older-than", "0s", "--retry", "2").stdout
    assert "trial 2 failed" in last and "enqueued again" not in last
    assert asked_params(study) != first
    asked = {e["trial"]: e for e in journal_events(study) if e["event"] == "asked"}
    assert (asked[1]["retry_of"], asked[1]["retries"]) == (0, 1)
    assert (asked[2]["retry_of"], asked[2]["retries"]) == (1, 2)
    trial = yaml.safe_load((study / "trials" / "000002" / "trial.yaml").read_text())
    assert trial["retry_of"] == 1
    valid_files(study)


_WORKER = """
import os, sys, time
from asktell import Study
study = Study.open(sys.argv[1])
trial = study.ask()
print(trial.number, flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.2)
    study.heartbeat(trial.number)
"""


def test_killed_workers_are_reaped_and_their_parameters_run_again(study, valid_files):
    """Four workers heartbeat; two are SIGKILLed: only theirs are reaped, and a retry reruns them."""
    stop = study.parent / "stop"  # the survivors end between heartbeats, not in the middle of a write
    workers = [subprocess.Popen([sys.executable, "-c", _WORKER, str(study), str(stop)], stdout=subprocess.PIPE,
                                text=True) for _ in range(4)]
    try:
        numbers = [int(w.stdout.readline()) for w in workers]
        for worker in workers[:2]:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
        time.sleep(3)
        reaped = Study.open(study).reap(older_than=2.0, retry=1)
        assert sorted(record.number for record, _ in reaped) == sorted(numbers[:2])
        assert all(requeued is not None for _, requeued in reaped)
        params = {n: Study.open(study).history().get(n).params for n in numbers[:2]}
        rerun = [asked_params(study), asked_params(study)]
        assert sorted(map(json.dumps, rerun)) == sorted(json.dumps(params[n]) for n in numbers[:2])
    finally:
        stop.touch()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    assert "0 errors" in ok("check", study).stderr
    valid_files(study)
