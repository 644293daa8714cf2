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

``journal.head`` says how far the journal reached after the last append: a
fixed-size record rewritten in place right after it.  A mount may serve the
journal's size stale (sshfs with default options: up to 0.7 s, and the read
agrees with the stale size), but the head's size never changes, and its
content was read afresh on every open (measured on sshfs, not promised by it).
A journal that reads shorter or older than the head is a stale view, and
nothing is decided from it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CorruptStudy, UnsafeFilesystem
from .fileio import FORMAT, write_atomic

STALE_VIEW_HINT = ("The mount serves a stale view of the study; on sshfs mount with "
                   "-o cache=no,attr_timeout=0,entry_timeout=0 (see docs/design.md, 'Filesystems')")

#: The head's length: one write of it is one page, and 63 bytes hold the record with 26 digits
#: for size and seq together (a journal of 10^13 bytes).
HEAD_BYTES = 64


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

    #: Why this read is a stale view of a network mount and must not be acted on ("" if it is not).
    stale: str = ""

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


@dataclass(frozen=True)
class Head:
    """What ``journal.head`` records: the journal's size and last seq after the last append."""

    size: int
    seq: int

    def line(self) -> str:
        """The record as stored: JSON padded with spaces to ``HEAD_BYTES``, newline included."""
        record = json.dumps({"format": FORMAT, "size": self.size, "seq": self.seq}, separators=(",", ":"))
        return record.ljust(HEAD_BYTES - 1) + "\n"

    @classmethod
    def parse(cls, data: bytes) -> "Head | None":
        """The head ``data`` holds, or None unless it is one whole record (torn, or not asktell's)."""
        if len(data) != HEAD_BYTES or not data.endswith(b"\n"):
            return None
        try:
            record = json.loads(data)
        except ValueError:
            return None
        if not isinstance(record, dict):
            return None
        size, seq = record.get("size"), record.get("seq")
        if not all(type(v) is int and v >= 0 for v in (size, seq)):  # type(): a bool is no size
            return None
        return cls(size, seq)

    def ahead_of(self, size: int, seq: int) -> bool:
        """Whether a journal read as ``size`` bytes up to ``seq`` lacks what this head records."""
        return self.size > size or self.seq > seq


class Journal:
    """Reading and appending ``journal.jsonl`` and its head; appending requires the caller to hold the lock."""

    def __init__(self, path: Path, head_path: Path) -> None:
        self.path = Path(path)
        self.head_path = Path(head_path)

    def read(self, offset: int = 0) -> Chunk:
        """Every complete line from ``offset`` on, from a freshly opened file.

        Reads exactly up to the size ``fstat`` reports.  A mount with stale
        caches can return fewer bytes than that (seen on sshfs with default
        options); the chunk then says so in ``stale``.
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
        if position < size:
            chunk.stale = f"reads of the journal stop at byte {position} of {size}"
        return chunk

    def read_locked(self, offset: int, last_seq: int) -> Chunk:
        """Under the lock: ``read(offset)``, checked against the head.

        ``last_seq`` is the seq of the last event before ``offset``.  A journal
        that reads shorter or older than the head is a stale view (``stale``
        says so).  One that reads longer is not: its writer stopped between
        the append and the head, and the next append rewrites the head.  A
        missing or unreadable head (a study from before the head, a create or
        a head write cut short) is written from this read.
        """
        head = self.read_head()
        chunk = self.read(offset)
        seq = chunk.events[-1]["seq"] if chunk.events else last_seq
        if chunk.stale:
            return chunk
        if head is None:
            self._publish_head(Head(chunk.size, seq))
        elif head.ahead_of(chunk.size, seq):
            chunk.stale = (f"the journal reads as {chunk.size} bytes up to seq {seq}, but {self.head_path.name} "
                           f"records {head.size} bytes up to seq {head.seq}")
        return chunk

    def read_head(self) -> Head | None:
        """The head, from a fresh open; None if it is missing or not one whole record."""
        try:
            fd = os.open(self.head_path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            return Head.parse(os.pread(fd, HEAD_BYTES + 1, 0))
        finally:
            os.close(fd)

    def append(self, events: list[dict], expected_size: int) -> int:
        """Write ``events`` at the end in one write, fsync, update the head, and return the new size.

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
        finally:
            os.close(fd)
        self._write_head(Head(size + written, events[-1]["seq"]))
        return size + written

    def _write_head(self, head: Head) -> None:
        """Rewrite the head in place: one ``pwrite`` of the whole record at offset 0, then fsync.

        In place, not by rename: the file keeps its size, so no mount ever
        caches a size for it that its content outgrew.
        """
        fd = os.open(self.head_path, os.O_RDWR)
        try:
            os.pwrite(fd, head.line().encode(), 0)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _publish_head(self, head: Head) -> None:
        """Start the head as a whole file (by rename), so that no mount ever sees it empty."""
        write_atomic(self.head_path, head.line())

    def create(self, first_event: dict) -> None:
        """Start a new journal and its head; fails if a journal exists (two racing ``create`` calls)."""
        line = encode(first_event)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._publish_head(Head(len(line), first_event["seq"]))
