"""The pipeline side: what a train or evaluate step calls inside a trial folder.

``load_params`` and ``save_result`` need no study lock and no study at all --
only the trial folder, which ``asktell ask`` printed and ``asktell run``
exports as ``$ASKTELL_TRIAL_DIR`` (or the current folder, when it holds a
``params.yaml``).  ``report`` also needs the study around that folder
(``STUDY/trials/NNNNNN``): it appends to the journal under the lock.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from .errors import InvalidInput
from .fileio import FORMAT, dump_yaml, read_mapping, write_atomic
from .layout import PARAMS_NAME
from .results import RESULT_NAME, check_constraints, check_state, finite_number
from .trial import COMPLETE

TRIAL_DIR_VARIABLE = "ASKTELL_TRIAL_DIR"


def trial_dir(path: str | os.PathLike | None = None) -> Path:
    """The given folder, or ``$ASKTELL_TRIAL_DIR``, or the current folder if it holds a ``params.yaml``."""
    if path is None:
        path = os.environ.get(TRIAL_DIR_VARIABLE)
        if not path:
            if Path(PARAMS_NAME).is_file():
                return Path.cwd()
            raise InvalidInput(f"no trial folder given, ${TRIAL_DIR_VARIABLE} is not set and the current folder "
                               f"holds no {PARAMS_NAME}", field=TRIAL_DIR_VARIABLE)
    return Path(path)


def read_params_file(folder: Path) -> dict:
    """The whole ``params.yaml`` of a trial folder, checked for its required fields."""
    path = folder / PARAMS_NAME
    if not folder.is_dir():
        raise InvalidInput("no such trial folder", file=folder)
    data = read_mapping(path, "params file")
    params = data.get("params")
    if not isinstance(params, dict):
        raise InvalidInput("must be a mapping of parameter names to values", file=path, field="params", value=params)
    return data


def load_params(path: str | os.PathLike | None = None) -> dict:
    """The parameters of a trial, from ``params.yaml`` in its folder."""
    return read_params_file(trial_dir(path))["params"]


def save_result(values: float | Mapping[str, float] | None = None, *, path: str | os.PathLike | None = None,
                state: str = COMPLETE, constraints: Mapping[str, float] | None = None,
                attrs: Mapping[str, Any] | None = None, **named: float) -> Path:
    """Write ``result.yaml`` for ``asktell tell`` to pick up.

    ``save_result(0.12)`` for a single objective, ``save_result(loss=0.12,
    acc=0.97)`` or ``save_result({"loss": 0.12})`` for named ones.  Numbers
    are checked to be finite here, where the step that made them can still
    say why.  ``constraints`` (feasible when every one is <= 0) are read
    by samplers that handle them.
    """
    folder = trial_dir(path)
    target = folder / RESULT_NAME
    state = check_state(state, target)
    document: dict[str, Any] = {"format": FORMAT}
    if values is not None and named:
        raise InvalidInput("give the values either as one argument or by name, not both", file=target,
                           field="values", value=named)
    if isinstance(values, Mapping) or named:
        mapping = dict(values or named)
        document["values"] = {k: finite_number(v, target, f"values.{k}") for k, v in mapping.items()}
    elif values is not None:
        document["value"] = finite_number(values, target, "value")
    if state != COMPLETE:
        document["state"] = state
    if constraints is not None:
        document["constraints"] = check_constraints(constraints, target)
    if attrs:
        document["attrs"] = dict(attrs)
    if not folder.is_dir():
        raise InvalidInput("no such trial folder", file=folder)
    write_atomic(target, dump_yaml(document))
    return target


def report(step: int, value: float | None = None, *, path: str | os.PathLike | None = None,
           **named: float) -> bool:
    """Record an intermediate value of this trial; True when the study's pruner says it should stop.

    ``report(3, 0.41)`` gives the value of the objective the pruner watches;
    ``report(3, loss=0.41, acc=0.9)`` names metrics.  The trial folder is
    found as by ``load_params``; the study is the folder it lies in
    (``STUDY/trials/NNNNNN``).  On True, stop and tell the trial pruned
    (``asktell tell STUDY TRIAL --state pruned`` records the last value).
    """
    from .study import Study

    folder = trial_dir(path).resolve()
    number = read_params_file(folder)["trial"]
    study = Study.open(folder.parent.parent)
    if study.trial_dir(number).resolve() != folder:
        raise InvalidInput(f"not the folder of trial {number} of the study around it", file=folder)
    if value is not None and named:
        raise InvalidInput("give the value either as one argument or by name, not both", field="values", value=named)
    _, history = study.report(number, step, value if value is not None else named)
    return study.should_prune(number, history) is not None
