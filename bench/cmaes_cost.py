#!/usr/bin/env python3
"""What one CMA-ES ``suggest`` costs as a study grows (in-process; the CLI adds start-up).

Every ask replays the whole history, generation by generation, so the cost
grows with the number of finished trials.  The history is what the random
sampler hands out on ``d`` float parameters (every tenth trial failed, the
others a random loss), plus 8 running trials.  Two columns: the default
(``restart: ipop``: on such a history runs stall and restart, and the
population doubles each time, so there are fewer generations to replay) and
``restart: none``, the worst case (one run: a generation per ``population``
trials).  The figure is the median of 7 calls per size.

    .venv/bin/python bench/cmaes_cost.py [SIZES] [DIMENSIONS]     # default 100,1000,10000 2,5,10
"""

from __future__ import annotations

import sys

from asktell.samplers import make_sampler
from asktell.space import Space
from asktell.trial import TrialRecord

from histories import LOSS, median_ms, random_history  # bench/: the script's own folder


def suggest_ms(options: dict, space: Space, history: list[TrialRecord], running: list[TrialRecord]) -> str:
    sampler = make_sampler("cmaes", options, 0, LOSS)
    return f"{median_ms(lambda seed: sampler.suggest(space, history, running, seed), 7):.1f}"


def main() -> None:
    sizes = [int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "100,1000,10000").split(",")]
    dims = [int(d) for d in (sys.argv[2] if len(sys.argv) > 2 else "2,5,10").split(",")]
    print("| d | finished trials | restart: ipop (ms) | restart: none (ms) |\n|---:|---:|---:|---:|")
    for d in dims:
        space = Space.from_shorthands([f"x{i}=-5.0..5.0" for i in range(d)])
        for size in sizes:
            history, running = random_history(space, size)
            print(f"| {d} | {size:,} | {suggest_ms({}, space, history, running)} "
                  f"| {suggest_ms({'restart': 'none'}, space, history, running)} |", flush=True)


if __name__ == "__main__":
    main()
