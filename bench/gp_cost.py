#!/usr/bin/env python3
"""What one GP ``suggest`` costs as a study grows (in-process; the CLI adds start-up).

The history is what the random sampler hands out on a 6-parameter space with a
conditional one (every tenth trial failed), plus 8 running trials; the figure
is the median of 5 calls per size.  The model sees at most ``max_points``
(200) finished trials and 200 running ones, so beyond 200 trials only the
passes over the history that rank it and collect the taken cells still grow:
the cost at 1,000 trials should be close to the cost at 300.  The
hyperparameters are fitted to at most 100 trials, so most of the growth is
over by 100.

On a busy machine OpenBLAS threads make the n x n factorisations erratic
(here, with the load average at 8 on 2 cores, 400-600 ms at the cap against
110-170 ms): compare runs with ``OPENBLAS_NUM_THREADS=1``.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/gp_cost.py [SIZES]     # default 20,100,300,1000
"""

from __future__ import annotations

import sys

from asktell.samplers import make_sampler
from asktell.space import Space

from histories import LOSS, median_ms, random_history  # bench/: the script's own folder

SPACE = Space.from_shorthands(["x=-1.0..1.0", "y=-1.0..1.0", "lr=1e-5..1e-1:log", "n=1..8", "opt=a,b,c",
                               "m=0.0..1.0 if opt == b"])
CALLS = 5



def main() -> None:
    sizes = [int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "20,100,300,1000").split(",")]
    print("| finished trials | points in the model | suggest (ms) |\n|---:|---:|---:|")
    sampler = make_sampler("gp", {}, 0, LOSS)
    for size in sizes:
        history, running = random_history(SPACE, size)
        ms = median_ms(lambda seed: sampler.suggest(SPACE, history, running, seed), CALLS)
        points = len(sampler.modelled(history)) + len(running)
        print(f"| {size:,} | {points} | {ms:.0f} |")


if __name__ == "__main__":
    main()
