"""Many processes on one study at once, as a cluster's array jobs run them.

Every ``ask`` and ``tell`` here is a separate process -- the real command, or
the Python API in a spawned interpreter -- because the lock, the journal and
the mirrors must hold between processes, which threads would never exercise.
The last tests check the mkdir lock itself: that holds never overlap, that a
dead holder's lock is broken at once and that a live holder's lock never is.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path
from typing import Callable

import pytest

from asktell import Study
from asktell.errors import LockTimeout
from asktell.lock import CLOCK_SKEW_SECONDS, MkdirLock
from tests.support.processes import (PROCESS_TIMEOUT, assert_check_passes, assert_seqs_contiguous, create_study,
                                     describe, run_at_once, trial_number)

EXIT_EXHAUSTED = 4


class Spawner:
    """Python functions in ``spawn``-ed interpreters: fresh processes, nothing inherited by fork."""

    def __init__(self) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.started: list = []

    def start(self, target: Callable, *args: object):
        process = self.context.Process(target=target, args=args, daemon=True)
        process.start()
        self.started.append(process)
        return process

    def join_all(self, timeout: float = PROCESS_TIMEOUT) -> None:
        """Wait for every started process and insist that each exited 0."""
        deadline = time.monotonic() + timeout
        for process in self.started:
            process.join(max(0.0, deadline - time.monotonic()))
        codes = [process.exitcode for process in self.started]
        assert codes == [0] * len(codes), f"exit codes of the spawned processes: {codes}"

    def stop(self) -> None:
        for process in self.started:
            if process.is_alive():
                process.kill()
            process.join(10)


@pytest.fixture
def spawner():
    """A ``Spawner`` whose processes are killed at teardown if a test left any running."""
    spawner = Spawner()
    yield spawner
    spawner.stop()


# ---------------------------------------------------------------------- the CLI


@pytest.mark.slow
def test_64_concurrent_asks_then_64_concurrent_tells(study, valid_files):
    """64 array jobs ask at once, then tell at once: 64 distinct trials, all complete, a clean journal."""
    asks = run_at_once([("ask", study)] * 64)

    assert [r.returncode for r in asks] == [0] * 64, "\n".join(describe(r) for r in asks if r.returncode)
    folders = [r.stdout.strip() for r in asks]
    assert len(set(folders)) == 64
    assert sorted(trial_number(f) for f in folders) == list(range(64))
    assert all((Path(f) / "params.yaml").is_file() for f in folders)

    values = {trial_number(f): float(trial_number(f)) / 8 for f in folders}
    tells = run_at_once([("tell", study, f, "--value", values[trial_number(f)]) for f in folders])

    assert [r.returncode for r in tells] == [0] * 64, "\n".join(describe(r) for r in tells if r.returncode)
    trials = Study.open(study).trials
    assert [(t.number, t.state, t.values) for t in trials] == [
        (n, "complete", {"loss": values[n]}) for n in range(64)]
    assert_check_passes(study)
    valid_files(study)
    assert len(assert_seqs_contiguous(study)) == 1 + 64 + 64


GRID_PARAMS = ("-p", "a=1..5", "-p", "b=x,y,z", "-p", "c=true,false")
GRID_CELLS = [{"a": a, "b": b, "c": c} for a, b, c in itertools.product(range(1, 6), "xyz", (True, False))]


def cell(params: dict) -> str:
    """A cell's identity; JSON keeps ``true`` and ``1`` apart."""
    return json.dumps(params, sort_keys=True)


@pytest.mark.slow
@pytest.mark.parametrize("order", [[], ["--sampler-option", "order=sequential"]], ids=["shuffled", "sequential"])
def test_grid_hands_each_cell_to_exactly_one_of_40_concurrent_askers(tmp_path, valid_files, order):
    """30 cells, 40 askers at once: 30 get distinct cells, the other 10 exit 4 with one error line."""
    path = create_study(tmp_path / "grid", *GRID_PARAMS, "--sampler", "grid", *order)

    results = run_at_once([("ask", path, "--format", "json")] * 40)

    unexpected = [describe(r) for r in results if r.returncode not in (0, EXIT_EXHAUSTED)]
    assert not unexpected, "\n".join(unexpected)
    handed_out = [json.loads(r.stdout) for r in results if r.returncode == 0]
    exhausted = [r for r in results if r.returncode == EXIT_EXHAUSTED]
    assert (len(handed_out), len(exhausted)) == (30, 10)
    assert sorted(cell(t["params"]) for t in handed_out) == sorted(cell(c) for c in GRID_CELLS)
    assert sorted(t["trial"] for t in handed_out) == list(range(30))
    for result in exhausted:
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("asktell: error:"), result.stderr

    recorded = {t.number: cell(t.params) for t in Study.open(path).trials}
    assert recorded == {t["trial"]: cell(t["params"]) for t in handed_out}
    assert_check_passes(path)
    valid_files(path)
    assert_seqs_contiguous(path)


# ---------------------------------------------------------------------- the Python API


def ask_and_tell_in_a_loop(study: Path, worker: int, loops: int, start, out: Path) -> None:
    """A driver process: ask, tell, repeat; write ``{trial: value}`` of what it told to ``out``."""
    opened = Study.open(study)
    start.wait(PROCESS_TIMEOUT)
    told = {}
    for i in range(loops):
        trial = opened.ask()
        value = float(worker * 100 + i)
        opened.tell(trial, value)
        told[trial.number] = value
    out.write_text(json.dumps(told))


