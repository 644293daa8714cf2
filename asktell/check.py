"""``asktell check``: read every file of a study and say what is wrong with it.

Findings come in two levels.  *Errors* mean the study is not what asktell
wrote: a file that fails its JSON Schema, journal lines lost or repeated, a
mirror (``params.yaml``, ``trial.yaml``) that contradicts the journal, a
``journal.head`` ahead of the journal (lines lost, or a stale view).
*Warnings* are the expected traces of interrupted work: a torn final line
from a writer that died mid-write, a mirror not yet written because its
writer was killed, a head missing, torn or behind the journal (the next
write repairs it), an orphan folder, a trial running for too long.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .config import read_config_copy, source_of
from .errors import AsktellError
from .fileio import parse_yaml
from .journal import HEAD_BYTES, Chunk, Head, Journal
from .layout import PARAMS_NAME, TRIAL_NAME, StudyLayout, params_document, trial_document
from .lock import RELEASED_PREFIX, STALE_PREFIX, MkdirLock
from .output import format_duration
from .results import RESULT_NAME, read_result
from .snapshot import read_snapshot
from .study import Study
from .trial import ALL, WINDOW, History

SCHEMA_DIR = Path(__file__).parent / "schemas"


@dataclass(frozen=True)
class Finding:
    level: str  # "error" or "warning"
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


@lru_cache(maxsize=None)
def validator(name: str) -> Any:
    """A JSON Schema validator for ``schemas/NAME.schema.json`` (jsonschema imported on first use)."""
    import jsonschema

    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


@lru_cache(maxsize=None)
def event_validator(kind: object) -> Any:
    """The validator of one kind of journal event, else of any event.

    Checking an event against its own branch of the schema's ``oneOf``, not
    against every branch, makes ``check`` of a large journal ~10x faster.
    """
    import jsonschema

    schema = json.loads((SCHEMA_DIR / "event.schema.json").read_text())
    for branch in schema["oneOf"]:
        if branch["properties"]["event"].get("const") == kind:
            return jsonschema.Draft202012Validator({"$schema": schema["$schema"], **branch})
    return validator("event")


def schema_errors(name: str, document: Any) -> list[str]:
    """Readable violations of the schema ``name``: ``field.path: message``."""
    return readable_errors(validator(name), document)


def readable_errors(checker: Any, document: Any) -> list[str]:
    """The violations ``checker`` (a jsonschema validator) finds, as ``field.path: message``, in path order."""
    errors = sorted(checker.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}" for e in errors]


class StudyChecker:
    def __init__(self, path: Path, max_age: float | None = None) -> None:
        self.layout = StudyLayout(path)
        self.journal = Journal(self.layout.journal, self.layout.head)
        self.max_age = max_age
        self.findings: list[Finding] = []

    def error(self, where: object, message: str) -> None:
        self.findings.append(Finding("error", str(where), message))

    def warn(self, where: object, message: str) -> None:
        self.findings.append(Finding("warning", str(where), message))

    def run(self) -> list[Finding]:
        study = Study.open(self.layout.root)  # raises StudyNotFound / InvalidInput for a broken study.yaml
        self._check_config_copy(self._check_yaml(self.layout.config, "study"))
        history = self._check_journal(study)
        if history is not None:
            self._check_trials(study, history)
        self._check_lock_leftovers()
        return self.findings

    def _load(self, path: Path) -> Any:
        try:
            return parse_yaml(path.read_text(), path)
        except AsktellError as exc:
            self.error(path, exc.message)
        except (OSError, UnicodeDecodeError) as exc:
            self.error(path, f"unreadable: {exc}")
        return None

    def _check_yaml(self, path: Path, schema: str) -> Any:
        document = self._load(path)
        if document is not None:
            for problem in schema_errors(schema, document):
                self.error(path, problem)
        return document

    def _check_config_copy(self, config: Any) -> None:
        """``cache/study.json`` must say what ``study.yaml`` says: calls read the copy."""
        copy = read_config_copy(self.layout.config_copy, source_of(self.layout.config))
        if copy is not None and copy != config:
            self.error(self.layout.config_copy, "differs from the study.yaml it claims to copy (delete it)")

    def _check_journal(self, study: Study) -> History | None:
        head = self._check_head()  # read first: a writer at work now can make it lag, never lead
        try:
            chunk = self.journal.read(0)
        except AsktellError as exc:
            self.error(self.layout.journal, exc.message)
            return None
        for torn in chunk.torn:
            self.warn(self.layout.journal, f"torn line at byte {torn.offset} (an interrupted write, ignored): "
                                           f"{torn.excerpt!r}")
        if chunk.partial_tail:
            self.warn(self.layout.journal, f"the last {chunk.partial_tail} bytes are an unfinished line "
                                           "(a write in progress or interrupted; ignored)")
        if not chunk.events or chunk.events[0]["event"] != "created":
            self.error(self.layout.journal, "the first event is not 'created'")
        for event in chunk.events:
            for problem in readable_errors(event_validator(event.get("event")), event):
                self.error(self.layout.journal, f"seq {event.get('seq')}: {problem}")
            if event["event"] == "told" and "values" in event:
                unknown = set(event["values"]) - {o.name for o in study.config.objectives}
                if unknown:
                    self.error(self.layout.journal, f"seq {event['seq']}: values for unknown objectives {sorted(unknown)}")
        history = History()
        history.consume(chunk)
        for anomaly in history.anomalies:
            self.error(self.layout.journal, anomaly)
        if head is not None:
            self._compare_head(head, chunk.size, history.last_seq)
        self._check_snapshot(chunk)
        return history

    def _check_head(self) -> Head | None:
        """``journal.head`` as read, if it is one whole record that matches its schema."""
        path = self.layout.head
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self.warn(path, "missing (a study from an older asktell, or an interrupted create); "
                            "the next ask or tell writes it")
            return None
        head = Head.parse(data)
        if head is None:
            self.warn(path, f"not one {HEAD_BYTES}-byte record (an interrupted write?): {data[:60]!r}; "
                            "the next ask or tell rewrites it from the journal")
            return None
        for problem in schema_errors("head", json.loads(data)):
            self.error(path, problem)
        return head

    def _compare_head(self, head: Head, size: int, seq: int) -> None:
        where = f"records {head.size} bytes up to seq {head.seq}, the journal has {size} bytes up to seq {seq}"
        if head.ahead_of(size, seq):
            self.error(self.layout.head, f"{where}: journal lines were lost, or this mount serves a stale "
                                         "view (see docs/design.md, 'Filesystems')")
        elif (head.size, head.seq) != (size, seq):
            self.warn(self.layout.head, f"{where}: a writer stopped between its journal append and this "
                                        "file (or is between them now); the next ask or tell rewrites it")

    def _check_snapshot(self, chunk: Chunk) -> None:
        """The snapshot -- its running trials, its window and its segments -- must equal a replay of the journal.

        Each scope is compared at the seq its own read found: a compaction may
        publish between the two reads, or after the journal was read (the
        events appended since are read then: a live study is no error).
        """
        path = self.layout.snapshot
        if not path.exists():
            return
        loaded = [read_snapshot(path, scope) for scope in (ALL, WINDOW)]
        if None in loaded:
            self.warn(path, "unreadable, of another format or missing a segment; it is ignored and rebuilt by "
                            "'asktell compact --rebuild' (safe to delete with cache/segments)")
            return
        events = chunk.events
        if max(s.history.last_seq for s in loaded) > (events[-1]["seq"] if events else -1):
            events = events + self.journal.read(chunk.end).events
        for snapshot in loaded:
            history = snapshot.history
            seq = history.last_seq
            replay = History()
            replay.apply(e for e in events if e["seq"] <= seq)
            if replay.last_seq != seq:
                self.error(path, f"claims journal seq {seq}, but the journal ends at {replay.last_seq}")
                return
            if history.next_number != replay.next_number or history.counts != replay.counts:
                self.error(path, "its counters differ from the journal (run 'asktell compact --rebuild')")
                return
            for number in range(replay.next_number) if history.complete else sorted(history.records):
                if replay.get(number) != history.get(number):
                    self.error(path, f"trial {number} differs from the journal (run 'asktell compact --rebuild')")
                    return
            if replay.queue != history.queue:
                self.error(path, "the queue of enqueued parameters differs from the journal "
                                 "(run 'asktell compact --rebuild')")
                return

    def _check_trials(self, study: Study, history: History) -> None:
        name = study.config.name
        now = time.time()
        for record in history.trials:
            folder = self.layout.trial_dir(record.number)
            params_path = folder / PARAMS_NAME
            if params_path.exists():
                self._check_mirror(params_path, "params", params_document(name, record), ("trial", "params", "key"))
            elif not record.finished:
                self.warn(params_path, "missing: the process that asked this trial died before writing it "
                                       "(the trial stays running until told)")
            else:
                self.warn(params_path, "missing (the trial is finished, so nothing needs it)")
            trial_path = folder / TRIAL_NAME
            if not record.finished and trial_path.exists():
                self._catch_up(history)  # told since the journal was read: a live study is no error
            if record.finished:
                if trial_path.exists():
                    self._check_mirror(trial_path, "trial", trial_document(name, record),
                                       ("trial", "state", "params", "values"))
                else:
                    self.warn(trial_path, "missing: the process that told this trial died before writing it "
                                          "(tell it again to rewrite it)")
            elif trial_path.exists():
                self.error(trial_path, "exists but the journal says the trial is still running")
            elif self.max_age is not None and record.silence(now) > self.max_age:
                self.warn(folder, f"no sign of life for {format_duration(record.silence(now))}, longer than "
                                  f"{format_duration(self.max_age)} (host {record.host}, pid {record.pid}); "
                                  "`asktell reap` marks it failed")
            result_path = folder / RESULT_NAME
            if result_path.exists():
                document = self._load(result_path)
                problems = schema_errors("result", document) if document is not None else []
                for problem in problems:
                    self.warn(result_path, f"not a valid result file: {problem}")
                if document is not None and not problems:
                    try:
                        read_result(result_path, study.config.objectives)
                    except AsktellError as exc:
                        self.warn(result_path, f"not a valid result file: {exc}")
        self._check_orphans(history)

    def _catch_up(self, history: History) -> None:
        """Apply the events appended since ``history`` was read (trial files are read later)."""
        history.consume(self.journal.read(history.offset))

    def _check_mirror(self, path: Path, schema: str, expected: dict, fields: tuple[str, ...]) -> None:
        document = self._check_yaml(path, schema)
        if not isinstance(document, dict):
            return
        for field in fields:
            if document.get(field) != expected.get(field):
                self.error(path, f"field '{field}' is {document.get(field)!r} but the journal says "
                                 f"{expected.get(field)!r}")

    def _check_orphans(self, history: History) -> None:
        if not self.layout.trials.is_dir():
            self.error(self.layout.trials, "the trials folder is missing")
            return
        for entry in sorted(self.layout.trials.iterdir()):
            if entry.name.startswith("."):
                if ".tmp-" in entry.name:
                    self.warn(entry, "temporary file of an interrupted write (safe to delete)")
                continue
            number = int(entry.name) if re.fullmatch(r"\d{6,}", entry.name) else None
            if number is not None and history.get(number) is None:
                self._catch_up(history)  # asked since the journal was read
            if number is None or history.get(number) is None:
                self.warn(entry, "orphan: no trial of this name in the journal")
            else:
                for leftover in entry.glob(".*.tmp-*"):
                    self.warn(leftover, "temporary file of an interrupted write (safe to delete)")

    def _check_lock_leftovers(self) -> None:
        root = self.layout.root
        for prefix in (RELEASED_PREFIX, STALE_PREFIX):
            for leftover in sorted(root.glob(prefix + "*")):
                self.warn(leftover, "an old lock folder whose removal was interrupted (safe to delete)")
        for leftover in sorted(root.glob(".*.tmp-*")):
            self.warn(leftover, "temporary file of an interrupted write (safe to delete)")
        lock = MkdirLock(root)
        if lock.path.exists():
            owner = lock.read_owner(lock.owner_path)
            if lock.holder_gone(owner):
                self.warn(lock.path, "held by a process that is gone; the next writer breaks it")


def check_study(path: Path, max_age: float | None = None) -> list[Finding]:
    return StudyChecker(path, max_age).run()
