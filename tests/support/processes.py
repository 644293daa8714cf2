"""Running many real asktell processes at once, and checking the study afterwards."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Sequence

from tests.conftest import ASKTELL, popen_asktell, run_asktell
from tests.support.files import journal_events

#: Generous bound for any batch of processes on a small, busy machine (never a speed assertion).
PROCESS_TIMEOUT = 300


def create_study(path: Path, *args: object) -> Path:
    """``asktell create PATH ARGS...``, insisting on exit 0."""
    result = run_asktell("create", path, *args)
    assert result.returncode == 0, result.stderr
    return path


def finish(process: subprocess.Popen, timeout: float = PROCESS_TIMEOUT) -> subprocess.CompletedProcess:
    """Wait for a started process and collect its output."""
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def stop_leftovers(processes: Sequence[subprocess.Popen]) -> None:
    """Kill and reap whatever is still running, so that a failed test leaves no process behind."""
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def run_at_once(commands: Sequence[Sequence[object]]) -> list[subprocess.CompletedProcess]:
    """Start every ``asktell`` command before waiting for any, so that they all contend."""
    processes = [popen_asktell(*command) for command in commands]
    try:
        return [finish(process) for process in processes]
    finally:
        stop_leftovers(processes)


def describe(result: subprocess.CompletedProcess) -> str:
    """``asktell ARGS... exited CODE: STDERR``, for assertion messages."""
    command = " ".join(map(str, result.args[len(ASKTELL):]))
    return f"asktell {command} exited {result.returncode}: {result.stderr.strip()}"


def assert_check_passes(study: Path) -> subprocess.CompletedProcess:
    """``asktell check`` exits 0 and reports no error (warnings are the traces of interrupted work)."""
    result = run_asktell("check", study)
    errors = [line for line in result.stdout.splitlines() if line.startswith("error:")]
    assert result.returncode == 0 and not errors, f"check exited {result.returncode}:\n{result.stdout}"
    assert ": 0 errors," in result.stderr, result.stderr
    return result


def assert_seqs_contiguous(study: Path) -> list[dict]:
    """Journal seq numbers run 0, 1, 2, ... with none lost or repeated; return the events."""
    events = journal_events(study)
    seqs = [event["seq"] for event in events]
    assert seqs == list(range(len(seqs))), f"journal seqs are not contiguous: {seqs}"
    return events


def trial_number(folder: str) -> int:
    """The number of a trial folder as ``ask`` prints it."""
    return int(Path(folder.strip()).name)
