#!/usr/bin/env python3
"""What the window costs TPE past 1,000 trials: best loss with the window against the whole history.

A study past ``asktell.window.NEWEST`` finished trials hands TPE the window
(each objective's best and the newest trials), not every trial.  This runs
TPE in-process for ``--trials`` trials on 5-D Rosenbrock and Rastrigin
(range -5..5), once reading the window and once the whole history, over
``--seeds`` seeds, and prints the best loss at 1,000, 1,500 and 2,000 trials
and how often each side ends lower.  Both runs see the same first 1,000
trials (the window is the whole history until then).

    .venv/bin/python bench/window_quality.py --seeds 10
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asktell.config import Objective  # noqa: E402
from asktell.samplers import derive_seed, make_sampler  # noqa: E402
from asktell.space import Space  # noqa: E402
from asktell.trial import COMPLETE, TrialRecord  # noqa: E402
from asktell.window import window  # noqa: E402

LOSS = (Objective("loss", "minimize"),)
DIMENSIONS = 5
CHECKPOINTS = (1000, 1500, 2000)
AT = "2024-01-01T00:00:00.000Z"


def rosenbrock(x: list[float]) -> float:
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def rastrigin(x: list[float]) -> float:
    return 10 * len(x) + sum(v * v - 10 * math.cos(2 * math.pi * v) for v in x)


def best_so_far(function, seed: int, trials: int, windowed: bool) -> list[float]:
    space = Space.from_shorthands([f"x{i}=-5.0..5.0" for i in range(DIMENSIONS)])
    sampler = make_sampler("tpe", {}, seed, LOSS)
    history: list[TrialRecord] = []
    for number in range(trials):
        finished = window(history, LOSS) if windowed else history
        params = sampler.suggest(space, finished, [], derive_seed(seed, number))
        loss = function([params[f"x{i}"] for i in range(DIMENSIONS)])
        history.append(TrialRecord(number, params, AT, state=COMPLETE, values={"loss": loss}))
    return [min(t.values["loss"] for t in history[:k]) for k in CHECKPOINTS if k <= trials]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=max(CHECKPOINTS))
    args = parser.parse_args()
    print(f"| function | best loss at {', '.join(f'{k:,}' for k in CHECKPOINTS if k <= args.trials)}: "
          "window / whole history (median of seeds) | window lower / whole lower / equal, at the end |")
    print("|---|---|---|")
    for function in (rosenbrock, rastrigin):
        runs = [(best_so_far(function, s, args.trials, True), best_so_far(function, s, args.trials, False))
                for s in range(args.seeds)]
        medians = [f"{statistics.median(w[i] for w, _ in runs):.2f} / {statistics.median(a[i] for _, a in runs):.2f}"
                   for i in range(len(runs[0][0]))]
        lower = sum(w[-1] < a[-1] for w, a in runs), sum(a[-1] < w[-1] for w, a in runs)
        print(f"| {function.__name__} | {', '.join(medians)} | {lower[0]} / {lower[1]} / {args.seeds - sum(lower)} |",
              flush=True)


if __name__ == "__main__":
    main()
