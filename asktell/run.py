"""``asktell run``: ask, run a command for the trial, tell -- J trials at a time.

One process, one thread, one loop.  Each trial's command is a child started
in a session of its own (``start_new_session``), so that it and everything
it starts form one process group that can be stopped as a whole; its stdout
comes through a pipe that the loop reads as it arrives -- written to
``logs/stdout.log`` and searched for metric lines -- and its stderr goes
straight to ``logs/stderr.log``.  A ``selectors`` loop waits on those pipes
and on a pidfd per child (readable when the child exits), so a finished trial
is told at once, with no polling delay.

Asks and tells go through the ``Study`` API and its lock, like any other
process's: several runs on several hosts share one study, and the study's
``max_trials`` caps them all -- once ``ask`` says the study is exhausted a
run starts nothing new and finishes what it runs.

Failures are recorded, not fatal: a command that exits non-zero, is killed,
runs past ``--timeout`` or reports no value for an objective makes its trial
*failed* with an exit code, a one-line reason and the log's tail, and the
run goes on.  ``--retries R`` reruns a command that failed (not one that
only lacked a metric: that repeats) up to R times in the same trial.

A metric line with a ``step`` (``{"metric": "loss", "value": 0.4, "step":
3}``) is reported to the study as it arrives; when the study's pruner says
the trial should stop, its command is stopped like a timeout (SIGTERM to the
group, SIGKILL after the grace period) and the trial is told ``pruned`` with
the last value it reported.

SIGINT and SIGTERM stop a run cleanly: no new trial starts, every child's
group gets SIGTERM (SIGKILL after ``KILL_GRACE_SECONDS``, or at once on a
second signal), their trials are told failed ("interrupted"), and the exit
status is 128 + the signal (130 for Ctrl-C).  A SIGKILL of the run leaves
its trials running in the study (``reap`` is for that) but no command
running: ``guard.GroupGuard`` ends them.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import DEVNULL, PIPE, Popen
from typing import Any

from .errors import EXIT_EXHAUSTED, EXIT_FAILURE, EXIT_OK, AsktellError, Exhausted, InvalidInput
from .guard import GroupGuard, kill_groups
from .invocation import Invocation
from .layout import LOGS_NAME
from .metrics import MetricLines, outcome, save_outcome
from .output import describe_values, format_duration
from .progress import Progress
from .results import RESULT_NAME
from .space import format_scalar
from .study import AskedTrial, Study
from .trial import LIVE

#: Between the SIGTERM that stops a command (timeout, interrupt) and the SIGKILL that follows.
KILL_GRACE_SECONDS = 5.0
#: The longest the loop sleeps without looking at deadlines, signals and the status line.
TICK_SECONDS = 0.25
#: How often the running trials' leases are renewed (``heartbeat`` events), so ``reap`` spares them.
HEARTBEAT_SECONDS = 60.0
#: Why a command was stopped when its trial was reaped (or told) by another process meanwhile.
REAPED = "no longer running in the study (reaped?)"
#: How long output still in the pipe of a command that has exited is waited for.
DRAIN_SECONDS = 2.0
#: How much of a failed command's log its trial keeps.
LOG_TAIL_LINES = 20
LOG_TAIL_CHARS = 2000
#: pidfds (Linux 5.3) wake the loop the moment a command exits; elsewhere the loop polls.
HAVE_PIDFD = hasattr(os, "pidfd_open")
#: How many trials a run asks for when neither -n nor the study (a budget, a grid) says when to stop.
DEFAULT_TRIALS = 50


@dataclass
class Attempt:
    """One run of the command for one trial."""

    trial: AskedTrial
    number: int  # 1, then 2, ... with --retries
    process: Popen
    log: Any  # logs/stdout.log, open for writing
    began: float  # monotonic, of the trial's first attempt
    deadline: float | None
    lines: MetricLines = field(default_factory=MetricLines)
    pidfd: int | None = None
    #: Set when asktell stopped the command: "timeout after 10s" or "interrupted".
    stopped: str | None = None
    #: When the SIGKILL that follows a stopping SIGTERM is due.
    kill_at: float | None = None
    #: The command's stdout reached its end (every writer closed it).
    output_ended: bool = False
    #: The pruner's reason, once it said this trial should stop.
    pruned: str | None = None

    @property
    def pgid(self) -> int:
        return self.process.pid  # start_new_session: the child leads its own group


class Runner:
    """Runs ``invocation`` for up to ``trials`` trials of ``study``, ``jobs`` at a time."""

    def __init__(self, study: Study, invocation: Invocation, *, trials: int | None, jobs: int = 1,
                 timeout: float | None = None, retries: int = 0, progress: Progress | None = None) -> None:
        self.study = study
        self.invocation = invocation
        self.trials = trials
        self.jobs = jobs
        self.timeout = timeout
        self.retries = retries
        self.progress = progress or Progress(sys.stderr, study.config.objectives, trials)
        self.attempts: dict[int, Attempt] = {}  # by trial number
        self.selector = selectors.DefaultSelector()
        self.asked = 0
        self.exhausted = False
        self.ask_error: AsktellError | None = None
        self.signals: list[int] = []
        self._heeded = 0
        self.next_heartbeat = time.monotonic() + HEARTBEAT_SECONDS

    # ------------------------------------------------------------------ the loop
    def run(self) -> int:
        """Run to the end (or to a signal); the exit status of ``asktell run``."""
        self.guard = GroupGuard(KILL_GRACE_SECONDS)
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            try:
                while True:
                    self._heed_signals()
                    if not self.signals and not self.exhausted and self.ask_error is None:
                        self._start_new()
                    if not self.attempts:
                        break
                    self._wait()
                    self._enforce_deadlines()
                    self._renew_leases()
                    self.progress.tick(len(self.attempts))
            finally:
                if self.attempts:  # an error is leaving the loop: stop what runs and tell it
                    for attempt in self.attempts.values():
                        self._stop(attempt, "interrupted")
                    while self.attempts:
                        self._wait()
                        self._enforce_deadlines()
        finally:
            self.guard.close()  # after an error above, the guard ends the groups still listed
            self.selector.close()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.progress.close()
        return self._exit_status()

    def _on_signal(self, signum: int, _frame: object) -> None:
        """Only note it: the loop acts on it within ``TICK_SECONDS``, between two of its steps."""
        self.signals.append(signum)

    def _heed_signals(self) -> None:
        if len(self.signals) == self._heeded:
            return
        if not self._heeded:
            self.progress.say(f"asktell run: {signal.Signals(self.signals[0]).name}: stopping "
                              f"{len(self.attempts)} running commands (again to kill them at once)")
            for attempt in self.attempts.values():
                self._stop(attempt, "interrupted")
        else:
            for attempt in self.attempts.values():
                kill_groups([attempt.pgid], signal.SIGKILL)
                attempt.kill_at = None
        self._heeded = len(self.signals)

    def _exit_status(self) -> int:
        if self.signals:
            return 128 + self.signals[0]
        if self.ask_error is not None:
            raise self.ask_error
        if not self.asked:
            self.progress.say(f"asktell run: nothing left to run in {self.study.path} "
                              "(its grid or its budget of trials is used up)")
            return EXIT_EXHAUSTED
        return EXIT_OK if self.progress.complete or self.progress.other else EXIT_FAILURE

    def _start_new(self) -> None:
        """Ask for as many trials as there are free slots (and trials left to run), and start them."""
        wanted = self.jobs - len(self.attempts)
        if self.trials is not None:
            wanted = min(wanted, self.trials - self.asked)
        if wanted <= 0:
            return
        try:
            new = self.study.ask_many(wanted)
        except Exhausted:
            self.exhausted = True
            return
        except AsktellError as exc:
            self.progress.say(f"asktell run: asking for a trial failed, finishing the running ones: {exc}")
            self.ask_error = exc
            return
        self.asked += len(new)
        self.exhausted = len(new) < wanted
        began = time.monotonic()
        for trial in new:
            if self.signals:  # asked while a signal came in: never started
                self._tell_failed(trial, began, {"reason": "interrupted"})
            else:
                self._start(trial, 1, began)

    def _wait(self) -> None:
        """Sleep until output, an exit, a deadline or the next look at signals and the status line."""
        now = time.monotonic()
        due = [t for a in self.attempts.values() for t in (a.deadline, a.kill_at) if t is not None]
        timeout = max(0.0, min([TICK_SECONDS, *(t - now for t in due)]))
        if not HAVE_PIDFD:
            timeout = min(timeout, 0.02)  # without pidfds exits are only seen by polling
        for key, _ in self.selector.select(timeout):
            attempt, what = key.data
            if what == "out" and not self._read_output(attempt):
                self.selector.unregister(attempt.process.stdout)
        for attempt in list(self.attempts.values()):
            if attempt.process.poll() is not None:
                self._finish(attempt)

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for attempt in self.attempts.values():
            if attempt.kill_at is not None and now >= attempt.kill_at:
                kill_groups([attempt.pgid], signal.SIGKILL)
                attempt.kill_at = None
            elif attempt.stopped is None and attempt.deadline is not None and now >= attempt.deadline:
                self._stop(attempt, f"timeout after {format_duration(self.timeout)}")

    def _renew_leases(self) -> None:
        """Now and then, one heartbeat for every running trial; a trial reaped meanwhile has its command stopped."""
        now = time.monotonic()
        if now < self.next_heartbeat or not self.attempts:
            return
        self.next_heartbeat = now + HEARTBEAT_SECONDS
        try:
            gone = self.study.heartbeat(*self.attempts)
        except AsktellError as exc:  # a busy lock: the next heartbeat comes soon enough
            self.progress.say(f"asktell run: renewing leases failed: {exc}")
            return
        for number in gone:
            attempt = self.attempts.get(number)
            if attempt is not None and attempt.stopped is None:
                self._stop(attempt, REAPED)

    def _stop(self, attempt: Attempt, why: str) -> None:
        """SIGTERM to the command's group now, SIGKILL after the grace period."""
        attempt.stopped = why
        attempt.kill_at = time.monotonic() + KILL_GRACE_SECONDS
        kill_groups([attempt.pgid], signal.SIGTERM)

    # ------------------------------------------------------------------ one attempt
    def _start(self, trial: AskedTrial, number: int, began: float) -> None:
        logs = trial.path / LOGS_NAME
        logs.mkdir(exist_ok=True)
        if number > 1:
            _set_aside(trial.path, number - 1)
        study = self.study.path
        argv = self.invocation.argv(trial.params, trial.number, trial.path, study)
        env = self.invocation.env(trial.params, trial.number, trial.path, study)
        log = open(logs / "stdout.log", "wb", buffering=0)  # on disk as it comes, even if asktell is killed
        try:
            with open(logs / "stderr.log", "wb") as errors:
                process = Popen(argv, stdin=DEVNULL, stdout=PIPE, stderr=errors, env=env, start_new_session=True)
        except OSError as exc:
            log.close()
            self._tell_failed(trial, began, {"reason": f"cannot start {argv[0]}: {exc.strerror or exc}"})
            return
        self.guard.add(process.pid)
        deadline = time.monotonic() + self.timeout if self.timeout is not None else None
        attempt = Attempt(trial, number, process, log, began, deadline)
        os.set_blocking(process.stdout.fileno(), False)
        self.selector.register(process.stdout, selectors.EVENT_READ, (attempt, "out"))
        if HAVE_PIDFD:
            attempt.pidfd = os.pidfd_open(process.pid)
            self.selector.register(attempt.pidfd, selectors.EVENT_READ, (attempt, "exit"))
        self.attempts[trial.number] = attempt

    def _read_output(self, attempt: Attempt) -> bool:
        """Copy what the pipe holds to the log and the metric parser; False at its end."""
        try:
            data = os.read(attempt.process.stdout.fileno(), 65536)
        except BlockingIOError:
            return True
        attempt.log.write(data)
        attempt.lines.feed(data)
        self._report(attempt)
        attempt.output_ended = not data
        return not attempt.output_ended

    def _report(self, attempt: Attempt) -> None:
        """Stepped metric lines go to the study as they arrive; when the pruner says stop, the command is stopped."""
        for step, name, value in attempt.lines.take_reports():
            if attempt.stopped is not None:
                return
            number = attempt.trial.number
            try:
                _, history = self.study.report(number, step, {name: value})
                reason = self.study.should_prune(number, history)
            except AsktellError as exc:  # a bad value, a busy lock, a trial reaped meanwhile: the run goes on
                self.progress.say(f"trial {number}: step {step} not reported: {exc}")
                continue
            if reason is not None:
                attempt.pruned = reason
                self._stop(attempt, f"pruned: {reason}")

    def _finish(self, attempt: Attempt) -> None:
        """The command exited: end its group, take the rest of its output, then retry or tell."""
        del self.attempts[attempt.trial.number]
        kill_groups([attempt.pgid], signal.SIGKILL)  # what it left running in the background ends with it
        if attempt.pidfd is not None:
            self.selector.unregister(attempt.pidfd)
            os.close(attempt.pidfd)
        self._drain(attempt)
        self.guard.remove(attempt.pgid)
        attempt.lines.close()
        attempt.log.close()
        code = attempt.process.returncode
        if attempt.pruned is not None:  # told with the last value it reported (Study.tell)
            self._tell(attempt.trial, attempt.began, "pruned", None, None, {"reason": attempt.pruned})
            return
        if attempt.stopped == REAPED:  # its outcome is already in the study; a tell would be refused
            self.progress.say(f"trial {attempt.trial.number}: stopped, {REAPED}")
            return
        if attempt.stopped is not None:
            failure = {"reason": attempt.stopped}
        elif code < 0:
            failure = {"reason": f"killed by {signal.Signals(-code).name}"}
        elif code != 0:
            failure = {"exit_code": code, "reason": f"exit {code}"}
        else:
            self._tell_outcome(attempt)
            return
        if attempt.number <= self.retries and attempt.stopped != "interrupted" and not self.signals:
            self.progress.say(f"trial {attempt.trial.number}: {failure['reason']}; "
                              f"retry {attempt.number} of {self.retries}")
            self._start(attempt.trial, attempt.number + 1, attempt.began)
            return
        self._tell_failed(attempt.trial, attempt.began, failure)

    def _drain(self, attempt: Attempt) -> None:
        """Read the pipe to its end; a writer that escaped the group may hold it open, so not forever."""
        stdout = attempt.process.stdout
        if not attempt.output_ended:
            self.selector.unregister(stdout)
            deadline = time.monotonic() + DRAIN_SECONDS
            with selectors.DefaultSelector() as alone:
                alone.register(stdout, selectors.EVENT_READ)
                while (time.monotonic() < deadline and alone.select(deadline - time.monotonic())
                       and self._read_output(attempt)):
                    pass
        stdout.close()

    # ------------------------------------------------------------------ telling
    def _tell_outcome(self, attempt: Attempt) -> None:
        trial = attempt.trial
        objectives = self.study.config.objectives
        try:
            result = outcome(attempt.lines.metrics, trial.path, objectives)
        except InvalidInput as exc:
            self._tell_failed(trial, attempt.began, {"exit_code": 0, "reason": str(exc)})
            return
        if not (trial.path / RESULT_NAME).exists() and (result.values or result.attrs):
            save_outcome(trial.path, result)
        failure = {"reason": f"{RESULT_NAME} says {result.state}"} if result.state == "failed" else None
        self._tell(trial, attempt.began, result.state, result.values, result.constraints, failure,
                   shown=result.values or result.attrs.get("metrics"))

    def _tell_failed(self, trial: AskedTrial, began: float, failure: dict) -> None:
        tail = log_tail(trial.path / LOGS_NAME)
        if tail:
            failure = {**failure, "log_tail": tail}
        self._tell(trial, began, "failed", None, None, failure)

    def _tell(self, trial: AskedTrial, began: float, state: str, values: dict | None,
              constraints: dict | None, failure: dict | None, shown: dict | None = None) -> None:
        """Tell the study; ``shown`` is what the trial's line shows (a sweep's metrics, having no values)."""
        seconds = time.monotonic() - began
        try:
            self.study.tell(trial.number, values, state=state, constraints=constraints, failure=failure,
                            source=trial.path)
        except AsktellError as exc:
            self.progress.say(f"asktell run: telling trial {trial.number} failed (it stays running): {exc}")
            return
        note = f": {failure['reason']}" if failure else ""
        self.progress.trial_finished(trial.number, state, values, seconds, note, shown)


