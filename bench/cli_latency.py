#!/usr/bin/env python3
"""How long one pipeline step waits for ``asktell ask`` and ``asktell tell``, as studies grow.

Every pipeline step is its own process, so the figure users feel is the wall
time of a whole ``asktell`` process, start-up included.  One run measures:

* ask and tell wall times (real subprocesses, median and p90) on studies
  holding 0, 1,000, 10,000 and 20,000 finished trials;
* the same for Optuna's ``optuna ask`` / ``optuna tell`` on a
  ``JournalFileBackend`` storage with an equivalent space and the same history,
  with the ratio optuna / asktell per size (skipped without optuna);
* 16 concurrent ``ask`` processes on the 1,000-trial study;
* how long the study lock is held per ask and per tell (in-process);
* how many files one ask and one tell open (strace), which must not grow
  with the study;
* where one ask spends its time on the largest study (-X importtime, cProfile).

It prints a Markdown table to stdout (progress goes to stderr), writes every
figure to bench/results/cli_latency.json, and reports PASS/MISS against the
targets; it never fails on a missed target.  Run it with the interpreter
asktell is installed in: ``.venv/bin/python bench/cli_latency.py`` (see
bench/README.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import pstats
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUTPUT = BENCH_DIR / "results" / "cli_latency.json"

DEFAULT_SIZES = (0, 1_000, 10_000, 20_000)
QUICK_SIZES = (0, 1_000)
DEFAULT_REPS, QUICK_REPS = 20, 5
#: In-process asks per size for the lock-hold figure (cheap, so more of them).
LOCK_REPS, QUICK_LOCK_REPS = 50, 10
#: The concurrency figure: this many asks started at once on the study of this size.
BURST_PROCESSES, BURST_SIZE = 16, 1_000
BURST_REPS, QUICK_BURST_REPS = 5, 2
#: Timed asks that rewrite the snapshot, per size (each needs ~250 in-process ask/tell pairs first).
REFRESH_REPS, QUICK_REFRESH_REPS = 3, 1

SEED = 20_240_601
OBJECTIVE = "loss"
STUDY_NAME = "bench"
#: Spacing of the synthetic trials' timestamps (ask every minute, each runs 45 s).
TRIAL_SPACING_S, TRIAL_DURATION_S = 60.0, 45.0

#: The search space, once, in both tools' spellings: asktell shorthand, Optuna distribution JSON.
SPACE: tuple[tuple[str, str, dict], ...] = (
    ("lr", "1e-5..1e-1:log",
     {"name": "FloatDistribution", "attributes": {"low": 1e-5, "high": 0.1, "log": True, "step": None}}),
    ("n_layers", "1..8",
     {"name": "IntDistribution", "attributes": {"low": 1, "high": 8, "log": False, "step": 1}}),
    ("units", "16..256:log",
     {"name": "IntDistribution", "attributes": {"low": 16, "high": 256, "log": True, "step": 1}}),
    ("dropout", "0..0.5",
     {"name": "FloatDistribution", "attributes": {"low": 0.0, "high": 0.5, "log": False, "step": None}}),
    ("opt", "adam,sgd,rmsprop",
     {"name": "CategoricalDistribution", "attributes": {"choices": ["adam", "sgd", "rmsprop"]}}),
)

#: Targets reported as PASS/MISS (never asserted).
TARGET_EMPTY_ASK_S = 0.15
#: asktell's sampler -> Optuna's counterpart, for ``--sampler``.
OPTUNA_SAMPLERS = {"random": "RandomSampler", "tpe": "TPESampler", "gp": "GPSampler", "cmaes": "CmaEsSampler",
                   "qmc": "QMCSampler", "nsga2": "NSGAIISampler"}
#: Speed-up over ``optuna ask`` wanted per sampler and study size.
TARGET_SPEEDUP = {"random": {1_000: 5.0, 20_000: 10.0}, "tpe": {1_000: 3.0}}
TARGET_LOCK_HOLD_S = 0.005
#: "Growing far slower than the study": from the smallest to the largest study
#: (0 -> 20,000 trials by default) the median ask may grow at most this much.
TARGET_GROWTH = 1.5

_T0 = time.monotonic()

#: The measured commands' environment.  Without PYTHONDONTWRITEBYTECODE: an
#: installed CLI runs from cached bytecode, and a setting that forbids writing
#: the cache would make every call recompile asktell's modules (~20 ms).
COMMAND_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def log(message: str) -> None:
    """Progress on stderr, so that stdout stays a clean Markdown report."""
    print(f"[{time.monotonic() - _T0:7.1f} s] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A command the benchmark depends on failed: the figures would be meaningless."""


# ---------------------------------------------------------------------- timing


