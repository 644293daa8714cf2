"""Studies to look at, built through the Python API with every kind of trial a plot must draw.

Trials are asked two at a time (two lanes of the timeline), report a learning
curve, and end complete, pruned, failed, infeasible or -- the last one --
still running.  ``opt == sgd`` switches the conditional ``momentum`` on.
"""

from __future__ import annotations

from pathlib import Path

from asktell.study import Study

SPACE = {"x": "-3.0..3.0", "lr": "1e-5..1e-1:log", "layers": "1..4", "opt": ["adam", "sgd"],
         "momentum": "0..0.9 if opt == sgd"}
ONE = {"loss": "minimize"}
TWO = {"loss": "minimize", "acc": "maximize"}
STEPS = 4


def outcome(params: dict) -> dict:
    """loss is least at x = 1, acc greatest at x = 0: a Pareto front between the two."""
    loss = (params["x"] - 1) ** 2 + (0.5 if params["opt"] == "sgd" else 0.0) + 0.1 * params["layers"]
    return {"loss": loss, "acc": 1 / (1 + abs(params["x"]))}


def build_study(path: Path, objectives: dict, trials: int = 30, seed: int = 3) -> Study:
    study = Study.create(path, SPACE, objectives=objectives, sampler="random", seed=seed)
    for first in range(0, trials, 2):
        asked = [study.ask() for _ in range(min(2, trials - first))]
        for trial in asked:
            values = {name: v for name, v in outcome(trial.params).items() if name in objectives}
            for step in range(STEPS):
                study.report(trial.number, step, {"loss": values["loss"] * (1 + 3 / (step + 1))})
            if trial.number % 7 == 3:
                study.tell(trial, state="pruned")
            elif trial.number % 9 == 5:
                study.tell(trial, state="failed")
            else:
                study.tell(trial, values, constraints={"budget": 1.0 if trial.number % 8 == 6 else -1.0})
    running = study.ask()
    study.report(running.number, 0, {"loss": 9.0})
    return study
