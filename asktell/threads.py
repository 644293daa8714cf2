"""One BLAS thread for asktell's own process, and the user's settings for the commands it starts.

numpy's BLAS starts a thread per core when it loads.  A CLI call's matrices
are small (a GP over at most 200 points), so those threads only cost: about
30 ms of a TPE ask, and on a busy machine they made the GP 3-4x slower
(docs/design.md, "Start-up").  The command line therefore asks for one
thread before anything imports numpy -- unless the user chose a number --
and ``asktell run`` takes back out what it set, so that a training command
keeps every core.
"""

from __future__ import annotations

import os
from typing import Mapping

#: The variables the BLAS builds numpy ships with (OpenBLAS, MKL, OpenMP) read at load.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")

#: The variables this process set (not the user).
_pinned: list[str] = []


def pin_blas_threads() -> None:
    """Ask for one BLAS thread, where the user has not chosen; call before numpy is imported."""
    for name in BLAS_THREAD_VARIABLES:
        if name not in os.environ:
            os.environ[name] = "1"
            _pinned.append(name)


def without_pinned(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without the variables ``pin_blas_threads`` set: what the user's commands should see."""
    return {name: value for name, value in env.items() if name not in _pinned}
