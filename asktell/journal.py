"""The study's event log: ``journal.jsonl``, the single source of truth.

One JSON object per line, each with a sequence number ``seq`` (0, 1, 2, ...),
a string ``event`` name and a UTC timestamp ``at``.  Lines are appended only
under the study lock, by a file descriptor opened after the lock was taken,
in one ``write`` followed by ``fsync`` and ``close`` before the lock is
released (close-to-open consistency on NFS).  ``O_APPEND`` is not used: it
lost lines between two hosts of one share.

Because the file only grows, the bytes before any offset a reader has seen
never change.  A reader therefore parses the bulk of the journal *outside*
the lock and, once it holds the lock, reads only the few bytes appended since
(``read(offset)``): the lock is held for milliseconds however long the study.

A line cut short by a crash (power loss, a host dying mid-write) is skipped by
readers and reported by ``asktell check``; the next writer first ends it with
a newline so that it can never glue onto a good line.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CorruptStudy

JOURNAL_NAME = "journal.jsonl"


@dataclass
class TornLine:
    """A line that is not a complete event: where it starts and how it begins."""

    offset: int
    excerpt: str


@dataclass
class Chunk:
    """Events read from ``start`` up to ``end``, the offset after the last complete line."""

    start: int
    end: int
    events: list[dict] = field(default_factory=list)
    torn: list[TornLine] = field(default_factory=list)
    #: Bytes after ``end`` that do not yet end in a newline (a write in progress, or a torn tail).
    partial_tail: int = 0

    @property
    def size(self) -> int:
        """The journal's size as this read saw it."""
        return self.end + self.partial_tail


def encode(event: dict) -> bytes:
    """One journal line; NaN and infinity are refused, as JSON has no spelling for them."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode() + b"\n"


def parse_lines(data: bytes, start: int) -> Chunk:
    """Split ``data`` (read from offset ``start``) into events and torn lines."""
    chunk = Chunk(start=start, end=start)
    offset = start
    loads = json.loads
    for line in data.split(b"\n")[:-1]:
        line_start = offset
        offset += len(line) + 1
        if not line:
            continue
        try:
            event = loads(line)
        except ValueError:
            event = None
        if isinstance(event, dict) and isinstance(event.get("seq"), int) and isinstance(event.get("event"), str):
            chunk.events.append(event)
        else:
            chunk.torn.append(TornLine(line_start, line[:60].decode(errors="replace")))
    chunk.end = offset
    chunk.partial_tail = start + len(data) - offset
    return chunk


class Journal:
    """Reading and appending ``journal.jsonl``; appending requires the caller to hold the lock."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def read(self, offset: int = 0) -> Chunk:
        """Every complete line from ``offset`` on, from a freshly opened file."""
        try:
            with open(self.path, "rb") as f:
                if offset:
                    f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            raise CorruptStudy("the journal is missing", file=self.path) from None
        return parse_lines(data, offset)

    def append(self, events: list[dict], expected_size: int) -> int:
        """Write ``events`` at the end in one write, fsync, and return the new size.

        ``expected_size`` is how many bytes the caller has read under the lock
        (complete lines plus any torn tail).  A file that is now shorter was
        truncated or is served stale by the mount: refuse rather than write
        over lines we cannot see.
        """
        fd = os.open(self.path, os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            if size < expected_size:
                raise CorruptStudy(
                    f"the journal shrank from {expected_size} to {size} bytes while the lock was held; "
                    "the mount may serve stale data (see docs/design.md, 'Filesystems')", file=self.path)
            payload = b"".join(encode(e) for e in events)
            if size and os.pread(fd, 1, size - 1) != b"\n":
                payload = b"\n" + payload  # end a torn line left by a crashed writer
            written = os.pwrite(fd, payload, size)
            if written != len(payload):
                raise OSError(f"short write to {self.path}: {written} of {len(payload)} bytes")
            os.fsync(fd)
            return size + written
        finally:
            os.close(fd)

    def create(self, first_event: dict) -> None:
        """Start a new journal; fails if one exists (two racing ``create`` calls)."""
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, encode(first_event))
            os.fsync(fd)
        finally:
            os.close(fd)