def _set_aside(folder: Path, attempt: int) -> None:
    """Keep an earlier attempt's logs and result file as ``logs/*.attempt-N.*``."""
    logs = folder / LOGS_NAME
    for path, kept in ((logs / "stdout.log", logs / f"stdout.attempt-{attempt}.log"),
                       (logs / "stderr.log", logs / f"stderr.attempt-{attempt}.log"),
                       (folder / RESULT_NAME, logs / f"result.attempt-{attempt}.yaml")):
        if path.exists():
            os.replace(path, kept)


def log_tail(logs: Path) -> str | None:
    """The last lines of stderr.log (of stdout.log if stderr is empty), for the trial's record."""
    for name in ("stderr.log", "stdout.log"):
        try:
            with open(logs / name, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 4 * LOG_TAIL_CHARS))
                text = f.read().decode(errors="replace").strip()
        except FileNotFoundError:
            continue
        if text:
            return "\n".join(text.splitlines()[-LOG_TAIL_LINES:])[-LOG_TAIL_CHARS:]
    return None


def expected_trials(study: Study, trials: int | None) -> int | None:
    """How many trials the run will take: ``-n``, else what is left of the grid or the budget."""
    if trials is not None:
        return trials
    config = study.config
    left = []
    taken = study.history(LIVE).next_number
    if config.max_trials is not None:
        left.append(config.max_trials - taken)
    if config.sampler == "grid":
        left.append(len(config.space.grid_cells()) - taken)
    return max(0, min(left)) if left else None


