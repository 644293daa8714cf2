"""``asktell export``: a study's trials as files other tools read (pandas, a spreadsheet, jq).

The files hold exactly what ``asktell trials --format ...`` prints, so there
is one rendering to trust; each is published atomically, so a reader never
sees half of one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .config import StudyConfig
from .errors import InvalidInput
from .fileio import write_atomic
from .output import render_trials
from .trial import TrialRecord

#: File name -> the ``asktell trials`` format written into it.
EXPORTS = {"trials.csv": "csv", "trials.jsonl": "jsonl", "trials.json": "json"}


def export_trials(records: Sequence[TrialRecord], config: StudyConfig, folder: Path) -> list[Path]:
    """Write every format of ``EXPORTS`` into ``folder`` (created if missing); return the paths written."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InvalidInput("exists and is not a folder", file=folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fmt in EXPORTS.items():
        write_atomic(folder / name, render_trials(records, config, fmt))
        written.append(folder / name)
    return written
