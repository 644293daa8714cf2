#!/usr/bin/env python3
"""What one TPE ``suggest`` costs as a study grows (in-process; the CLI adds start-up).

The history is what the random sampler hands out on a 6-parameter space with a
conditional one (every tenth trial failed), plus 8 running trials; the figure
is the median of 15 calls per size, for the multivariate and the univariate
model.  ``g`` sees at most 1,000 bad trials and ``l`` at most 25, so beyond
about 1,000 trials only the pass over the history that ranks it still grows.

    .venv/bin/python bench/tpe_cost.py [SIZES]     # default 100,1000,10000
"""

from __future__ import annotations

import sys

from asktell.samplers import make_sampler
from asktell.space import Space

from histories import LOSS, median_ms, random_history  # bench/: the script's own folder

SPACE = Space.from_shorthands(["x=-1.0..1.0", "y=-1.0..1.0", "lr=1e-5..1e-1:log", "n=1..8", "opt=a,b,c",
                               "m=0.0..1.0 if opt == b"])



def main() -> None:
    sizes = [int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "100,1000,10000").split(",")]
    print("| finished trials | multivariate (ms) | univariate (ms) |\n|---:|---:|---:|")
    for size in sizes:
        history, running = random_history(SPACE, size)
        row = []
        for multivariate in (True, False):
            sampler = make_sampler("tpe", {"multivariate": multivariate}, 0, LOSS)
            row.append(f"{median_ms(lambda seed: sampler.suggest(SPACE, history, running, seed), 15):.1f}")
        print(f"| {size:,} | {row[0]} | {row[1]} |")


if __name__ == "__main__":
    main()
