"""Two "hosts" sharing one folder: a private sshd on 127.0.0.1 and two sshfs mounts of it.

Kernel NFS cannot be mounted on the test machines, but sshfs (FUSE) can, and
it is harsher than NFS: flock does not exclude across its mounts, racing
exclusive creations fail with EPERM, and with default options its caches
serve stale sizes and listings.  A study that holds up on two sshfs mounts
of one export holds up on NFS.

Everything lives under one base folder (keys, config, pid files, logs) and
is stopped by PID; Debian's ``openssh-server`` and ``sshfs`` are installed
with apt-get when missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


class SetupUnavailable(RuntimeError):
    """The machine cannot run the two-mount set-up (not root, no FUSE, no packages)."""


@dataclass(frozen=True)
class TwoMounts:
    export: Path  # the "server's" own disk
    a: Path       # host A's view
    b: Path       # host B's view


def _ensure_packages() -> None:
    if shutil.which("sshfs") and Path("/usr/sbin/sshd").exists() and shutil.which("fusermount3"):
        return
    if os.geteuid() != 0:
        raise SetupUnavailable("sshfs/openssh-server are missing and installing them needs root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "sshfs", "openssh-server"]):
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        if result.returncode != 0:
            raise SetupUnavailable(f"{' '.join(command)} failed: {result.stderr.strip()[-300:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SetupUnavailable(f"timed out waiting for {what}")
        time.sleep(0.05)


def _is_mounted(path: Path) -> bool:
    return any(line.split()[1] == str(path) for line in Path("/proc/mounts").read_text().splitlines())


def _start_sshd(etc: Path, run: Path, log: Path, port: int) -> int:
    for key in ("host", "client"):
        if not (etc / key).exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(etc / key)], check=True)
    shutil.copy(etc / "client.pub", etc / "authorized_keys")
    os.chmod(etc / "authorized_keys", 0o600)
    config = etc / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {etc / 'host'}\nPidFile {run / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {etc / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "StrictModes no\nX11Forwarding no\nAllowTcpForwarding no\nPrintMotd no\nMaxStartups 200:30:400\n"
        "MaxSessions 200\nSubsystem sftp internal-sftp\n")
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation folder, absent without systemd
    subprocess.run(["/usr/sbin/sshd", "-f", str(config), "-E", str(log)], check=True)
    pid_file = run / "sshd.pid"
    _wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), 10, "sshd's pid file")
    return int(pid_file.read_text())


def _mount(etc: Path, port: int, export: Path, mountpoint: Path, options: list[str], log: Path) -> subprocess.Popen:
    mountpoint.mkdir(parents=True, exist_ok=True)
    ssh = ["-o", f"IdentityFile={etc / 'client'}", "-o", "StrictHostKeyChecking=no",
           "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-p", str(port)]
    # -f keeps sshfs in the foreground, so the Popen is sshfs itself and can be stopped by PID.
    process = subprocess.Popen(["sshfs", "-f", *ssh, *options, f"root@127.0.0.1:{export}", str(mountpoint)],
                               stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: _is_mounted(mountpoint) or process.poll() is not None, 20, f"the mount {mountpoint}")
    except SetupUnavailable:
        process.kill()
        raise
    if process.poll() is not None:
        raise SetupUnavailable(f"sshfs exited {process.returncode}: {log.read_text()[-300:]}")
    return process


def _stop(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def two_mounts(base: Path, options: list[str]) -> Iterator[TwoMounts]:
    """Start sshd and mount ``base/export`` at ``base/a`` and ``base/b``; stop it all afterwards."""
    if os.geteuid() != 0 or not Path("/dev/fuse").exists():
        raise SetupUnavailable("needs root and /dev/fuse")
    _ensure_packages()
    etc, run, logs = base / "etc", base / "run", base / "logs"
    for folder in (etc, run, logs, base / "export"):
        folder.mkdir(parents=True, exist_ok=True)
    os.chmod(etc, 0o700)
    port = _free_port()
    sshd = _start_sshd(etc, run, logs / "sshd.log", port)
    mounted: list[tuple[Path, subprocess.Popen]] = []
    try:
        for name in ("a", "b"):
            point = base / name
            mounted.append((point, _mount(etc, port, base / "export", point, options, logs / f"sshfs-{name}.log")))
        yield TwoMounts(export=base / "export", a=base / "a", b=base / "b")
    finally:
        for point, process in mounted:
            subprocess.run(["fusermount3", "-u", str(point)], capture_output=True)
            if _is_mounted(point):
                subprocess.run(["fusermount3", "-uz", str(point)], capture_output=True)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
            if process.poll() is None:
                _stop(process.pid)
        _stop(sshd)
