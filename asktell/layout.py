"""Where each file of a study lives, and the readable mirrors written beside the journal.

``params.yaml`` and ``trial.yaml`` are written after the journal event they
mirror, outside the lock.  A crash between the two leaves the journal right
and the mirror missing; ``asktell check`` reports it and the next ``ask --key``
or repeated ``tell`` writes it again.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from .fileio import FORMAT, dump_yaml, write_atomic
from .trial import TrialRecord, trial_folder_name

CONFIG_NAME = "study.yaml"
JOURNAL_NAME = "journal.jsonl"
HEAD_NAME = "journal.head"
TRIALS_DIR = "trials"
PARAMS_NAME = "params.yaml"
TRIAL_NAME = "trial.yaml"
#: ``asktell run`` keeps each trial's ``stdout.log`` and ``stderr.log`` here, in the trial folder.
LOGS_NAME = "logs"


class StudyLayout:
    """Paths inside one study folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.config = self.root / CONFIG_NAME
        self.journal = self.root / JOURNAL_NAME
        self.head = self.root / HEAD_NAME
        self.trials = self.root / TRIALS_DIR
        self.snapshot = self.root / "cache" / "snapshot.jsonl"
        self.config_copy = self.root / "cache" / "study.json"

    def trial_dir(self, number: int) -> Path:
        return self.trials / trial_folder_name(number)

    def params_file(self, number: int) -> Path:
        return self.trial_dir(number) / PARAMS_NAME

    def trial_file(self, number: int) -> Path:
        return self.trial_dir(number) / TRIAL_NAME


def params_document(study_name: str, record: TrialRecord) -> dict:
    """What ``params.yaml`` holds: enough for a pipeline step to run without the study."""
    data = {"format": FORMAT, "study": study_name, "trial": record.number, "params": record.params,
            "asked_at": record.asked_at, "host": record.host or socket.gethostname()}
    if record.key is not None:
        data["key"] = record.key
    return data


def trial_document(study_name: str, record: TrialRecord) -> dict:
    return {"format": FORMAT, "study": study_name, **record.to_dict()}


def write_params(layout: StudyLayout, study_name: str, record: TrialRecord) -> Path:
    folder = layout.trial_dir(record.number)
    os.makedirs(folder, exist_ok=True)
    write_atomic(folder / PARAMS_NAME, dump_yaml(params_document(study_name, record)))
    return folder


def write_trial(layout: StudyLayout, study_name: str, record: TrialRecord) -> None:
    folder = layout.trial_dir(record.number)
    os.makedirs(folder, exist_ok=True)
    write_atomic(folder / TRIAL_NAME, dump_yaml(trial_document(study_name, record)))