def check_executable(argv0: str) -> None:
    """A command that cannot start would fail every trial; say so before asking for any."""
    if shutil.which(argv0) is None and "{" not in argv0:
        raise InvalidInput("no such command (not a file, and not found on PATH)", field="COMMAND", value=argv0)


def run_command(study: Study, command: list[str], *, trials: int | None, jobs: int, timeout: float | None,
                retries: int, make: bool) -> int:
    """``asktell run`` once its study is known: check the settings, run, return the exit status."""
    for flag, value, least in (("--trials", trials, 1), ("--jobs", jobs, 1), ("--retries", retries, 0)):
        if value is not None and value < least:
            raise InvalidInput(f"must be at least {least}", field=flag, value=value)
    if timeout is not None and timeout <= 0:
        raise InvalidInput("must be a positive duration", field="--timeout", value=timeout)
    invocation = Invocation(command, study.config.space, make)
    check_executable(command[0])
    total = expected_trials(study, trials)
    if total is None:
        trials = total = DEFAULT_TRIALS
    progress = Progress(sys.stderr, study.config.objectives, total)
    goals = ", ".join(f"{o.direction} {o.name}" for o in study.config.objectives) or "no objective"
    progress.say(f"asktell run: study {study.path} ({goals}, {study.config.sampler} sampler): "
                 f"{total} trials, {jobs} at a time")
    code = Runner(study, invocation, trials=trials, jobs=jobs, timeout=timeout, retries=retries,
                  progress=progress).run()
    summary = f"asktell run: {progress.finished} trials: {progress.complete} complete, {progress.failed} failed"
    best = study.best_trials()
    if len(best) == 1:
        params = ", ".join(f"{k}={format_scalar(v)}" for k, v in best[0].params.items())
        summary += f"; best in the study: trial {best[0].number}, {describe_values(best[0].values)} ({params})"
    elif best:
        summary += f"; the study's Pareto front has {len(best)} trials"
    progress.say(summary)
    print(study.path)
    return code
