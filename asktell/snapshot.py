"""The compacted study: a cache of the replayed journal, so a call reads a few lines, not the whole history.

``cache/snapshot.jsonl`` holds the history up to a journal offset:

* a header line: offset, seq, counters, the queue of enqueued parameter sets,
  and the list of segments;
* one line per *running* trial;
* one line per finished trial of the window (``asktell.window``).

``cache/segments/FIRST-LAST.jsonl`` hold every finished trial, one line per
trial: a segment holds the trials that finished between journal seqs FIRST
and LAST.  A segment is written once and never changed; compaction adds one
and merges the newest ones when they have grown as large as the one before
(so a study has O(log n) of them).

A call reads only as far as it needs: ``LIVE`` (``tell``, ``ask`` with a
history-free sampler) the header and the running lines; ``WINDOW`` (``ask``
with TPE, ``report``) the window too; ``ALL`` (``status``, plots) the running
lines and every segment.  Then it reads the journal from the snapshot's
offset.  Only an ``ALL`` read grows with the study.

It is only a cache: safe to delete, readable as JSON lines, written by
``asktell.compaction`` outside the study lock.  A snapshot that does not fit
(another format, cut short, a segment missing or of another size) is not
used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .fileio import write_atomic
from .trial import ALL, RUNNING, WINDOW, History, TrialRecord

SNAPSHOT_FORMAT = "asktell-snapshot/2"
SEGMENTS_DIR = "segments"

_FIELDS = ("number", "params", "asked_at", "host", "pid", "key", "state", "values", "constraints", "told_at", "told_by",
           "exit_code", "reason", "log_tail", "heartbeat_at", "queued", "retry_of", "retries", "intermediate")


@dataclass(frozen=True)
class Segment:
    """One immutable file of finished trials: those told between journal seqs ``first`` and ``last``."""

    first: int
    last: int
    trials: int
    size: int

    @property
    def name(self) -> str:
        return f"{self.first:012d}-{self.last:012d}.jsonl"

    def entry(self) -> list[int]:
        return [self.first, self.last, self.trials, self.size]


@dataclass
class Snapshot:
    """A loaded snapshot: the history it starts and the segments it lists."""

    history: History
    segments: list[Segment]


def encode_record(record: TrialRecord) -> bytes:
    data = {f: getattr(record, f) for f in _FIELDS if getattr(record, f) is not None}
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def decode_record(line: bytes) -> TrialRecord:
    record = TrialRecord(**json.loads(line))
    if record.intermediate:  # JSON object keys are strings; steps are integers
        record.intermediate = {name: {int(step): value for step, value in steps.items()}
                               for name, steps in record.intermediate.items()}
    return record


def segments_dir(snapshot_path: Path) -> Path:
    return snapshot_path.with_name(SEGMENTS_DIR)


def read_snapshot(path: Path, scope: str) -> Snapshot | None:
    """The cached history loaded in ``scope``; None if absent or unusable."""
    try:
        with open(path, "rb") as f:
            header = json.loads(f.readline())
            if not isinstance(header, dict) or header.get("format") != SNAPSHOT_FORMAT:
                return None
            history = History(offset=header["offset"], last_seq=header["seq"], scope=scope,
                              snapshot_seq=header["seq"])
            history.next_number = header["next"]
            history.queue = {int(seq): entry for seq, entry in header.get("queue", {}).items()}
            segments = [Segment(*entry) for entry in header["segments"]]
            wanted = header["running"] + (header["window"] if scope == WINDOW else 0)
            lines = [f.readline() for _ in range(wanted)]
        if not all(line.endswith(b"\n") for line in lines):
            return None  # cut short: a torn read of a file being replaced
        if scope == ALL:
            lines += _read_segments(segments_dir(path), segments)
            if len(lines) != header["running"] + header["finished"]:
                return None
        for line in lines:
            history.add(decode_record(line))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if scope != ALL:
        history.counts.update(header["counts"])
    return Snapshot(history, segments)


def _read_segments(folder: Path, segments: list[Segment]) -> list[bytes]:
    """Every line of the segments; ``ValueError`` if one is not the size the snapshot says."""
    lines: list[bytes] = []
    for segment in segments:
        data = (folder / segment.name).read_bytes()
        if len(data) != segment.size:
            raise ValueError(f"segment {segment.name} has {len(data)} bytes, not {segment.size}")
        lines.extend(data.split(b"\n")[:-1])
    return lines


def write_segment(snapshot_path: Path, first: int, last: int, records: list[TrialRecord]) -> Segment:
    """Publish a new segment of finished trials."""
    data = b"".join(encode_record(r) for r in records)
    folder = segments_dir(snapshot_path)
    folder.mkdir(parents=True, exist_ok=True)
    segment = Segment(first, last, len(records), len(data))
    write_atomic(folder / segment.name, data)
    return segment


def merge_segments(snapshot_path: Path, older: Segment, newer: Segment) -> Segment:
    """One segment holding both: their bytes, one after the other (records never change once finished)."""
    folder = segments_dir(snapshot_path)
    data = (folder / older.name).read_bytes() + (folder / newer.name).read_bytes()
    merged = Segment(older.first, newer.last, older.trials + newer.trials, len(data))
    write_atomic(folder / merged.name, data)
    return merged


def write_snapshot(path: Path, history: History, window: list[TrialRecord], segments: list[Segment]) -> None:
    """Publish the header, the running trials and ``window`` (finished trials, all of them in ``segments``)."""
    running = history.in_state(RUNNING)
    header = {"format": SNAPSHOT_FORMAT, "offset": history.offset, "seq": history.last_seq,
              "next": history.next_number, "counts": history.counts, "running": len(running),
              "window": len(window), "finished": sum(s.trials for s in segments),
              "segments": [s.entry() for s in segments], "queue": history.queue}
    path.parent.mkdir(exist_ok=True)
    write_atomic(path, json.dumps(header).encode() + b"\n" + b"".join(encode_record(r) for r in running + window))

