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

from .errors import CorruptStudy, UnsafeFilesystem

STALE_VIEW_HINT = ("The mount serves a stale view of the study; on sshfs mount with "
                   "-o cache=no,attr_timeout=0,entry_timeout=0 (see docs/design.md, 'Filesystems')")

JOURNAL_NAME = "journal.jsonl"


class StaleJournal(UnsafeFilesystem):
    """The journal is not the size this process read under the lock; nothing was written."""


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

    #: True when the file was longer than what could be read: a stale view of a network mount.
    short: bool = False

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
        """Every complete line from ``offset`` on, from a freshly opened file.

        Reads exactly up to the size ``fstat`` reports.  A mount with stale
        caches can return fewer bytes than that (seen on sshfs with default
        options); the chunk then says so in ``short``.
        """
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            raise CorruptStudy("the journal is missing", file=self.path) from None
        try:
            size = os.fstat(fd).st_size
            parts = []
            position = offset
            while position < size:
                part = os.pread(fd, size - position, position)
                if not part:
                    break
                parts.append(part)
                position += len(part)
        finally:
            os.close(fd)
        chunk = parse_lines(b"".join(parts), offset)
        chunk.short = position < size
        return chunk

    def append(self, events: list[dict], expected_size: int) -> int:
        """Write ``events`` at the end in one write, fsync, and return the new size.

        ``expected_size`` is how many bytes the caller has read under the lock
        (complete lines plus any torn tail).  Nobody else writes while the lock
        is held, so a file of any other size is served stale by the mount (or
        was changed by hand): refuse rather than write where lines may be.
        """
        fd = os.open(self.path, os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            if size != expected_size:
                raise StaleJournal(f"the journal has {size} bytes but {expected_size} were read under the lock",
                                   file=self.path)
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
