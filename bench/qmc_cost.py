#!/usr/bin/env python3
"""What one ``qmc`` suggestion costs (in-process; the CLI adds start-up).

First table: ``suggest`` on tpe_cost.py's 6-parameter study as it grows; the
only pass over the history finds the largest trial number.  Second table: the
point alone, by number of parameters and index (the bits of the index set how
many direction numbers and scramble columns a Sobol point needs; scrambled
Halton shuffles one permutation per digit position of every prime).  Medians
of 15 calls.

    .venv/bin/python bench/qmc_cost.py [SIZES]     # default 0,100,1000,10000,20000
"""

from __future__ import annotations

import sys

from histories import LOSS, median_ms, random_history  # bench/: the script's own folder
from tpe_cost import SPACE

from asktell.samplers import make_sampler

VARIANTS = {"sobol": {}, "sobol plain": {"scramble": False}, "halton": {"sequence": "halton"},
            "halton plain": {"sequence": "halton", "scramble": False}}


def main() -> None:
    sizes = [int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "0,100,1000,10000,20000").split(",")]
    samplers = {name: make_sampler("qmc", options, 0, LOSS) for name, options in VARIANTS.items()}
    print(f"| finished trials | {' | '.join(f'{name} (ms)' for name in VARIANTS)} |")
    print(f"|---:|{'---:|' * len(VARIANTS)}")
    for size in sizes:
        history, running = random_history(SPACE, size)
        row = [median_ms(lambda _, s=s: s.suggest(SPACE, history, running, 0), 15) for s in samplers.values()]
        print(f"| {size:,} | {' | '.join(f'{ms:.3f}' for ms in row)} |")

    print(f"\n| parameters | index | {' | '.join(f'{name} (ms)' for name in VARIANTS)} |")
    print(f"|---:|---:|{'---:|' * len(VARIANTS)}")
    for dimensions in (5, 16, 64, 256):
        for index in (1_000, 1_000_000):
            row = [median_ms(lambda _, s=s: s.point(index, dimensions), 15) for s in samplers.values()]
            print(f"| {dimensions} | {index:,} | {' | '.join(f'{ms:.3f}' for ms in row)} |")


if __name__ == "__main__":
    main()
