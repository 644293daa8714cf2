"""How ``asktell run`` hands a trial's parameters to the command it starts.

Three ways, all at once, so that any program can take them:

* placeholders: ``{lr}`` in an argument becomes the trial's value (a brace
  group that names no parameter stays as it is, so ``awk '{print $1}'``
  works); ``{ASKTELL_TRIAL_DIR}``, ``{ASKTELL_TRIAL}`` and ``{ASKTELL_STUDY}``
  work too;
* the environment: ``ASKTELL_TRIAL_DIR``, ``ASKTELL_TRIAL``, ``ASKTELL_STUDY``
  and one variable per parameter under its own name, where a character a
  shell cannot have in a variable name (``.`` and ``-``) becomes ``_``:
  ``model.depth`` is ``$model_depth``;
* with ``--make``, ``NAME=value`` arguments appended for make, the Hake way
  (names as given: make takes any of them; ``$`` doubled so make keeps it).

A parameter absent from a trial (its condition does not hold) is the empty
string in a placeholder, is removed from the environment (so a variable of
the caller's cannot stand in for it) and is not passed to make (so the
Makefile's default applies).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping, Sequence

from .errors import InvalidInput
from .space import Space, format_scalar
from .threads import without_pinned

TRIAL_VARIABLES = ("ASKTELL_TRIAL_DIR", "ASKTELL_TRIAL", "ASKTELL_STUDY")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.-]*)\}")


def env_name(name: str) -> str:
    """``model.depth`` -> ``model_depth``: the parameter's name as a shell can read it."""
    return re.sub(r"\W", "_", name)


class Invocation:
    """The command of a run, and the argv and environment it gets for one trial."""

    def __init__(self, command: Sequence[str], space: Space, make: bool = False) -> None:
        if not command:
            raise InvalidInput("give the command to run after --, e.g. asktell run STUDY -- ./train.sh {lr}",
                               field="COMMAND")
        self.command = tuple(command)
        self.names = list(space.params)
        self.make = make
        seen: dict[str, str] = {}
        for name in self.names:
            other = seen.setdefault(env_name(name), name)
            if other != name:
                raise InvalidInput(f"parameters '{other}' and '{name}' would share the environment variable "
                                   f"{env_name(name)}; rename one", field=f"space.{name}")

    def trial_values(self, params: Mapping, number: int, folder: Path, study: Path) -> dict[str, str]:
        """Every value a placeholder can name, as text; absent parameters are empty."""
        values = {name: format_scalar(params[name]) if name in params else "" for name in self.names}
        values.update(zip(TRIAL_VARIABLES, (str(folder), str(number), str(study))))
        return values

    def argv(self, params: Mapping, number: int, folder: Path, study: Path) -> list[str]:
        values = self.trial_values(params, number, folder, study)
        argv = [_PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), arg) for arg in self.command]
        if self.make:
            argv += [f"{name}={format_scalar(params[name]).replace('$', '$$')}" for name in self.names
                     if name in params]
        return argv

    def env(self, params: Mapping, number: int, folder: Path, study: Path,
            base: Mapping[str, str] | None = None) -> dict[str, str]:
        values = self.trial_values(params, number, folder, study)
        ours = {env_name(n) for n in self.names}
        env = {k: v for k, v in without_pinned(os.environ if base is None else base).items() if k not in ours}
        env.update({name: values[name] for name in TRIAL_VARIABLES})
        env.update({env_name(name): values[name] for name in self.names if name in params})
        return env