@pytest.mark.slow
def test_python_api_in_8_spawned_processes(study, tmp_path, spawner, valid_files):
    """Eight driver scripts ask and tell in a loop at the same time: 80 distinct trials, all complete."""
    workers, loops = 8, 10
    start = spawner.context.Barrier(workers)
    outputs = [tmp_path / f"worker-{w}.json" for w in range(workers)]
    for worker, out in enumerate(outputs):
        spawner.start(ask_and_tell_in_a_loop, study, worker, loops, start, out)
    spawner.join_all()

    told: dict[int, float] = {}
    for out in outputs:
        for number, value in json.loads(out.read_text()).items():
            assert int(number) not in told, f"trial {number} was handed to two workers"
            told[int(number)] = value
    assert sorted(told) == list(range(workers * loops))

    trials = Study.open(study).trials
    assert [(t.number, t.state, t.values) for t in trials] == [
        (n, "complete", {"loss": told[n]}) for n in range(workers * loops)]
    asked_by = {event["pid"] for event in assert_seqs_contiguous(study) if event["event"] == "asked"}
    assert len(asked_by) == workers
    assert_check_passes(study)
    valid_files(study)


# ---------------------------------------------------------------------- the mkdir lock


def hold_lock_repeatedly(folder: Path, times: int, start, out: Path) -> None:
    """Take the lock ``times`` times; under it, bump a counter file; write the hold intervals to ``out``."""
    counter = folder / "counter"
    intervals = []
    start.wait(PROCESS_TIMEOUT)
    for _ in range(times):
        with MkdirLock(folder, lease=60, timeout=PROCESS_TIMEOUT):
            began = time.monotonic()
            count = int(counter.read_text())
            time.sleep(random.uniform(0, 0.002))  # widen the window in which a second holder would show
            counter.write_text(str(count + 1))
            ended = time.monotonic()
        intervals.append((began, ended))
    out.write_text(json.dumps(intervals))


def hold_lock_until_killed(folder: Path, lease: float, held) -> None:
    """Take the lock, say so, and keep it until the process is killed."""
    MkdirLock(folder, lease=lease, timeout=60).acquire()
    held.set()
    time.sleep(600)


def start_holder(spawner: Spawner, folder: Path, lease: float):
    """A process that holds the lock on ``folder``, and the owner record it wrote."""
    held = spawner.context.Event()
    holder = spawner.start(hold_lock_until_killed, folder, lease, held)
    assert held.wait(60), "the holder never got the lock"
    owner = MkdirLock.read_owner(folder / ".lock" / "owner")
    assert owner is not None and owner["pid"] == holder.pid
    return holder, owner


@pytest.mark.slow
def test_mkdir_lock_holds_never_overlap(tmp_path, spawner):
    """Six processes take the lock 40 times each: no two hold intervals overlap and no increment is lost.

    ``time.monotonic`` is one clock for every process of a machine, so the
    intervals recorded by different processes can be compared directly.
    """
    processes, times = 6, 40
    (tmp_path / "counter").write_text("0")
    start = spawner.context.Barrier(processes)
    outputs = [tmp_path / f"holds-{p}.json" for p in range(processes)]
    for out in outputs:
        spawner.start(hold_lock_repeatedly, tmp_path, times, start, out)
    spawner.join_all()

    intervals = sorted(tuple(i) for out in outputs for i in json.loads(out.read_text()))
    assert len(intervals) == processes * times
    overlaps = [(a, b) for a, b in zip(intervals, intervals[1:]) if b[0] < a[1]]
    assert not overlaps, f"{len(overlaps)} overlapping holds, e.g. {overlaps[:3]}"
    assert int((tmp_path / "counter").read_text()) == processes * times
    assert not (tmp_path / ".lock").exists()


@pytest.mark.slow
def test_lock_of_a_killed_holder_is_broken_at_once_on_the_same_host(tmp_path, spawner):
    """A holder SIGKILLed with a 300 s lease: the next process gets the lock well within 20 s.

    On the same host the dead pid is proof enough; waiting for the lease
    would stall every array job of the study for five minutes.
    """
    holder, _ = start_holder(spawner, tmp_path, lease=300)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    assert holder.exitcode == -signal.SIGKILL
    assert (tmp_path / ".lock").is_dir(), "the killed holder's lock should have been left behind"

    lock = MkdirLock(tmp_path, lease=300, timeout=20)
    lock.acquire()  # LockTimeout here means the dead holder's lock was not broken
    try:
        assert MkdirLock.read_owner(lock.owner_path)["pid"] == os.getpid()
    finally:
        lock.release()
    assert not (tmp_path / ".lock").exists()
    assert not list(tmp_path.glob(".lock.*"))


@pytest.mark.slow
def test_lock_of_a_live_holder_is_kept_after_its_lease_expired(tmp_path, spawner):
    """A holder that is merely slow keeps its lock on its own host, however old its lease.

    Breaking it would let two processes write the journal at once.  The waiter
    tries only once the lease has expired even allowing for clock skew, so a
    lease check would break the lock; the pid check must keep it.
    """
    holder, owner = start_holder(spawner, tmp_path, lease=1)
    time.sleep(max(0.0, owner["expires"] + CLOCK_SKEW_SECONDS + 0.5 - time.time()))

    with pytest.raises(LockTimeout):
        MkdirLock(tmp_path, lease=1, timeout=3).acquire()

    assert holder.is_alive()
    assert MkdirLock.read_owner(tmp_path / ".lock" / "owner") == owner
