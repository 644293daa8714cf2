"""Processes SIGKILLed at random moments, as a cluster's scheduler kills jobs.

Each round starts a few ``asktell ask`` / ``asktell tell`` processes at once
and kills one of them: at a random moment, or the moment it is seen holding
the study lock.  After every kill the study must still load, ``asktell check``
must find traces of interrupted work at most (warnings), never corruption
(errors), and every call that did exit 0 must be in the study.  At the end the
study must keep working: a killed process may not leave a lock that blocks it.
"""

from __future__ import annotations

import random
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from asktell import Study
from asktell.lock import CLOCK_SKEW_SECONDS, MkdirLock
from tests.conftest import popen_asktell, run_asktell
from tests.support.processes import (assert_check_passes, create_study, describe, finish, run_at_once,
                                     stop_leftovers, trial_number)

pytestmark = pytest.mark.slow

ROUNDS = 60
#: Short, so that a lock abandoned between its mkdir and its owner file is broken within
#: seconds; longer than the last CLOCK_SKEW_SECONDS of a lease, in which a holder may not write.
LEASE_SECONDS = CLOCK_SKEW_SECONDS + 3
#: Every third round kills its victim the moment it holds the lock (if it is seen holding it).
KILL_HOLDER_EVERY = 3


@dataclass
class Call:
    """One ``asktell`` process of a round and what it was asked to do."""

    kind: str  # "ask" or "tell"
    trial: int | None = None
    value: float | None = None
    process: subprocess.Popen | None = None

    def command(self, study: Path) -> tuple:
        if self.kind == "ask":
            return ("ask", study)
        return ("tell", study, self.trial, "--value", repr(self.value))


class CrashedStudy:
    """A study driven through rounds of concurrent calls, one of them killed per round.

    It remembers what the study must hold: every trial whose ``ask`` exited 0,
    every value whose ``tell`` exited 0, and the values of killed tells (which
    may or may not have been recorded, but never as anything else).
    """

    def __init__(self, path: Path, rng: random.Random) -> None:
        self.path = path
        self.rng = rng
        self.asked: set[int] = set()
        self.untold: list[int] = []
        self.told: dict[int, float] = {}
        self.killed_tells: dict[int, float] = {}
        self.kills = 0
        self.kills_holding_lock = 0

    # ---- one round
    def new_call(self, kind: str) -> Call:
        """An ask, or a tell of a trial asked earlier with a random value (an ask if none is left)."""
        if kind == "tell" and self.untold:
            trial = self.untold.pop(self.rng.randrange(len(self.untold)))
            return Call("tell", trial, round(self.rng.uniform(-100, 100), 6))
        return Call("ask")

    def run_round(self, victim_kind: str | None, kill_window: float, kill_holder: bool) -> None:
        """Start a victim of ``victim_kind`` with an ask and a tell beside it; kill the victim; record outcomes."""
        victim = self.new_call(victim_kind or "ask")
        calls = [victim, self.new_call("ask"), self.new_call("tell")]
        order = calls[:]
        self.rng.shuffle(order)
        try:
            for call in order:
                call.process = popen_asktell(*call.command(self.path))
            if victim_kind is not None:
                self.kill(victim.process, kill_window, kill_holder)
            results = [finish(call.process) for call in calls]
        finally:
            stop_leftovers([call.process for call in calls if call.process is not None])
        for call, result in zip(calls, results):
            self.record(call, result, killed=victim_kind is not None and call is victim)

    def kill(self, process: subprocess.Popen, window: float, when_holding: bool) -> None:
        """SIGKILL after a random delay up to ``window``, or as soon as ``process`` holds the lock."""
        deadline = time.monotonic() + (window * 2 if when_holding else self.rng.uniform(0, window))
        owner_path = self.path / ".lock" / "owner"
        while time.monotonic() < deadline:
            if when_holding:
                owner = MkdirLock.read_owner(owner_path)
                if owner is not None and owner.get("pid") == process.pid:
                    break
            time.sleep(0.0002 if when_holding else 0.002)
        process.kill()
        self.kills += process.wait() < 0  # it may have finished first
        owner = MkdirLock.read_owner(owner_path)
        self.kills_holding_lock += owner is not None and owner.get("pid") == process.pid

    def record(self, call: Call, result: subprocess.CompletedProcess, killed: bool) -> None:
        if result.returncode == 0:
            if call.kind == "ask":
                number = trial_number(result.stdout)
                self.asked.add(number)
                self.untold.append(number)
            else:
                self.told[call.trial] = call.value
        elif killed and result.returncode < 0:
            if call.kind == "tell":
                self.killed_tells[call.trial] = call.value
        else:
            pytest.fail(f"a process that was not killed failed: {describe(result)}")

    # ---- what must hold after every round
    def verify(self) -> None:
        """The study as it must be; called between rounds, when no call is in flight.

        ``asktell check`` reads the journal before the mirrors, so a tell that
        finished in between would look like a ``trial.yaml`` ahead of its journal.
        """
        opened = Study.open(self.path)
        trials = {t.number: t for t in opened.history().trials}
        for number in self.asked:
            assert number in trials, f"trial {number} was asked (exit 0) but is not in the journal"
            assert (opened.trial_dir(number) / "params.yaml").is_file()
        for number, value in self.told.items():
            record = trials[number]
            assert (record.state, record.values) == ("complete", {"value": value}), \
                f"trial {number} was told {value} (exit 0) but the study has {record.state} {record.values}"
        for number, value in self.killed_tells.items():
            record = trials[number]
            assert record.state == "running" or (record.state, record.values) == ("complete", {"value": value}), \
                f"trial {number}, whose tell of {value} was killed, is {record.state} {record.values}"
        assert_check_passes(self.path)

    def typical_call_seconds(self) -> float:
        """Wall time of a round's calls when nobody is killed: the window for random kills."""
        began = time.monotonic()
        self.run_round(None, 0.0, False)
        return time.monotonic() - began