@dataclass
class Finished:
    """A command's exit status and output (the timing is returned beside it)."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


def run_timed(argvs: Sequence[Sequence[object]], env: Mapping[str, str] | None = None,
              check: bool = True) -> tuple[float, list[Finished]]:
    """Start every command at once; return the wall time until the last one exited, and their output.

    The single timing helper: a lone call and a burst of concurrent calls, of
    asktell and of optuna, all go through the same process creation and pipes,
    so the figures differ only by what the tools do.
    """
    environ = {**COMMAND_ENV, **(env or {})}
    commands = [[str(part) for part in argv] for argv in argvs]
    start = time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ)
             for c in commands]
    outputs = [p.communicate() for p in procs]
    wall = time.perf_counter() - start
    finished = [Finished(c, p.returncode, out, err) for c, p, (out, err) in zip(commands, procs, outputs, strict=True)]
    for f in finished:
        if check and f.returncode != 0:
            tail = " | ".join(f.stderr.strip().splitlines()[-3:])
            raise BenchError(f"{' '.join(f.argv[:3])} ... exited {f.returncode}: {tail}")
    return wall, finished


def run(argv: Sequence[object], env: Mapping[str, str] | None = None, check: bool = True) -> Finished:
    """One command whose duration does not matter (setup, checks, profiling)."""
    return run_timed([argv], env, check)[1][0]


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100); no numpy, to keep the bench light."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict:
    """Median and p90 are what the report uses; the samples are kept for anyone who wants more."""
    return {"n": len(values), "median": statistics.median(values), "p90": percentile(values, 90),
            "min": min(values), "max": max(values), "samples": list(values)}


# ---------------------------------------------------------------------- the shared history


def synthetic_history(size: int) -> Iterator[tuple[int, dict, float]]:
    """(number, params, value) of ``size`` finished trials, identical for both tools.

    The parameters are exactly what asktell's random sampler hands out for
    trial ``number`` of a study seeded with SEED, so the generated studies look
    like ones that were really run.
    """
    from asktell.samplers import derive_seed, make_sampler
    from asktell.space import Space

    space = Space.from_shorthands([f"{name}={spec}" for name, spec, _ in SPACE])
    sampler = make_sampler("random", {}, SEED)
    values = random.Random(SEED)
    for number in range(size):
        yield number, sampler.suggest(space, [], [], derive_seed(SEED, number)), values.random()


def iso(t: float) -> str:
    """A timestamp spelled the way every asktell file spells it (UTC, milliseconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


@dataclass
class StudyRef:
    """A built study: ``path`` is the study folder (asktell) or the journal file (optuna)."""

    tool: str
    size: int
    path: Path
    build_s: float = 0.0


# ---------------------------------------------------------------------- the two tools


class CliTool:
    """What the measurements need from an ask-and-tell CLI; all timing code is shared."""

    name = ""

    def __init__(self, executable: str, sampler: str = "random") -> None:
        self.executable = executable
        self.sampler = sampler  # asktell's name; Optuna uses its counterpart

    def build(self, root: Path, size: int) -> StudyRef:
        """A study holding ``size`` finished trials of ``synthetic_history``."""
        raise NotImplementedError

    def ask_argv(self, study: StudyRef) -> list[object]:
        raise NotImplementedError

    def trial_of(self, ask_stdout: str) -> str:
        """The trial as the ask printed it, in the form ``tell_argv`` takes."""
        raise NotImplementedError

    def tell_argv(self, study: StudyRef, trial: str, value: float) -> list[object]:
        raise NotImplementedError

    def tell_in_process(self, study: StudyRef, trials: Sequence[str], values: random.Random) -> None:
        """Finish untimed trials quickly (after a burst), so every size keeps only finished trials."""
        raise NotImplementedError

    def version(self) -> str:
        raise NotImplementedError


class Asktell(CliTool):
    name = "asktell"

    def build(self, root: Path, size: int) -> StudyRef:
        """``asktell create``, then the trials written straight into the journal and mirrors.

        Running the CLI 40,000 times would take an hour; writing the lines it
        would have written takes seconds.  The lines go through asktell's own
        encoder and ``asktell check`` is run on one generated study to prove
        the format is the real one.
        """
        start = time.perf_counter()
        path = root / f"asktell-{size}"
        params = [arg for name, spec, _ in SPACE for arg in ("-p", f"{name}={spec}")]
        run([self.executable, "create", path, *params, "--minimize", OBJECTIVE, "--seed", SEED,
             "--name", STUDY_NAME, "--sampler", self.sampler])
        write_finished_trials(path, size)
        return StudyRef(self.name, size, path, time.perf_counter() - start)

    def ask_argv(self, study: StudyRef) -> list[object]:
        return [self.executable, "ask", study.path]

    def trial_of(self, ask_stdout: str) -> str:
        return ask_stdout.strip()

    def tell_argv(self, study: StudyRef, trial: str, value: float) -> list[object]:
        return [self.executable, "tell", study.path, trial, "--value", repr(value)]

    def tell_in_process(self, study: StudyRef, trials: Sequence[str], values: random.Random) -> None:
        from asktell.study import Study

        opened = Study.open(study.path)
        for trial in trials:
            opened.tell(int(Path(trial).name), values.random())

    def version(self) -> str:
        import asktell

        return asktell.__version__


class Optuna(CliTool):
    name = "optuna"
    storage_class = "JournalFileBackend"

    def _storage(self, study: StudyRef):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        return JournalStorage(JournalFileBackend(str(study.path)))

    def build(self, root: Path, size: int) -> StudyRef:
        """The same history through Optuna's own API (``add_trials``), in batches, with progress."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        start = time.perf_counter()
        ref = StudyRef(self.name, size, root / f"optuna-{size}.log")
        study = optuna.create_study(storage=self._storage(ref), study_name=STUDY_NAME, direction="minimize")
        distributions = {name: optuna.distributions.json_to_distribution(json.dumps(dist))
                         for name, _, dist in SPACE}
        batch = []
        for number, params, value in synthetic_history(size):
            batch.append(optuna.trial.create_trial(params=params, distributions=distributions, value=value))
            if len(batch) == 1_000 or number == size - 1:
                study.add_trials(batch)
                batch = []
                if (number + 1) % 5_000 == 0 or number == size - 1:
                    log(f"  optuna history: {number + 1:,} / {size:,} trials")
        ref.build_s = time.perf_counter() - start
        return ref

    def _common(self, study: StudyRef) -> list[object]:
        return ["--storage", study.path, "--storage-class", self.storage_class, "--study-name", STUDY_NAME]

    def ask_argv(self, study: StudyRef) -> list[object]:
        space = json.dumps({name: dist for name, _, dist in SPACE})
        return [self.executable, "ask", *self._common(study), "--sampler", OPTUNA_SAMPLERS[self.sampler],
                "--search-space", space]

    def trial_of(self, ask_stdout: str) -> str:
        return str(json.loads(ask_stdout)["number"])

    def tell_argv(self, study: StudyRef, trial: str, value: float) -> list[object]:
        return [self.executable, "tell", *self._common(study), "--trial-number", trial, "--values", repr(value)]

    def tell_in_process(self, study: StudyRef, trials: Sequence[str], values: random.Random) -> None:
        import optuna

        opened = optuna.load_study(study_name=STUDY_NAME, storage=self._storage(study))
        for trial in trials:
            opened.tell(int(trial), values.random())

    def version(self) -> str:
        import optuna

        return optuna.__version__


def write_finished_trials(path: Path, size: int) -> None:
    """Append ``size`` asked+told event pairs to the journal and write each trial's mirrors.

    The events are the ones ``Study.ask`` and ``Study.tell`` append (same
    keys, asktell's ``encode``), with seq numbers following the ``created``
    event; ``params.yaml`` and ``trial.yaml`` come from asktell's own document
    builders.  Plain writes without fsync: this is a fixture, not a live study.
    """
    if not size:
        return
    from asktell.journal import encode
    from asktell.layout import StudyLayout
    from asktell.trial import COMPLETE, TrialRecord

    layout = StudyLayout(path)
    host, pid = socket.gethostname(), os.getpid()
    first = time.time() - size * TRIAL_SPACING_S - 3600
    lines, records = [], []
    for number, params, value in synthetic_history(size):
        asked = first + number * TRIAL_SPACING_S
        record = TrialRecord(number=number, params=params, asked_at=iso(asked), host=host, pid=pid,
                             state=COMPLETE, values={OBJECTIVE: value}, told_at=iso(asked + TRIAL_DURATION_S),
                             told_by=host)
        lines.append(encode({"seq": 2 * number + 1, "event": "asked", "at": record.asked_at, "trial": number,
                             "params": params, "host": host, "pid": pid}))
        lines.append(encode({"seq": 2 * number + 2, "event": "told", "at": record.told_at, "trial": number,
                             "state": COMPLETE, "host": host, "pid": pid, "values": record.values}))
        records.append(record)
    write_mirrors(layout, records)
    with open(layout.journal, "ab") as journal:
        journal.write(b"".join(lines))
        journal.flush()
        os.fsync(journal.fileno())


def write_mirrors(layout, records: Sequence) -> None:
    """Each trial's ``params.yaml`` and, once it is finished, ``trial.yaml``, from asktell's own document builders.

    Plain writes, without the temporary file and fsync per file of a live
    study: this is a fixture, and those would cost seconds per 1,000 trials.
    """
    from asktell.fileio import dump_yaml
    from asktell.layout import PARAMS_NAME, TRIAL_NAME, params_document, trial_document

    for record in records:
        folder = layout.trial_dir(record.number)
        folder.mkdir()
        (folder / PARAMS_NAME).write_text(dump_yaml(params_document(STUDY_NAME, record)))
        if record.finished:
            (folder / TRIAL_NAME).write_text(dump_yaml(trial_document(STUDY_NAME, record)))


# ---------------------------------------------------------------------- measurements (both tools)


def measure_ask_tell(studies: Mapping[CliTool, StudyRef], reps: int, values: random.Random) -> dict:
    """Wall time of whole ``ask`` and ``tell`` processes, each ask told at once (as a pipeline does).

    The tools take turns, one ask/tell pair each per round, so that load from
    elsewhere on the machine falls on both alike and the ratios stay fair.
    The first pair after the bulk build is kept apart: it warms the page cache
    and, for asktell, replays the whole journal once to write the snapshot
    every later call starts from.
    """
    figures: dict[str, dict] = {}
    samples: dict[str, tuple[list[float], list[float]]] = {}
    for tool, study in studies.items():
        first_ask, (out,) = run_timed([tool.ask_argv(study)])
        first_tell, _ = run_timed([tool.tell_argv(study, tool.trial_of(out.stdout), values.random())])
        figures[tool.name] = {"first_ask_s": first_ask, "first_tell_s": first_tell}
        samples[tool.name] = ([], [])
    for _ in range(reps):
        for tool, study in studies.items():
            asks, tells = samples[tool.name]
            wall, (out,) = run_timed([tool.ask_argv(study)])
            asks.append(wall)
            wall, _ = run_timed([tool.tell_argv(study, tool.trial_of(out.stdout), values.random())])
            tells.append(wall)
    for name, (asks, tells) in samples.items():
        figures[name].update(ask=summary(asks), tell=summary(tells))
    return figures


def warm_up(tool: CliTool, root: Path, values: random.Random) -> None:
    """One untimed ask and tell on a throwaway study: writes bytecode caches and fills the page cache,
    so that the first timed call of the first size is not the one that pays for them."""
    study = tool.build(root, 0)
    asked = run(tool.ask_argv(study))
    run(tool.tell_argv(study, tool.trial_of(asked.stdout), values.random()))
    remove(study.path)


def measure_burst(studies: Mapping[CliTool, StudyRef], processes: int, reps: int,
                  values: random.Random) -> dict:
    """Wall time until all of ``processes`` asks started at once have finished; every trial must differ.

    Tools take turns burst by burst, as in ``measure_ask_tell``.
    """
    walls: dict[str, list[float]] = {tool.name: [] for tool in studies}
    distinct = dict.fromkeys(walls, True)
    for _ in range(reps):
        for tool, study in studies.items():
            wall, outs = run_timed([tool.ask_argv(study)] * processes)
            trials = [tool.trial_of(o.stdout) for o in outs]
            distinct[tool.name] = distinct[tool.name] and len(set(trials)) == processes
            walls[tool.name].append(wall)
            tool.tell_in_process(study, trials, values)
    return {name: {"processes": processes, "size": BURST_SIZE, "wall": summary(times),
                   "distinct_trials": distinct[name]} for name, times in walls.items()}


# ---------------------------------------------------------------------- asktell internals


def measure_lock_hold(study: StudyRef, reps: int, values: random.Random) -> dict:
    """Seconds the study lock is held per ask and per tell, read from ``Study.last_lock.last_hold``.

    The lock serialises every ask and tell of every host, so its hold time,
    not the process time, bounds a study's throughput.  The in-process ask
    time comes along: the CLI time minus it is what start-up costs.
    """
    from asktell.study import Study

    opened = Study.open(study.path)
    opened.tell(opened.ask(), values.random())  # first call imports the sampler; not counted
    ask_holds, tell_holds, ask_calls = [], [], []
    for _ in range(reps):
        start = time.perf_counter()
        trial = opened.ask()
        ask_calls.append(time.perf_counter() - start)
        ask_holds.append(opened.last_lock.last_hold)
        opened.tell(trial, values.random())
        tell_holds.append(opened.last_lock.last_hold)
    return {"lock_hold_ask": summary(ask_holds), "lock_hold_tell": summary(tell_holds),
            "in_process_ask": summary(ask_calls)}


_OPEN_LINE = re.compile(r'\bopen(?:at)?\((?:AT_FDCWD|-?\d+), "((?:[^"\\]|\\.)*)".*\)\s*=\s*(-?\d+)')


def count_opens(argv: Sequence[object], study_dir: Path, scratch: Path) -> tuple[dict, Finished]:
    """Files one process opens (``strace -f -e trace=open,openat``), in total and inside the study.

    The study's share is what must stay flat as the study grows; the
    interpreter's own opens (modules, .pth files) are constant anyway.
    Trial numbers and random suffixes (temporary files, released locks) are
    masked so that lists from different sizes compare equal when the same
    files are opened.  Returns the traced process's output too.
    """
    trace = scratch / "strace.out"
    traced = run(["strace", "-f", "-qq", "-e", "trace=open,openat", "-o", trace, *argv])
    total = failed = 0
    study_files: list[str] = []
    prefix = str(study_dir) + os.sep
    for line in trace.read_text().splitlines():
        match = _OPEN_LINE.search(line)
        if not match:
            continue
        total += 1
        failed += int(match.group(2)) < 0
        if match.group(1).startswith(prefix):
            relative = re.sub(r"-[0-9a-f]{8,}", "-XXXX", match.group(1)[len(prefix):])
            study_files.append(re.sub(r"(?<=trials/)\d+", "NNNNNN", relative))
    trace.unlink()
    figures = {"total": total, "failed": failed, "in_study": len(study_files), "study_files": sorted(study_files)}
    return figures, traced


def measure_refresh(tool: Asktell, study: StudyRef, reps: int, values: random.Random) -> dict | None:
    """Wall time of the ``asktell ask`` that rewrites the snapshot: the one call whose cost grows with the study.

    A call compacts the study once the journal has grown
    ``REFRESH_EVENTS`` events past it, so in a live study about one ask or
    tell in every 500 pays it; medians never show it.  The journal is brought
    (in-process) to one event short of that point, then one CLI ask is timed.
    """
    from asktell.compaction import REFRESH_EVENTS
    from asktell.study import Study
    from asktell.trial import LIVE

    opened = Study.open(study.path)
    walls = []
    for _ in range(reps):
        history = opened.history(LIVE)
        while history.last_seq - history.snapshot_seq < REFRESH_EVENTS - 2:
            opened.tell(opened.ask(), values.random())
            history = opened.history(LIVE)
        pending = [opened.ask()] if history.last_seq - history.snapshot_seq == REFRESH_EVENTS - 2 else []
        before = opened.history(LIVE).snapshot_seq
        wall, (out,) = run_timed([tool.ask_argv(study)])
        if opened.history(LIVE).snapshot_seq == before:
            log("asktell: the timed ask did not refresh the snapshot; refresh figure left out")
            return None
        walls.append(wall)
        tool.tell_in_process(study, [tool.trial_of(out.stdout)] + [str(t.number) for t in pending], values)
    return summary(walls)


def measure_opens(tool: Asktell, study: StudyRef, scratch: Path, values: random.Random) -> dict:
    """Opens of one ask and of the tell of that very trial."""
    ask, asked = count_opens(tool.ask_argv(study), study.path, scratch)
    tell, _ = count_opens(tool.tell_argv(study, tool.trial_of(asked.stdout), values.random()), study.path, scratch)
    return {"ask": ask, "tell": tell}


def check_study(tool: Asktell, study: StudyRef) -> dict:
    """``asktell check`` on a generated study: proof that the bulk-written format is the real one."""
    result = run([tool.executable, "check", study.path], check=False)
    last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
    counts = re.search(r"(\d+) errors, (\d+) warnings", last)
    return {"size": study.size, "exit_code": result.returncode,
            "errors": int(counts.group(1)) if counts else None,
            "warnings": int(counts.group(2)) if counts else None,
            "findings": result.stdout.strip().splitlines()[:20]}


#: What a plain ``asktell ask`` imports before it does anything (typer is not among it).
HOT_IMPORTS = "import asktell.quick, asktell.study"


def measure_floors(reps: int, burst_reps: int) -> dict:
    """What any Python CLI pays before doing anything: the interpreter, then asktell's imports.

    The burst line is the floor of the concurrency figure: 16 processes that
    only import, competing for the same CPUs, without any lock.
    """
    interpreter = [sys.executable, "-c", "pass"]
    imports = [sys.executable, "-c", HOT_IMPORTS]
    return {
        "python -c pass": summary([run_timed([interpreter])[0] for _ in range(reps)]),
        f"python -c '{HOT_IMPORTS}'": summary([run_timed([imports])[0] for _ in range(reps)]),
        f"{BURST_PROCESSES} concurrent python -c '{HOT_IMPORTS}'":
            summary([run_timed([imports] * BURST_PROCESSES)[0] for _ in range(burst_reps)]),
    }


def profile_ask(tool: Asktell, study: StudyRef, scratch: Path, values: random.Random, top: int = 12) -> dict:
    """Where one ``asktell ask`` spends its time: imports by package, then functions (cProfile).

    Run on the largest study so that anything that grows with the study shows
    up here.  The profiled processes are slower than unprofiled ones; the
    shares are what matter.
    """
    imports = run(tool.ask_argv(study), env={"PYTHONPROFILEIMPORTTIME": "1"})
    asked = [tool.trial_of(imports.stdout)]
    by_package: dict[str, int] = {}
    for line in imports.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[0].split(":")[1].strip().isdigit():
            continue
        root = parts[2].strip().split(".")[0]
        by_package[root] = by_package.get(root, 0) + int(parts[0].split(":")[1])
    total_us = sum(by_package.values())

    profile_file = scratch / "ask.prof"
    profiled = run([sys.executable, "-m", "cProfile", "-o", profile_file, "-m", "asktell", "ask", study.path])
    asked.append(tool.trial_of(profiled.stdout))
    stats = pstats.Stats(str(profile_file))
    profile_file.unlink()
    rows = [(_where(key), tt, ct, nc) for key, (_, nc, tt, ct, _) in stats.stats.items()]
    tool.tell_in_process(study, asked, values)
    return {
        "size": study.size,
        "import_total_s": total_us / 1e6,
        "imports_by_package_s": {name: us / 1e6 for name, us in
                                 sorted(by_package.items(), key=lambda kv: -kv[1])[:top]},
        "profile_total_s": stats.total_tt,
        "top_self": [{"function": w, "self_s": tt, "cumulative_s": ct, "calls": nc}
                     for w, tt, ct, nc in sorted(rows, key=lambda r: -r[1])[:top]],
        "asktell_cumulative": [{"function": w, "self_s": tt, "cumulative_s": ct, "calls": nc}
                               for w, tt, ct, nc in sorted(rows, key=lambda r: -r[2])
                               if w.startswith("asktell/")][:top],
    }


def _where(key: tuple[str, int, str]) -> str:
    """``asktell/study.py:237(ask_many)`` rather than a long absolute path."""
    file, line, function = key
    if file == "~":
        return function
    parts = Path(file).parts
    for anchor in ("site-packages", "lib"):
        if anchor in parts:
            parts = parts[len(parts) - parts[::-1].index(anchor):]
            break
    if "asktell" in parts:
        parts = parts[parts.index("asktell"):]
    return f"{'/'.join(parts[-3:])}:{line}({function})"


# ---------------------------------------------------------------------- orchestration


@dataclass
class Settings:
    sizes: tuple[int, ...]
    reps: int
    lock_reps: int
    burst_reps: int
    refresh_reps: int
    optuna: bool
    sampler: str
    workdir: Path | None
    keep: bool
    output: Path


@dataclass
class Results:
    data: dict = field(default_factory=dict)

    def size(self, size: int) -> dict:
        return self.data.setdefault("sizes", {}).setdefault(str(size), {})


def find_executable(name: str) -> str | None:
    """The console script beside this interpreter (the venv's), else on PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def optuna_tool(wanted: bool, sampler: str) -> tuple[Optuna | None, str]:
    if not wanted:
        return None, "skipped (--no-optuna)"
    try:
        import optuna  # noqa: F401
    except ImportError:
        return None, "not installed (pip install 'optuna>=4' to compare)"
    executable = find_executable("optuna")
    if executable is None:
        return None, "importable, but no optuna command found"
    return Optuna(executable, sampler), "measured"


def filesystem_of(path: Path) -> str:
    """The mount type under the studies: fsync and rename costs, hence lock hold times, depend on it."""
    best, kind = "", "unknown"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            _, mount, fstype, *_ = line.split()
            if str(path).startswith(mount) and len(mount) > len(best):
                best, kind = mount, fstype
    except OSError:
        pass
    return kind


def busy() -> dict:
    """Load average and CPU pressure (PSI, % of the last minute some task waited for a CPU).

    Other work on the machine inflates every figure here; recorded at the start
    and the end so that a noisy run can be recognised, not silently compared.
    """
    figures: dict = {"loadavg_1m": os.getloadavg()[0]}
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        figures["cpu_pressure_avg60"] = float(re.search(r"avg60=([\d.]+)", some).group(1))
    except (OSError, AttributeError, IndexError):
        pass
    return figures


def source_revision() -> dict:
    """The commit measured, and whether asktell/ differs from it: figures are compared across commits."""
    repo = BENCH_DIR.parent
    try:
        commit = run(["git", "-C", repo, "rev-parse", "--short", "HEAD"], check=False)
        changes = run(["git", "-C", repo, "status", "--porcelain", "--", "asktell"], check=False)
    except OSError:
        return {}
    if commit.returncode != 0:
        return {}
    return {"commit": commit.stdout.strip(), "asktell_modified": bool(changes.stdout.strip())}


def machine(workdir: Path) -> dict:
    """What the figures depend on besides asktell: CPUs, Python, the filesystem, other load."""
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "implementation": platform.python_implementation(), "platform": platform.platform(),
            "studies_filesystem": filesystem_of(workdir), "busy_start": busy()}


def bench_size(size: int, tools: Sequence[CliTool], settings: Settings, root: Path, results: Results,
               values: random.Random) -> None:
    """Every figure of one study size, the tools measured in turns; then the studies are removed."""
    entry = results.size(size)
    entry["busy_before"] = busy()
    studies: dict[CliTool, StudyRef] = {}
    for tool in tools:
        log(f"{tool.name}: building a study with {size:,} finished trials")
        studies[tool] = tool.build(root, size)
        entry[tool.name] = {"build_s": studies[tool].build_s}
        log(f"{tool.name}: built in {studies[tool].build_s:.1f} s")
    asktell = next(tool for tool in tools if isinstance(tool, Asktell))
    checked = size == BURST_SIZE
    if checked:
        results.data["check_after_build"] = check_study(asktell, studies[asktell])
        log(f"asktell check on the generated study: {results.data['check_after_build']}")
    log(f"timing {settings.reps} ask/tell pairs per tool, in turns")
    for name, figures in measure_ask_tell(studies, settings.reps, values).items():
        entry[name].update(figures)
        log(f"{name}: ask median {figures['ask']['median'] * 1000:.0f} ms, "
            f"tell median {figures['tell']['median'] * 1000:.0f} ms")
    if size == BURST_SIZE:
        log(f"{BURST_PROCESSES} concurrent asks x {settings.burst_reps} per tool, in turns")
        results.data["burst"] = measure_burst(studies, BURST_PROCESSES, settings.burst_reps, values)
    entry["asktell"].update(bench_asktell_internals(asktell, studies[asktell], settings, root, results, values))
    if checked:
        results.data["check_after_measurements"] = check_study(asktell, studies[asktell])
    if not settings.keep:
        for study in studies.values():
            remove(study.path)
    if "optuna" in entry:
        entry["ratios"] = {kind: entry["optuna"][kind]["median"] / entry["asktell"][kind]["median"]
                           for kind in ("ask", "tell")}
    entry["busy_after"] = busy()


def bench_asktell_internals(tool: Asktell, study: StudyRef, settings: Settings, root: Path, results: Results,
                            values: random.Random) -> dict:
    """Lock hold, file opens, the profile (largest size) and the snapshot-refreshing ask.

    The refresh figure comes last: reaching each refresh adds ~250 trials,
    and every other figure is meant for the study at its nominal size.
    """
    figures = measure_lock_hold(study, settings.lock_reps, values)
    if shutil.which("strace"):
        figures["opens"] = measure_opens(tool, study, root, values)
    if study.size == max(settings.sizes):
        log("asktell: profiling one ask (-X importtime, cProfile)")
        results.data["profile"] = profile_ask(tool, study, root, values)
    log(f"asktell: {settings.refresh_reps} asks that refresh the snapshot")
    figures["snapshot_refresh_ask"] = measure_refresh(tool, study, settings.refresh_reps, values)
    return figures


def remove(path: Path) -> None:
    """A study is a folder (asktell) or a journal file (optuna); 20,000-trial ones fill a disk quickly."""
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def run_benchmark(settings: Settings) -> Results:
    asktell_exe = find_executable("asktell")
    if asktell_exe is None:
        raise BenchError("no asktell command beside this interpreter or on PATH; run with the venv's python")
    asktell_tool = Asktell(asktell_exe, settings.sampler)
    optuna, optuna_status = optuna_tool(settings.optuna, settings.sampler)
    tools: list[CliTool] = [asktell_tool] + ([optuna] if optuna else [])
    owned = settings.workdir is None
    root = Path(tempfile.mkdtemp(prefix="asktell-bench-")) if owned else settings.workdir
    root.mkdir(parents=True, exist_ok=True)
    results = Results({
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(root),
        "versions": {t.name: t.version() for t in tools},
        "source": source_revision(),
        "optuna": optuna_status,
        "settings": {"sizes": list(settings.sizes), "reps": settings.reps, "lock_reps": settings.lock_reps,
                     "burst_processes": BURST_PROCESSES, "burst_size": BURST_SIZE,
                     "burst_reps": settings.burst_reps,
                     "refresh_reps": settings.refresh_reps,
                     "space": {name: spec for name, spec, _ in SPACE}, "sampler": settings.sampler,
                     "optuna_sampler": OPTUNA_SAMPLERS[settings.sampler], "seed": SEED},
        "strace": bool(shutil.which("strace")),
        "environment": {"PYTHONDONTWRITEBYTECODE": "removed for the measured commands"
                        if "PYTHONDONTWRITEBYTECODE" in os.environ else "not set"},
    })
    values = random.Random(SEED + 1)
    try:
        log(f"studies in a scratch folder on {results.data['machine']['studies_filesystem']}; "
            f"optuna: {optuna_status}")
        for tool in tools:
            warm_up(tool, root, values)
        results.data["floors"] = measure_floors(settings.reps, settings.burst_reps)
        for size in settings.sizes:
            bench_size(size, tools, settings, root, results, values)
    finally:
        if owned and not settings.keep:
            shutil.rmtree(root, ignore_errors=True)
        elif settings.keep:
            log(f"studies kept in {root}")
    results.data["machine"]["busy_end"] = busy()
    results.data["targets"] = evaluate_targets(results.data)
    return results


# ---------------------------------------------------------------------- targets and report


def _median(data: dict, size: int, tool: str, figure: str) -> float | None:
    return data.get("sizes", {}).get(str(size), {}).get(tool, {}).get(figure, {}).get("median")


def evaluate_targets(data: dict) -> list[dict]:
    """Each target as PASS, MISS or N/A with the figure it was judged on; nothing is asserted."""
    sizes = sorted(int(s) for s in data.get("sizes", {}))
    targets = []

    def add(name: str, ok: bool | None, detail: str) -> None:
        targets.append({"target": name, "status": "N/A" if ok is None else ("PASS" if ok else "MISS"),
                        "detail": detail})

    empty = _median(data, 0, "asktell", "ask")
    add(f"ask <= {TARGET_EMPTY_ASK_S:g} s on an empty study", None if empty is None else empty <= TARGET_EMPTY_ASK_S,
        "size 0 not measured" if empty is None else f"median {empty:.3f} s")
    for size, factor in TARGET_SPEEDUP.get(data["settings"]["sampler"], {}).items():
        ratio = data.get("sizes", {}).get(str(size), {}).get("ratios", {}).get("ask")
        add(f">= {factor:g}x faster than optuna ask at {size:,} trials", None if ratio is None else ratio >= factor,
            "not measured (size or optuna missing)" if ratio is None else f"optuna/asktell = {ratio:.1f}x")
    holds = {s: _median(data, s, "asktell", "lock_hold_ask") for s in sizes}
    worst = max(holds.items(), key=lambda kv: kv[1]) if holds else None
    add(f"lock held <= {TARGET_LOCK_HOLD_S * 1000:g} ms median per ask (every size)",
        None if worst is None else worst[1] <= TARGET_LOCK_HOLD_S,
        "no size measured" if worst is None else
        f"worst median {worst[1] * 1000:.2f} ms at {worst[0]:,} trials")
    if len(sizes) >= 2:
        low, high = sizes[0], sizes[-1]
        growth = _median(data, high, "asktell", "ask") / _median(data, low, "asktell", "ask")
        slope = (_median(data, high, "asktell", "ask") - _median(data, low, "asktell", "ask")) / (high - low) * 1e6
        add(f"one ask grows far slower than the study (<= {TARGET_GROWTH:g}x from {low:,} to {high:,} trials)",
            growth <= TARGET_GROWTH, f"ask median x{growth:.2f} ({slope:+.2f} ms per 1,000 trials)")
        opens = [data["sizes"][str(s)]["asktell"].get("opens", {}).get("ask", {}).get("in_study") for s in (low, high)]
        add(f"files one ask opens in the study do not grow ({low:,} -> {high:,} trials)",
            None if None in opens else opens[1] <= opens[0],
            "strace not available" if None in opens else f"{opens[0]} -> {opens[1]} files")
    else:
        add("one ask grows far slower than the study", None, "needs at least two sizes")
    return targets


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.0f}" if seconds >= 0.01 else f"{seconds * 1000:.2f}"


def _cell(figure: dict | None) -> str:
    """``98 (104)``: median and p90 in milliseconds."""
    return "–" if not figure else f"{_ms(figure['median'])} ({_ms(figure['p90'])})"


def render_markdown(data: dict) -> str:
    m = data["machine"]
    source = data.get("source", {})
    commit = (f" (commit {source['commit']}{', asktell/ modified' if source['asktell_modified'] else ''})"
              if source else "")
    versions = ", ".join(f"{k} {v}{commit if k == 'asktell' else ''}" for k, v in data["versions"].items())
    sizes = sorted(int(s) for s in data.get("sizes", {}))
    machine_line = (f"{m['nproc']} CPUs ({m['cpu'] or 'unknown cpu'}), Python {m['python']}, {versions}; "
                    f"studies on {m['studies_filesystem']}; {data['settings']['reps']} ask/tell pairs per size; "
                    f"optuna: {data['optuna']}. Load average at start / end: "
                    f"{m['busy_start']['loadavg_1m']:.1f} / {m.get('busy_end', {}).get('loadavg_1m', 0):.1f}"
                    f"{_pressure(m)}.")
    compared = any("optuna" in data["sizes"][str(size)] for size in sizes)
    columns = ["asktell ask", "asktell tell"] + (["optuna ask", "optuna tell", "ask ratio", "tell ratio"]
                                                 if compared else []) + ["load before / after"]
    out = [f"## CLI latency — {data['date']}", "", machine_line,
           "", "### Whole-process wall time per call, ms: median (p90)", "",
           "| finished trials | " + " | ".join(columns) + " |", "|---:" * (len(columns) + 1) + "|"]
    for size in sizes:
        entry = data["sizes"][str(size)]
        a, o, r = entry.get("asktell", {}), entry.get("optuna", {}), entry.get("ratios", {})
        cells = [_cell(a.get("ask")), _cell(a.get("tell"))]
        if compared:
            cells += [_cell(o.get("ask")), _cell(o.get("tell")), _ratio(r.get("ask")), _ratio(r.get("tell"))]
        cells.append(_load(entry))
        out.append(f"| {size:,} | " + " | ".join(cells) + " |")
    out += ["", ("Ratio = optuna median / asktell median (higher: asktell faster); the tools were timed in "
                 "turns. " if compared else "") + "Load: 1-minute load average before and after the size.", ""]
    out += ["### asktell per size, ms: median (p90)", "",
            ("| finished trials | first ask after bulk build | ask that refreshes the snapshot | in-process ask | "
             "lock held per ask | lock held per tell | files opened by ask: all / in study | by tell |"),
            "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for size in sizes:
        a = data["sizes"][str(size)].get("asktell", {})
        opens = a.get("opens", {})
        out.append(f"| {size:,} | {_ms(a.get('first_ask_s'))} | {_cell(a.get('snapshot_refresh_ask'))} | "
                   f"{_cell(a.get('in_process_ask'))} | "
                   f"{_cell(a.get('lock_hold_ask'))} | {_cell(a.get('lock_hold_tell'))} | "
                   f"{_opens(opens.get('ask'))} | {_opens(opens.get('tell'))} |")
    if data.get("burst"):
        out += ["", (f"### {BURST_PROCESSES} concurrent asks on the {BURST_SIZE:,}-trial study "
                     f"(started at once, until all finished; {data['settings']['burst_reps']} bursts)"), "",
                (f"| tool | wall, ms: median (p90) | per ask | {BURST_PROCESSES} x one ask's median | "
                 "all trials distinct |"), "|---|---:|---:|---:|---|"]
        for name, burst in data["burst"].items():
            single = _median(data, BURST_SIZE, name, "ask")
            out.append(f"| {name} | {_cell(burst['wall'])} | {_ms(burst['wall']['median'] / BURST_PROCESSES)} | "
                       f"{_ms(single * BURST_PROCESSES if single else None)} | "
                       f"{'yes' if burst['distinct_trials'] else 'NO'} |")
    out += ["", "### Start-up floors, ms: median (p90)", "", "| command | wall |", "|---|---:|"]
    out += [f"| `{label}` | {_cell(figure)} |" for label, figure in data.get("floors", {}).items()]
    for key in ("check_after_build", "check_after_measurements"):
        if key in data:
            c = data[key]
            out += ["", (f"`asktell check` on the generated {c['size']:,}-trial study "
                         f"({key.replace('_', ' ')}): exit {c['exit_code']}, {c['errors']} errors, "
                         f"{c['warnings']} warnings.")]
    out += ["", "### Targets", ""]
    out += [f"- **{t['status']}** {t['target']}: {t['detail']}" for t in data.get("targets", [])]
    profile = data.get("profile")
    if profile:
        out += ["", f"### Where one `asktell ask` spends its time at {profile['size']:,} trials", "",
                (f"Imports (-X importtime, self time summed per top-level package; total "
                 f"{_ms(profile['import_total_s'])} ms):"), "",
                "| package | ms |", "|---|---:|"]
        out += [f"| {name} | {_ms(s)} |" for name, s in profile["imports_by_package_s"].items()]
        out += ["", f"cProfile, top self time (profiled total {_ms(profile['profile_total_s'])} ms):", "",
                "| function | self ms | cumulative ms | calls |", "|---|---:|---:|---:|"]
        out += [f"| `{r['function']}` | {_ms(r['self_s'])} | {_ms(r['cumulative_s'])} | {r['calls']} |"
                for r in profile["top_self"]]
        out += ["", "cProfile, asktell functions by cumulative time:", "",
                "| function | cumulative ms | calls |", "|---|---:|---:|"]
        out += [f"| `{r['function']}` | {_ms(r['cumulative_s'])} | {r['calls']} |"
                for r in profile["asktell_cumulative"]]
    return "\n".join(out) + "\n"


def _pressure(m: dict) -> str:
    start, end = m["busy_start"].get("cpu_pressure_avg60"), m.get("busy_end", {}).get("cpu_pressure_avg60")
    return "" if start is None or end is None else f", CPU pressure (PSI avg60) {start:.0f}% / {end:.0f}%"


def _load(entry: dict) -> str:
    before, after = entry.get("busy_before", {}), entry.get("busy_after", {})
    return f"{before.get('loadavg_1m', 0):.1f} / {after.get('loadavg_1m', 0):.1f}"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}x"


def _opens(figure: dict | None) -> str:
    return "–" if not figure else f"{figure['total']} / {figure['in_study']}"


# ---------------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", help="comma-separated numbers of finished trials "
                        f"(default {','.join(map(str, DEFAULT_SIZES))})")
    parser.add_argument("--reps", type=int, help=f"ask/tell pairs timed per size (default {DEFAULT_REPS})")
    parser.add_argument("--no-optuna", action="store_true", help="skip the comparison with Optuna's CLI")
    parser.add_argument("--sampler", choices=sorted(OPTUNA_SAMPLERS), default="random",
                        help="asktell's sampler, compared with Optuna's counterpart (default random)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: sizes {','.join(map(str, QUICK_SIZES))} and {QUICK_REPS} reps")
    parser.add_argument("--workdir", type=Path, help="where to build the studies (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the generated studies")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON file with every figure")
    args = parser.parse_args(argv)
    sizes = (tuple(sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()}))
             if args.sizes else QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if any(s < 0 for s in sizes):
        parser.error("--sizes must be non-negative")
    reps = args.reps or (QUICK_REPS if args.quick else DEFAULT_REPS)
    if reps < 1:
        parser.error("--reps must be at least 1")
    return Settings(sizes=sizes, reps=reps, lock_reps=QUICK_LOCK_REPS if args.quick else LOCK_REPS,
                    burst_reps=QUICK_BURST_REPS if args.quick else BURST_REPS,
                    refresh_reps=QUICK_REFRESH_REPS if args.quick else REFRESH_REPS, optuna=not args.no_optuna,
                    sampler=args.sampler, workdir=args.workdir.resolve() if args.workdir else None, keep=args.keep,
                    output=args.output)


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    try:
        results = run_benchmark(settings)
    except BenchError as exc:
        print(f"cli_latency: {exc}", file=sys.stderr)
        return 1
    settings.output.parent.mkdir(parents=True, exist_ok=True)
    settings.output.write_text(json.dumps(results.data, indent=2) + "\n")
    print(render_markdown(results.data))
    log(f"every figure in {settings.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
