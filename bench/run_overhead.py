#!/usr/bin/env python3
"""What ``asktell run`` adds per trial over running the command directly.

The command is a no-op that reports a metric: ``sh -c 'echo {"metric": "loss", "value": 1}'``.
The baseline runs it N times itself, J at a time (a pool of Popen, the least
any driver can do); ``asktell run -n N -j J`` runs it for N trials of a fresh
study (random sampler: the sampler's own cost is ``tpe_cost.py``'s business),
start-up of the ``asktell`` process included.  Reported per J: both wall
times, their ratio, and the overhead per trial, ``(run - baseline) / N``; the
target is at most 0.3 s per trial at -j 1.  Each figure is the median of
``--reps`` runs, taken in turns so that load on the machine hits both alike.

    .venv/bin/python bench/run_overhead.py [--trials 100] [--jobs 1,4] [--reps 5] [--sampler random]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMAND = ["sh", "-c", 'echo \'{"metric": "loss", "value": 1}\'']
TARGET_SECONDS = 0.3
ASKTELL = [str(Path(sys.executable).with_name("asktell"))] if Path(sys.executable).with_name("asktell").exists() \
    else [sys.executable, "-m", "asktell"]


def direct(trials: int, jobs: int) -> float:
    """Wall time of running the command ``trials`` times, ``jobs`` at a time, by Popen alone."""
    start = time.perf_counter()
    running: list[subprocess.Popen] = []
    for _ in range(trials):
        if len(running) == jobs:
            os.wait()
            running = [p for p in running if p.poll() is None]
        running.append(subprocess.Popen(COMMAND, stdout=subprocess.DEVNULL))
    for process in running:
        process.wait()
    return time.perf_counter() - start


def through_asktell(workdir: Path, trials: int, jobs: int, sampler: str, rep: int) -> float:
    """Wall time of a whole ``asktell run`` process over a fresh study."""
    study = workdir / f"study-{jobs}-{rep}"
    subprocess.run([*ASKTELL, "create", str(study), "-p", "x=0.0..1.0", "-p", "opt=a,b", "--minimize", "loss",
                    "--sampler", sampler, "--seed", str(rep)], check=True, capture_output=True)
    start = time.perf_counter()
    result = subprocess.run([*ASKTELL, "run", str(study), "-n", str(trials), "-j", str(jobs), "--", *COMMAND],
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0 or f"{trials} complete" not in result.stderr:
        sys.exit(f"asktell run failed (exit {result.returncode}):\n{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--jobs", default="1,4")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--sampler", default="random")
    args = parser.parse_args()
    print(f"{args.trials} trials, {args.sampler} sampler, median of {args.reps} runs; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", file=sys.stderr)
    print("| -j | direct (s) | asktell run (s) | ratio | overhead per trial (s) |\n|---:|---:|---:|---:|---:|")
    verdicts = []
    with tempfile.TemporaryDirectory() as scratch:
        for jobs in (int(j) for j in args.jobs.split(",")):
            base, run = [], []
            for rep in range(args.reps):
                base.append(direct(args.trials, jobs))
                run.append(through_asktell(Path(scratch), args.trials, jobs, args.sampler, rep))
            b, r = statistics.median(base), statistics.median(run)
            per_trial = (r - b) / args.trials
            print(f"| {jobs} | {b:.3f} | {r:.3f} | {r / b:.1f} | {per_trial:.4f} |")
            if jobs == 1:
                verdicts.append(f"-j 1: {per_trial:.4f} s per trial against a target of {TARGET_SECONDS} s: "
                                f"{'met' if per_trial <= TARGET_SECONDS else 'MISSED'}")
    print("\n" + "\n".join(verdicts))


if __name__ == "__main__":
    main()
