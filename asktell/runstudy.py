"""The study an ``asktell run`` works on: a folder it is given, or one it makes, the Hake way.

``asktell run STUDY -- CMD`` opens STUDY.  Given a search space (``-p``,
``--space``), ``run`` also creates the study if it is missing and reuses it if
it exists with the same settings (``Study.create(exist_ok=True)``: any
difference is an error that names it), so one line is enough::

    asktell run --maximize acc -p ALPHA=0..10 -p BETA=100..200 --make -- make train test

Without STUDY the folder is ``.asktell/<slug>-<hash>``: the slug is the
command, readable (``make-train-test``); the hash covers the command, the
space, the objectives, the sampler and ``--make``, so that changing any of
them starts a new study instead of failing on the old one, and running the
same line again continues the same study.  With no objective the study is a
sweep: the grid sampler in Hake's nested-loop order, every cell once.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Sequence

from .errors import InvalidInput
from .space import Space
from .study import Study

RUNS_DIR = ".asktell"
SLUG_CHARS = 40


def open_or_create(path: Path | None, command: Sequence[str], *, params: Sequence[str] = (),
                   space_file: Path | None = None, minimize: Sequence[str] = (), maximize: Sequence[str] = (),
                   sampler: str | None = None, max_trials: int | None = None, make: bool = False) -> Study:
    """The study of a run: opened, or with a space given, created or reused."""
    if not params and space_file is None:
        given = [flag for flag, value in (("--minimize", minimize), ("--maximize", maximize), ("--sampler", sampler),
                                          ("--max-trials", max_trials)) if value]
        if path is None:
            raise InvalidInput("give a STUDY folder, or a search space (-p NAME=SPEC or --space FILE) to run in "
                               f"{RUNS_DIR}/", field="STUDY")
        if given:
            raise InvalidInput(f"{given[0]} describes a new study; give the space too (-p or --space), or "
                               "leave it out to run the study as it is", field=given[0])
        return Study.open(path)
    space = Space.from_options(space_file, params)
    objectives = [(n, "minimize") for n in minimize] + [(n, "maximize") for n in maximize]
    options = {}
    if sampler is None and not objectives:
        sampler, options = "grid", {"order": "sequential"}
    if path is None:
        path = default_folder(command, space, objectives, sampler, make)
    extra = {"sampler": sampler} if sampler is not None else {}
    return Study.create(path, space, objectives=objectives, sampler_options=options, max_trials=max_trials,
                        exist_ok=True, **extra)


def default_folder(command: Sequence[str], space: Space, objectives: list, sampler: str | None, make: bool) -> Path:
    """``.asktell/make-train-test-1f3a9c0e``: a readable slug of the command and a hash of the study's identity."""
    words = [Path(word).name for word in command]  # a path's last part: make-f-makefile, not make-f-home-...
    slug = re.sub(r"[^A-Za-z0-9]+", "-", " ".join(words)).strip("-").lower()[:SLUG_CHARS].strip("-") or "run"
    identity = json.dumps({"command": list(command), "space": space.to_spec(), "objectives": objectives,
                           "sampler": sampler, "make": make}, sort_keys=True)
    return Path(RUNS_DIR) / f"{slug}-{hashlib.sha256(identity.encode()).hexdigest()[:8]}"
