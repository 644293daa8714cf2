#!/usr/bin/env python3
"""How long a training loop waits for ``asktell report`` at each step, as the study grows.

A loop calls ``asktell report STUDY TRIAL --step S --value V`` after every
step, so the figure that matters is the wall time of that whole process.  It
reads the full history (every trial's intermediate values, from the snapshot
plus the journal's tail) and judges the trial with the study's pruner.  For
each size this builds a study of N finished trials with 10 reported steps
each (through the Study API, so every event is a real one), then times, per
pruner, ``report`` and ``should-prune`` as subprocesses -- wall time, and CPU
time, which other load on the machine does not inflate -- and splits one
call's work in-process: loading the history, and the pruner's decision.

    .venv/bin/python bench/report_latency.py                 # 100 and 1,000 trials, 15 reps
    .venv/bin/python bench/report_latency.py --sizes 10000 --reps 10

Prints a Markdown table (progress on stderr).  Run it with the interpreter
asktell is installed in.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from asktell import Study

STEPS = 10
PRUNERS = {
    "nop": {},
    "median": {"n_warmup_steps": 2},
    "successive_halving": {},
    "wilcoxon": {},
}
ASKTELL = [str(Path(sys.executable).with_name("asktell"))]
if not Path(ASKTELL[0]).exists():
    ASKTELL = [sys.executable, "-m", "asktell"]


def build(path: Path, size: int) -> None:
    """``size`` complete trials of ``STEPS`` reports each, then one running trial that reported 3 steps."""
    rng = random.Random(size)
    study = Study.create(path, {"x": "0.0..1.0"}, objectives={"loss": "minimize"}, sampler="random", seed=1)
    started = time.perf_counter()
    for n in range(size + 1):
        trial = study.ask()
        level = rng.random()
        for step in range(STEPS if n < size else 3):
            study.report(trial.number, step, level + 1 / (step + 1))
        if n < size:
            study.tell(trial, level + 1 / STEPS)
        if n % 200 == 0:
            print(f"  built {n} of {size} trials ({time.perf_counter() - started:.0f} s)", file=sys.stderr)


def with_pruner(source: Path, target: Path, name: str, options: dict) -> Path:
    shutil.copytree(source, target)
    config = yaml.safe_load((target / "study.yaml").read_text())
    config["pruner"] = {"name": name, "options": options}
    (target / "study.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (target / "cache" / "study.json").unlink(missing_ok=True)
    return target


def timed(args: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one ``asktell`` process; exit 3 (prune) is fine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(args)} failed: {result.stderr}")
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def report_times(path: Path, number: int, first_step: int, reps: int) -> list[tuple[float, float]]:
    """``report`` calls at new steps of the running trial, one after the other, as a training loop makes them."""
    return [timed([*ASKTELL, "report", str(path), str(number), "--step", str(step), "--value", "0.9"])
            for step in range(first_step, first_step + reps)]



def in_process(path: Path, number: int, reps: int) -> tuple[float, float]:
    """Median CPU seconds to load the full history, and to judge the trial, in this process."""
    study = Study.open(path)
    pruner = study.pruner()
    loads, judgements = [], []
    for _ in range(reps):
        started = time.process_time()
        history = study.history()
        loaded = time.process_time()
        pruner.prune(history.trials, history.get(number))
        loads.append(loaded - started)
        judgements.append(time.process_time() - loaded)
    return statistics.median(loads), statistics.median(judgements)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def summary(times: list[tuple[float, float]]) -> str:
    """Median wall (p90) / median CPU, ms."""
    walls = sorted(wall for wall, _ in times)
    cpu = statistics.median(c for _, c in times)
    return f"{statistics.median(walls) * 1000:.0f} ({walls[int(0.9 * (len(walls) - 1))] * 1000:.0f}) / {cpu * 1000:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000", help="finished trials per study (comma-separated)")
    parser.add_argument("--reps", type=int, default=15, help="timed calls per command, size and pruner")
    parser.add_argument("--workdir", type=Path, help="build the studies here (default: a temporary folder)")
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="report-latency-", dir=options.workdir))
    rows = []
    try:
        for size in (int(s) for s in options.sizes.split(",")):
            print(f"size {size}: building", file=sys.stderr)
            base = root / f"base-{size}"
            build(base, size)
            events = sum(1 for _ in open(base / "journal.jsonl", "rb"))
            for name, pruner_options in PRUNERS.items():
                path = with_pruner(base, root / f"{name}-{size}", name, pruner_options)
                should_prune = [*ASKTELL, "should-prune", str(path), str(size)]
                timed(should_prune)  # writes the caches: study.json, bytecode
                report = summary(report_times(path, size, 3, options.reps))
                judge = summary([timed(should_prune) for _ in range(options.reps)])
                load, decide = in_process(path, size, options.reps)
                rows.append((size, events, name, report, judge, ms(load), ms(decide)))
                print(f"  {name}: report {report} ms", file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"Whole process: median wall time (p90) / median CPU time (user + system) of {options.reps} calls, ms; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}. "
          "In-process: median CPU ms to load the full history / to judge.\n")
    print("| finished trials | journal events | pruner | `asktell report` | `asktell should-prune` "
          "| load history | judge |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(f"{v:,}" if isinstance(v, int) else v for v in row) + " |")


if __name__ == "__main__":
    main()
