"""A private single-node SLURM cluster for the tests: munged, slurmctld and slurmd on loopback.

Everything the daemons write (key, configuration, state, spool, logs, pid files) lives under
one folder, the daemons listen on free loopback ports, and they are stopped by the pids they
wrote, so the cluster neither needs nor touches a system-wide SLURM or MUNGE set-up. Debian's
packages are installed when missing, which needs root and apt (as on CI).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

#: Debian's packages: ``--no-install-recommends`` keeps them to a handful (about 20 s to install).
PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
COMMANDS = ("munged", "munge", "unmunge", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo")
#: Generous bounds for daemons starting and jobs draining on a small, busy machine.
START_TIMEOUT = 60
STOP_TIMEOUT = 10
#: Lifetime of a job credential, in seconds: long enough for a busy node to start a job step.
CRED_EXPIRE = 15


def missing_commands() -> list[str]:
    return [name for name in COMMANDS if shutil.which(name) is None]


def install_reason() -> str | None:
    """Install SLURM and MUNGE when missing; the reason they cannot be had here, or None when they are."""
    if not missing_commands():
        return None
    if os.geteuid() != 0:
        return f"SLURM is not installed ({', '.join(missing_commands())} missing) and installing it needs root"
    if shutil.which("apt-get") is None:
        return "SLURM is not installed and there is no apt-get to install Debian's slurm-wlm packages"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            return f"{' '.join(command)} exited {result.returncode}: {result.stderr.strip()[-500:]}"
    if missing_commands():
        return f"{', '.join(missing_commands())} still missing after installing {', '.join(PACKAGES)}"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def live_pid(pid_file: Path, name: str) -> int | None:
    """The pid in ``pid_file`` if that process is alive and still is ``name`` (a pid may be reused)."""
    try:
        pid = int(pid_file.read_text().strip())
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError):
        return None
    return pid if comm == name else None


def wait_for(condition, timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout:.0f} s")
        time.sleep(interval)


class Cluster:
    """One node named after this host, ``cpus`` CPUs advertised (may exceed the real ones), root jobs."""

    DAEMONS = ("slurmd", "slurmctld", "munged")  # in stopping order

    def __init__(self, base: Path, cpus: int = 8):
        self.base = base
        self.cpus = cpus
        self.node = socket.gethostname().split(".")[0]
        self.conf = base / "etc" / "slurm.conf"
        self.munge_socket = base / "munge" / "munge.socket"
        self.jobcomp = base / "jobcomp.log"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    def pid_file(self, daemon: str) -> Path:
        return self.base / "run" / f"{daemon}.pid"

    def run(self, *command: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout)

    def logs(self) -> str:
        """The tail of every daemon's log, for an assertion or error message."""
        return "\n".join(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
                         for log in sorted((self.base / "log").glob("*.log")))

    def start(self) -> None:
        for folder in ("etc", "munge", "key", "log", "run", "state", "spool"):
            (self.base / folder).mkdir(parents=True, exist_ok=True)
        key = self.base / "key" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self.write_conf()
        # --force: munged otherwise refuses a key under a world-writable /tmp.
        self.start_daemon("munged", "--socket", str(self.munge_socket), "--key-file", str(key),
                          "--pid-file", str(self.pid_file("munged")), "--log-file", str(self.base / "log" / "munged.log"),
                          "--seed-file", str(self.base / "key" / "munged.seed"), "--force")
        wait_for(self.munge_socket.exists, START_TIMEOUT, "munged made no socket")
        self.start_daemon("slurmctld", "-f", str(self.conf))
        wait_for(lambda: "is UP" in self.run("scontrol", "ping").stdout, START_TIMEOUT, "slurmctld does not answer")
        self.start_daemon("slurmd", "-f", str(self.conf), "-N", self.node)
        wait_for(lambda: self.run("sinfo", "-h", "-n", self.node, "-o", "%T").stdout.startswith("idle"),
                 START_TIMEOUT, f"node {self.node} is not idle")

    def start_daemon(self, name: str, *args: str) -> None:
        """Start a daemon, which forks into the background and writes its pid file."""
        result = self.run(name, *args)
        if result.returncode != 0:
            raise RuntimeError(f"{name} exited {result.returncode}: {result.stderr.strip()}\n{self.logs()}")
        wait_for(lambda: live_pid(self.pid_file(name), name) is not None, START_TIMEOUT, f"{name} wrote no pid file")

    def write_conf(self) -> None:
        base, log = self.base, self.base / "log"
        self.conf.write_text(f"""\
# A single node on loopback: no cgroups, no accounting daemon, finished jobs in {self.jobcomp.name}.
ClusterName=asktelltest
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire is also how long a requeued job waits before it may start again (120 s by default).
AuthInfo=socket={self.munge_socket},cred_expire={CRED_EXPIRE}
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
StateSaveLocation={base / "state"}
SlurmdSpoolDir={base / "spool"}
SlurmctldPidFile={self.pid_file("slurmctld")}
SlurmdPidFile={self.pid_file("slurmd")}
SlurmctldLogFile={log / "slurmctld.log"}
SlurmdLogFile={log / "slurmd.log"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp}
SwitchType=switch/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=300
InactiveLimit=0
KillWait=5
NodeName={self.node} NodeAddr=127.0.0.1 NodeHostname={self.node} CPUs={self.cpus} State=UNKNOWN
PartitionName=debug Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
""")
        # slurmd and slurmstepd look for plugstack.conf beside slurm.conf.
        (self.conf.parent / "plugstack.conf").write_text("")

    def stop(self) -> None:
        """Cancel what still runs, then stop the daemons by their pids (SIGKILL after STOP_TIMEOUT)."""
        if live_pid(self.pid_file("slurmctld"), "slurmctld") is not None:
            self.run("scancel", "--partition=debug", timeout=STOP_TIMEOUT)
            try:
                wait_for(lambda: not self.run("squeue", "-h", "-o", "%i").stdout.strip(), STOP_TIMEOUT,
                         "jobs still queued")
            except (TimeoutError, subprocess.TimeoutExpired):
                pass  # the daemons go anyway; their jobs' processes die with slurmd's steps
        for name in self.DAEMONS:
            pid = live_pid(self.pid_file(name), name)
            if pid is None:
                continue
            os.kill(pid, signal.SIGTERM)
            try:
                wait_for(lambda: live_pid(self.pid_file(name), name) is None, STOP_TIMEOUT, f"{name} still runs")
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)

    # ------------------------------------------------------------------ jobs

    def submit(self, *args: str, cwd: Path, env: dict[str, str]) -> str:
        """``sbatch --parsable ARGS...``: the job id."""
        result = subprocess.run(["sbatch", "--parsable", *args], cwd=cwd, env={**env, "SLURM_CONF": str(self.conf)},
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"sbatch exited {result.returncode}: {result.stderr.strip()}\n{self.logs()}")
        return result.stdout.strip().split(";")[0]

    def queued(self, job: str) -> list[str]:
        """``TASK STATE`` lines of the job's tasks still in the queue (pending, running, completing)."""
        return self.run("squeue", "-h", "-j", job, "-o", "%i %T").stdout.split("\n")[:-1]

    def wait(self, job: str, timeout: float) -> None:
        try:
            wait_for(lambda: not self.queued(job), timeout, f"job {job} still queued", interval=0.5)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}: {self.queued(job)}\n{self.logs()}") from None

    def finished_states(self, job: str) -> dict[int, str]:
        """The final state of each task of array job ``job``, from the job completion log."""
        states = {}
        for line in self.jobcomp.read_text().splitlines() if self.jobcomp.exists() else []:
            fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
            if fields.get("ArrayJobId") == job:
                states[int(fields["ArrayTaskId"])] = fields["JobState"]
        return states
