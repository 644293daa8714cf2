"""Kill a run's process groups even when ``asktell run`` itself is killed with SIGKILL.

Each trial's command runs in a session of its own, so that a Ctrl-C at the
terminal reaches only asktell, which then stops the commands itself (and
tells their trials).  SIGKILL gives asktell no such chance, and the commands
would live on as orphans.  So a guard process, forked once when the run
starts, holds the read end of a pipe: asktell writes ``+PGID`` when it starts
a command and ``-PGID`` once that group is gone.  The kernel closes the pipe
when asktell dies, however it dies; the guard then sends SIGTERM to every
group still listed and SIGKILL to those still there after a grace period.
On a normal exit the list is empty and the guard just exits.

A fork, not a new interpreter: it costs a millisecond instead of the 20 ms of
a Python start-up, and the guard needs nothing but ``os``.
"""

from __future__ import annotations

import os
import signal
import time


class GroupGuard:
    """The guard process and the write end of its pipe."""

    def __init__(self, grace_seconds: float) -> None:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the guard
            status = 1
            try:
                os.close(write)
                os.setsid()  # out of the terminal's process group: a Ctrl-C is for asktell, not the guard
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                _guard(read, grace_seconds)
                status = 0
            finally:
                os._exit(status)  # never run the parent's cleanup (atexit, buffered output) twice
        os.close(read)
        self.pid = pid
        self._write = write

    def add(self, pgid: int) -> None:
        os.write(self._write, f"+{pgid}\n".encode())

    def remove(self, pgid: int) -> None:
        os.write(self._write, f"-{pgid}\n".encode())

    def close(self) -> None:
        """Let the guard go: it kills whatever groups are still listed, then exits."""
        os.close(self._write)
        os.waitpid(self.pid, 0)


def _guard(read: int, grace_seconds: float) -> None:
    """Follow the list of groups until the pipe closes, then end the groups left on it."""
    groups: set[int] = set()
    pending = b""
    while True:
        data = os.read(read, 4096)
        if not data:
            break
        *lines, pending = (pending + data).split(b"\n")
        for line in lines:
            (groups.add if line[:1] == b"+" else groups.discard)(int(line[1:]))
    kill_groups(groups, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while groups and time.monotonic() < deadline:
        groups = {g for g in groups if group_alive(g)}
        time.sleep(0.05)
    kill_groups(groups, signal.SIGKILL)


def kill_groups(groups, signum: int) -> None:
    for pgid in groups:
        try:
            os.killpg(pgid, signum)
        except (ProcessLookupError, PermissionError):
            pass  # gone already (EPERM: only zombies left, or the id is no longer ours)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
