#!/usr/bin/env python3
"""Best value found by asktell's TPE and Optuna's TPESampler (its defaults), one at a time and 8 at once.

"8 at once": 8 trials are asked (each ask sees the earlier ones as running)
before any is told, as an array job does.  Both tools get the same problems,
budget and seeds; the table shows the median and mean best value over the
seeds (lower is better).  Needs the bench extra (optuna).

    .venv/bin/python bench/tpe_vs_optuna.py [--budget 80] [--seeds 20] [--only quad,mixed]
"""

from __future__ import annotations

import argparse
import math
import statistics
from typing import Callable

import optuna

from asktell.config import Objective
from asktell.samplers import derive_seed, make_sampler
from asktell.space import Param, Space
from asktell.trial import COMPLETE, TrialRecord

AT = "2024-01-01T00:00:00.000Z"
PROBLEMS: dict[str, tuple[list[str], Callable[[dict], float]]] = {
    "quadratic 2-D": (["x=-1.0..1.0", "y=-1.0..1.0"], lambda p: (p["x"] - 0.3) ** 2 + (p["y"] + 0.2) ** 2),
    "rosenbrock 2-D": (["x=-2.0..2.0", "y=-1.0..3.0"], lambda p: (1 - p["x"]) ** 2 + 100 * (p["y"] - p["x"] ** 2) ** 2),
    "mixed 4-D": (["x=0.0..1.0", "lr=1e-5..1e-1:log", "n=1..8", "opt=a,b,c"],
                  lambda p: {"a": 1.0, "b": 0.0, "c": 0.5}[p["opt"]] + (p["x"] - 0.7) ** 2
                  + (math.log10(p["lr"]) + 3) ** 2 / 4 + (p["n"] - 5) ** 2 / 16),
    "sphere 6-D": ([f"x{i}=-1.0..1.0" for i in range(6)], lambda p: sum((p[f"x{i}"] - 0.1 * i) ** 2 for i in range(6))),
}


def asktell_best(space: Space, objective, seed: int, budget: int, batch: int) -> float:
    sampler = make_sampler("tpe", {}, seed, (Objective("loss", "minimize"),))
    history: list[TrialRecord] = []
    while len(history) < budget:
        running: list[TrialRecord] = []
        for _ in range(batch):
            number = len(history) + len(running)
            running.append(TrialRecord(number, sampler.suggest(space, history, running, derive_seed(seed, number)), AT))
        history += [TrialRecord(t.number, t.params, AT, state=COMPLETE, values={"loss": objective(t.params)})
                    for t in running]
    return min(t.values["loss"] for t in history)


def optuna_distribution(param: Param) -> optuna.distributions.BaseDistribution:
    if param.kind == "categorical":
        return optuna.distributions.CategoricalDistribution(param.choices)
    if param.kind == "int":
        return optuna.distributions.IntDistribution(param.low, param.high, log=param.log)
    return optuna.distributions.FloatDistribution(param.low, param.high, log=param.log)


def optuna_best(space: Space, objective, seed: int, budget: int, batch: int) -> float:
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    distributions = {p.name: optuna_distribution(p) for p in space}
    for _ in range(budget // batch):
        trials = [study.ask(distributions) for _ in range(batch)]
        for trial in trials:
            study.tell(trial, objective(trial.params))
    return study.best_value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=80)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--only", default="", help="comma-separated problem names (a prefix is enough)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"budget {args.budget}, {args.seeds} seeds, optuna {optuna.__version__}: median / mean best value\n")
    print("| problem | asked at once | asktell tpe | optuna TPESampler |\n|---|---:|---:|---:|")
    for name, (shorthands, objective) in PROBLEMS.items():
        if args.only and not any(name.startswith(o) for o in args.only.split(",")):
            continue
        space = Space.from_shorthands(shorthands)
        for batch in (1, 8):
            cells = []
            for best in (asktell_best, optuna_best):
                found = [best(space, objective, seed, args.budget, batch) for seed in range(args.seeds)]
                cells.append(f"{statistics.median(found):.4g} / {statistics.mean(found):.4g}")
            print(f"| {name} | {batch} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()
