#!/usr/bin/env python3
"""What drawing each plot kind, the PED-ANOVA importance and the whole HTML report cost as a study grows.

The trials are made in memory (reading a study is measured by
``cli_latency.py``): a 6-parameter space with a conditional one, two
objectives, a learning curve of 10 steps per trial, every tenth trial pruned,
four workers on two hosts.  Figures are CPU seconds of this process
(``time.process_time``), which a loaded machine does not inflate the way it
does wall time; drawing is single-threaded.  ``plot`` is draw + PNG.

    .venv/bin/python bench/plots_cost.py [SIZES]     # default 100,1000,10000
"""

from __future__ import annotations

import random
import sys
import time

from asktell.config import Objective, StudyConfig
from asktell.html_report import render_report
from asktell.importance import importances
from asktell.plots import KINDS, draw
from asktell.plots.figure import image_bytes
from asktell.plots.view import View
from asktell.samplers import derive_seed, make_sampler
from asktell.space import Space
from asktell.trial import COMPLETE, PRUNED, TrialRecord

SPACE = Space.from_shorthands(["x=-1.0..1.0", "y=-1.0..1.0", "lr=1e-5..1e-1:log", "n=1..8", "opt=a,b,c",
                               "m=0.0..1.0 if opt == b"])
OBJECTIVES = (Objective("loss", "minimize"), Objective("acc", "maximize"))
STEPS = 10


def iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1.7e9 + seconds)) + f".{int(seconds % 1 * 1000):03d}Z"


def trials(size: int) -> list[TrialRecord]:
    draw_params = make_sampler("random", {}, 0, OBJECTIVES)
    rng = random.Random(0)
    made = []
    for number in range(size):
        params = draw_params.suggest(SPACE, [], [], derive_seed(0, number))
        loss = params["x"] ** 2 + 0.1 * params["n"] + rng.random() * 0.1
        start = number // 4 * 60.0 + rng.random() * 5
        curve = {"loss": {step: loss * (1 + 3 / (step + 1)) for step in range(STEPS)}}
        state = PRUNED if number % 10 == 9 else COMPLETE
        made.append(TrialRecord(number, params, iso(start), host=f"node{number % 2}", state=state,
                                values={"loss": loss, "acc": 1 / (1 + abs(params["y"]))} if state == COMPLETE
                                else None, told_at=iso(start + 50 + rng.random() * 5), intermediate=curve))
    return made


def cpu(call) -> float:
    start = time.process_time()
    call()
    return time.process_time() - start


def main() -> None:
    sizes = [int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "100,1000,10000").split(",")]
    config = StudyConfig("bench", OBJECTIVES, SPACE)
    print("| trials | importance | " + " | ".join(KINDS) + " | report-html |")
    print("|---:" * (len(KINDS) + 3) + "|")
    draw(View.of(config, trials(10)), "history")  # import matplotlib and build its font cache outside the figures
    for size in sizes:
        made = trials(size)
        view = View.of(config, made)
        row = [f"{cpu(lambda: importances(SPACE, made, OBJECTIVES)):.3f}"]
        row += [f"{cpu(lambda: image_bytes(draw(view, kind), 'png')):.2f}" for kind in KINDS]
        counts = {s: sum(t.state == s for t in made) for s in ("running", COMPLETE, PRUNED, "failed")}
        row.append(f"{cpu(lambda: render_report(view, counts, 0, [])):.2f}")
        print(f"| {size:,} | " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
