"""Validate every file a study holds against the JSON Schemas in schemas/.

Tests call ``assert_study_files_valid`` after anything that writes a study,
so a writer that drifts from the published format fails a test at once.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@lru_cache(maxsize=None)
def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_problems(name: str, document: object) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in _validator(name).iter_errors(document)]


def journal_events(study: Path) -> list[dict]:
    """Every complete line of the journal (a torn final line is not an event)."""
    lines = (study / "journal.jsonl").read_bytes().split(b"\n")[:-1]
    return [json.loads(line) for line in lines if line]


def assert_study_files_valid(study: Path, allow_torn: bool = False) -> int:
    """Check study.yaml, each journal line, journal.head and each trial file; return how many files were checked.

    The head must be one 64-byte line that records the journal's size and last
    seq exactly: nothing is in flight when the tests call this.
    """
    problems: list[str] = []
    checked = 0

    def check(name: str, path: Path, document: object) -> None:
        nonlocal checked
        checked += 1
        problems.extend(f"{path}: {p}" for p in schema_problems(name, document))

    config = yaml.safe_load((study / "study.yaml").read_text())
    check("study", study / "study.yaml", config)
    copy = study / "cache" / "study.json"
    if copy.exists():
        document = json.loads(copy.read_text())
        check("study-copy", copy, document)
        check("study", copy, document.get("study"))
    journal = (study / "journal.jsonl").read_bytes()
    last_seq = None
    for line in journal.split(b"\n")[:-1]:
        if not line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            if not allow_torn:
                problems.append(f"journal: unparseable line {line[:60]!r}")
            continue
        check("event", study / "journal.jsonl", event)
        last_seq = event.get("seq")
    head = (study / "journal.head").read_bytes()
    if len(head) != 64 or not head.endswith(b"\n"):
        problems.append(f"journal.head: not one 64-byte line: {head!r}")
    else:
        record = json.loads(head)
        check("head", study / "journal.head", record)
        if (record.get("size"), record.get("seq")) != (len(journal), last_seq):
            problems.append(f"journal.head: {head.strip()!r}, but the journal has {len(journal)} bytes "
                            f"up to seq {last_seq}")
    snapshot = study / "cache" / "snapshot.jsonl"
    if snapshot.exists():
        header, *lines = snapshot.read_bytes().split(b"\n")[:-1]
        check("snapshot", snapshot, json.loads(header))
        for line in lines:
            check("record", snapshot, json.loads(line))
    for segment in sorted((study / "cache" / "segments").glob("[0-9]*.jsonl")):
        for line in segment.read_bytes().split(b"\n")[:-1]:
            check("record", segment, json.loads(line))
    for folder in sorted((study / "trials").iterdir()):
        for name in ("params", "result", "trial"):
            path = folder / f"{name}.yaml"
            if path.exists():
                check(name, path, yaml.safe_load(path.read_text()))
    assert not problems, "\n".join(problems)
    return checked
