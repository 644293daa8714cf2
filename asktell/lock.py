"""Mutual exclusion over a study folder, also between hosts sharing it.

Two lock kinds, one class each, on a base that owns the single acquire loop:

``mkdir`` (the default)
    The lock is the folder ``.lock`` in the study.  ``mkdir`` is the one
    creation primitive measured atomic across two mounts of one share (NFS
    and sshfs alike); ``flock`` does not exclude across sshfs mounts, and
    racing ``O_EXCL``/``link`` creations fail there with EPERM instead of
    EEXIST.  The holder writes ``.lock/owner`` with its host, pid and a lease.
    A waiting process breaks the lock only when the holder is certainly gone:
    on the same host (same kernel and pid namespace), when its pid no longer
    runs; on another host, when its lease has expired -- never because it is
    merely slow.  The holder itself refuses to write once its lease is nearly
    over (``check_lease``), so a holder that was stalled past its lease and
    broken cannot write over its successor.

``flock``
    ``filelock.FileLock`` on ``.lock.flock``: the kernel releases it when the
    holder dies, so it needs no lease.  Right for a study on a local disk, and
    on NFS only where the server's lock manager works (not with ``nolock``,
    never on sshfs).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import time
from pathlib import Path
from typing import ClassVar

from .errors import InvalidInput, LeaseExpired, LockTimeout
from .fileio import random_token

LOCK_KINDS = ("mkdir", "flock")
DEFAULT_LEASE_SECONDS = 60.0
DEFAULT_TIMEOUT_SECONDS = 600.0
#: Names of lock folders renamed away by their holder, and by a breaker.
RELEASED_PREFIX = ".lock.released-"
STALE_PREFIX = ".lock.stale-"
#: Allowance for clocks of different hosts that disagree (NTP keeps them far closer).
CLOCK_SKEW_SECONDS = 5.0


def _host_identity() -> str:
    """Who "the same host" is for pid checks: same kernel boot and same pid namespace.

    The hostname alone is not enough: containers sharing a hostname see
    different pids, and a pid missing in our namespace may run in theirs.
    """
    parts = [socket.gethostname()]
    try:
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8])
        parts.append(os.readlink("/proc/self/ns/pid").strip("pid:[]"))
    except OSError:
        pass
    return "/".join(parts)


HOST = socket.gethostname()
_IDENTITY: str | None = None


def host_identity() -> str:
    global _IDENTITY
    if _IDENTITY is None:
        _IDENTITY = _host_identity()
    return _IDENTITY


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of ``pid`` from /proc; the start time tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return fields[0], fields[19]


def process_start(pid: int) -> str | None:
    stat = _proc_stat(pid)
    return None if stat is None else stat[1]


def pid_alive(pid: int, start: str | None) -> bool:
    """Whether ``pid`` on this host is still the running process that wrote ``start``.

    A zombie (killed, not yet waited for by its parent) is dead: it can never
    release the lock, and its parent may not wait for it until we do.
    """
    stat = _proc_stat(pid)
    if stat is not None:
        state, current = stat
        return state not in ("Z", "X") and (start is None or current == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not Path("/proc/self/stat").exists()  # no /proc here: trust kill(0)


def safety_margin(lease: float) -> float:
    """How long before its lease ends a holder stops writing: the clock-skew allowance,
    but never more than half the lease, so that a short lease still leaves time to write."""
    return min(CLOCK_SKEW_SECONDS, lease / 2)


class StudyLock:
    """Base of the lock kinds: the acquire loop, timing and the context manager."""

    kind: ClassVar[str]
    #: Whether exclusion holds between processes on different hosts of a share.
    crosses_hosts: ClassVar[bool]
    #: Whether a dead holder's lock is freed by a lease rather than by the kernel.
    uses_lease: ClassVar[bool]

    def __init__(self, study_dir: Path, lease: float = DEFAULT_LEASE_SECONDS,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.study_dir = Path(study_dir)
        self.lease = lease
        self.timeout = timeout
        self.acquired_at: float | None = None
        #: Seconds the last hold lasted (for benchmarks and diagnostics).
        self.last_hold: float | None = None

    def acquire(self) -> None:
        deadline = time.monotonic() + self.timeout
        delay = 0.0005
        while not self._acquire():
            if time.monotonic() >= deadline:
                raise LockTimeout(f"the study lock stayed busy for {self.timeout:g} s; {self._describe_holder()}",
                                  file=self.study_dir)
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.05)
        self.acquired_at = time.monotonic()

    def release(self) -> None:
        if self.acquired_at is not None:
            self.last_hold = time.monotonic() - self.acquired_at
            self.acquired_at = None
            self._release()

    def check_lease(self) -> None:
        """Raise unless this process may still write under the lock."""

    def __enter__(self) -> "StudyLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _describe_holder(self) -> str:
        return "another process holds it"

    # Each kind implements these two.
    def _acquire(self) -> bool:  # pragma: no cover
        raise NotImplementedError

    def _release(self) -> None:  # pragma: no cover
        raise NotImplementedError


class MkdirLock(StudyLock):
    """``mkdir .lock`` plus an owner file with host, pid and lease."""

    kind = "mkdir"
    crosses_hosts = True
    uses_lease = True

    def __init__(self, study_dir: Path, lease: float = DEFAULT_LEASE_SECONDS,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        super().__init__(study_dir, lease, timeout)
        self.path = self.study_dir / ".lock"
        self.owner_path = self.path / "owner"
        self.token: str | None = None
        self._expires = 0.0

    def _acquire(self) -> bool:
        try:
            os.mkdir(self.path)
        except FileExistsError:
            self._break_if_stale()
            return False
        except PermissionError:  # some FUSE mounts answer a lost race with EPERM
            return False
        except FileNotFoundError:
            if not self.study_dir.is_dir():
                raise InvalidInput("the study folder disappeared", file=self.study_dir) from None
            return False  # a network mount racing a rename of .lock: try again
        self.token = random_token(8)
        self._expires = time.time() + self.lease
        try:
            self._write_owner()
        except FileNotFoundError:  # broken between our mkdir and this write: not ours
            return False
        return True

    def _write_owner(self) -> None:
        owner = {
            "host": HOST, "identity": host_identity(), "pid": os.getpid(),
            "start": process_start(os.getpid()), "token": self.token, "expires": self._expires,
        }
        fd = os.open(self.owner_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, json.dumps(owner).encode())
        finally:
            os.close(fd)

    def renew(self) -> None:
        """Extend the lease, for the rare hold that must last longer than one."""
        self.check_lease()
        self._expires = time.time() + self.lease
        self._write_owner()

    def check_lease(self) -> None:
        if time.time() > self._expires - safety_margin(self.lease):
            raise LeaseExpired(
                f"this process held the study lock past its {self.lease:g} s lease; it wrote nothing "
                "(another process may have taken the lock over)", file=self.study_dir)

    def _release(self) -> None:
        """Free the lock by renaming its folder away, then remove the renamed folder.

        Not ``unlink`` + ``rmdir``: on a FUSE mount, unlinking the owner file
        while a waiter has it open leaves a ``.fuse_hidden*`` file behind, and
        ``rmdir`` then fails although the lock is ours.  The rename frees the
        lock at once whatever the folder holds.
        """
        owner = self.read_owner(self.owner_path)
        if owner is not None and owner.get("token") != self.token:
            return  # broken and re-taken while we were stalled: not ours to remove
        grave = self.study_dir / f"{RELEASED_PREFIX}{self.token}"
        try:
            os.rename(self.path, grave)
        except OSError:
            return  # already broken and removed by another process
        shutil.rmtree(grave, ignore_errors=True)

    @staticmethod
    def read_owner(path: Path) -> dict | None:
        try:
            owner = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None
        return owner if isinstance(owner, dict) else None

    def holder_gone(self, owner: dict | None) -> bool:
        now = time.time()
        if owner is None:
            # The folder exists but its owner file does not (yet): its creator is
            # between mkdir and writing the file, or died there.  Only age tells.
            try:
                created = os.stat(self.path).st_mtime
            except FileNotFoundError:
                return False
            return now > created + self.lease + safety_margin(self.lease)
        if owner.get("identity") == host_identity():
            return not pid_alive(int(owner.get("pid", -1)), owner.get("start"))
        expires = owner.get("expires")
        return isinstance(expires, (int, float)) and now > expires + safety_margin(self.lease)

    def _break_if_stale(self) -> None:
        owner = self.read_owner(self.owner_path)
        if not self.holder_gone(owner):
            return
        stale_token = owner.get("token") if owner else None
        # One breaker at a time: otherwise a slow breaker could remove the lock a
        # faster one has just broken and a third process has just taken.
        guard = self.study_dir / ".lock.break"
        try:
            os.mkdir(guard)
        except FileExistsError:
            self._clear_abandoned_guard(guard)
            return
        except PermissionError:
            return
        try:
            current = self.read_owner(self.owner_path)
            if (current.get("token") if current else None) != stale_token:
                return  # the lock changed hands since we looked
            grave = self.study_dir / f"{STALE_PREFIX}{random_token()}"
            try:
                os.rename(self.path, grave)
            except OSError:
                return
            buried = self.read_owner(grave / "owner")
            if (buried.get("token") if buried else None) != stale_token:
                try:  # a live holder's lock after all: give it back
                    os.rename(grave, self.path)
                except OSError:
                    pass
                return
            shutil.rmtree(grave, ignore_errors=True)
        finally:
            try:
                os.rmdir(guard)
            except OSError:
                pass

    def _clear_abandoned_guard(self, guard: Path) -> None:
        """A breaker holds the guard for microseconds; one older than a lease died there."""
        try:
            if time.time() > os.stat(guard).st_mtime + self.lease + safety_margin(self.lease):
                os.rmdir(guard)
        except OSError:
            pass

    def _describe_holder(self) -> str:
        owner = self.read_owner(self.owner_path)
        if owner is None:
            return f"{self.path} exists without an owner file"
        left = owner.get("expires", 0) - time.time()
        return (f"held by pid {owner.get('pid')} on host {owner.get('host')}, lease "
                f"{'expires in %.0f s' % left if left > 0 else 'expired %.0f s ago' % -left}")


class FlockLock(StudyLock):
    """``filelock.FileLock`` (flock): fast and self-cleaning, but local to one host on many shares."""

    kind = "flock"
    crosses_hosts = False
    uses_lease = False

    def __init__(self, study_dir: Path, lease: float = DEFAULT_LEASE_SECONDS,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        super().__init__(study_dir, lease, timeout)
        import filelock  # imported here: it costs ~30 ms and the default kind does not need it

        self._lock = filelock.FileLock(str(self.study_dir / ".lock.flock"), is_singleton=False)

    def _acquire(self) -> bool:
        import filelock

        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            return False
        return True

    def _release(self) -> None:
        self._lock.release()


def sweep_leftovers(study_dir: Path, older_than: float = 60.0) -> int:
    """Remove old lock folders whose removal failed (a FUSE mount's hidden files, a crash)."""
    removed = 0
    for prefix in (RELEASED_PREFIX, STALE_PREFIX):
        for leftover in Path(study_dir).glob(prefix + "*"):
            try:
                if time.time() - os.stat(leftover).st_mtime > older_than:
                    shutil.rmtree(leftover)
                    removed += 1
            except OSError:
                pass
    return removed


def make_lock(study_dir: Path, kind: str, lease: float = DEFAULT_LEASE_SECONDS,
              timeout: float = DEFAULT_TIMEOUT_SECONDS) -> StudyLock:
    classes = {cls.kind: cls for cls in (MkdirLock, FlockLock)}
    if kind not in classes:
        raise InvalidInput(f"unknown lock kind; use one of {', '.join(LOCK_KINDS)}", field="lock.kind", value=kind)
    return classes[kind](study_dir, lease, timeout)