def test_killed_asks_and_tells_never_corrupt_the_study(tmp_path, valid_files):
    """Every round kills an ask or a tell (alternately) while other calls are in flight."""
    path = create_study(tmp_path / "crash", "-p", "x=0..1", "-p", "n=1..8", "-p", "opt=adam,sgd",
                        "--seed", "3", "--lock-lease", LEASE_SECONDS)
    result = run_asktell("ask", path, "--count", "20")
    assert result.returncode == 0, result.stderr
    study = CrashedStudy(path, random.Random(20240))
    study.asked.update(trial_number(line) for line in result.stdout.splitlines())
    study.untold.extend(sorted(study.asked))
    window = study.typical_call_seconds()

    for round_number in range(ROUNDS):
        study.run_round("ask" if round_number % 2 == 0 else "tell", window,
                        kill_holder=round_number % KILL_HOLDER_EVERY == KILL_HOLDER_EVERY - 1)
        study.verify()
    assert study.kills_holding_lock > 0, "no kill landed while its victim held the lock"

    # The study keeps working: retell the killed tells (recorded or not), tell the rest, ask more.
    leftovers = [("tell", path, n, "--value", repr(v)) for n, v in study.killed_tells.items()]
    leftovers += [("tell", path, n, "--value", repr(float(n))) for n in study.untold]
    leftovers += [("ask", path)] * 3
    results = run_at_once(leftovers)
    assert [r.returncode for r in results] == [0] * len(results), \
        "\n".join(describe(r) for r in results if r.returncode)
    study.asked.update(trial_number(r.stdout) for r in results[-3:])
    study.told.update(study.killed_tells)
    study.told.update((n, float(n)) for n in study.untold)
    study.untold.clear()
    study.verify()
    assert not (path / ".lock").exists()
    valid_files(path, allow_torn=True)
    print(f"{study.kills} kills, {study.kills_holding_lock} while the victim held the lock, "
          f"{len(study.told)} trials told")


@pytest.mark.parametrize("lease", [1.0, 5.0])
def test_a_short_lease_that_create_accepts_still_lets_calls_write(tmp_path, lease):
    """Crash recovery wants a short lease; ``create`` must refuse a lease too short to write under.

    A holder refuses to write in the last CLOCK_SKEW_SECONDS of its lease, so a
    study whose lease is no longer than that can never ask or tell.
    """
    created = run_asktell("create", tmp_path / "short", "-p", "x=0..1", "--lock-lease", lease)
    if created.returncode == 2:
        assert created.stderr.startswith("asktell: error:") and "lease" in created.stderr
        return
    assert created.returncode == 0, created.stderr
    asked = run_asktell("ask", tmp_path / "short")
    assert asked.returncode == 0, f"create accepted --lock-lease {lease:g}, then ask failed: {asked.stderr}"
