"""asktell: ask-and-tell optimization for pipelines that are not one Python process.

A study is a folder.  ``asktell ask`` writes a parameter set into it, the
pipeline's steps read it and write a result, ``asktell tell`` records the
result under a lock that holds across the hosts of a shared filesystem.

Names are imported on first use so that ``import asktell`` stays cheap for
every pipeline step that only needs ``load_params`` or ``save_result``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Study": "asktell.study",
    "AskedTrial": "asktell.study",
    "TellOutcome": "asktell.study",
    "Space": "asktell.space",
    "TrialRecord": "asktell.trial",
    "load_params": "asktell.pipeline",
    "save_result": "asktell.pipeline",
    "report": "asktell.pipeline",
    "AsktellError": "asktell.errors",
    "InvalidInput": "asktell.errors",
    "Exhausted": "asktell.errors",
    "StudyNotFound": "asktell.errors",
    "LockTimeout": "asktell.errors",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # "X as X": re-exported names, for type checkers and linters
    from .errors import AsktellError as AsktellError, Exhausted as Exhausted, InvalidInput as InvalidInput
    from .errors import LockTimeout as LockTimeout, StudyNotFound as StudyNotFound
    from .pipeline import load_params as load_params, report as report, save_result as save_result
    from .space import Space as Space
    from .study import AskedTrial as AskedTrial, Study as Study, TellOutcome as TellOutcome
    from .trial import TrialRecord as TrialRecord


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'asktell' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
