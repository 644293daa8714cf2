"""Compaction: bring the snapshot and its segments up to date with the journal, in time that does not grow with the study.

A compaction starts from the snapshot's window (not from every trial),
replays the journal from the snapshot's offset, writes the trials finished
since into one new segment, merges segments that have grown alike, and
publishes a new snapshot.  Its cost is that of the events since the last
compaction plus the window; only the occasional merge copies more bytes (no
parsing), and merges double in size, so each trial is copied O(log n) times.

It runs outside the study lock -- it only reads the journal, which only
grows -- and every file it writes is published by rename, so a crash at any
instant leaves the previous snapshot (or none) in force; the journal, never
touched, stays the source of truth.  At most one process compacts at a time
(``CompactionClaim``).  Segments are deleted once neither the new snapshot
nor the one it replaced lists them: a reader still going through the
replaced snapshot finds its files, and one older than that falls back to a
second read (``Study.history``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .config import Objective
from .fileio import random_token
from .journal import Journal
from .lock import MkdirLock, host_identity, pid_alive, process_start
from .snapshot import Segment, merge_segments, read_snapshot, segments_dir, write_segment, write_snapshot
from .trial import WINDOW, History
from .window import window

#: Compact once the journal has grown by this many events past the snapshot.
REFRESH_EVENTS = 500
#: A claim older than this belongs to a process that died while compacting.
STALE_CLAIM_SECONDS = 120.0
#: The claim folder beside the snapshot, and what a claim is renamed to on its way out.
CLAIM_NAME = ".compacting"
RELEASED_CLAIM = ".released-"


@dataclass(frozen=True)
class Compaction:
    """What one compaction did."""

    seq: int
    added: int
    segments: int
    rebuilt: bool


def compact(snapshot_path: Path, journal: Journal, objectives: Sequence[Objective], rebuild: bool = False) -> Compaction:
    """Bring the snapshot up to the journal as it reads now; ``rebuild`` replays the journal from the start."""
    previous = None if rebuild else read_snapshot(snapshot_path, WINDOW)
    if previous is not None and not all(_intact(snapshot_path, s) for s in previous.segments):
        previous = None  # a segment deleted or changed by hand: start again from the journal
    if previous is not None:
        history, segments = previous.history, list(previous.segments)
        chunk = journal.read(history.offset)
        if chunk.events and chunk.events[0]["seq"] != history.last_seq + 1:
            previous = None  # the journal does not continue the snapshot: another study's cache
    if previous is None:
        history, segments = History(), []
        chunk = journal.read(0)
    already = {t.number for t in history.records.values() if t.finished}
    first = history.last_seq + 1
    history.consume(chunk)
    finished = history.finished()
    added = [t for t in finished if t.number not in already]
    if added:
        segments.append(write_segment(snapshot_path, first, history.last_seq, added))
        segments = _merge_alike(snapshot_path, segments)
    write_snapshot(snapshot_path, history, window(finished, objectives), segments)
    _sweep(snapshot_path, segments + (previous.segments if previous is not None else []))
    return Compaction(history.last_seq, len(added), len(segments), previous is None)


def _intact(snapshot_path: Path, segment: Segment) -> bool:
    try:
        return os.stat(segments_dir(snapshot_path) / segment.name).st_size == segment.size
    except OSError:
        return False


def _merge_alike(snapshot_path: Path, segments: list[Segment]) -> list[Segment]:
    """Merge the newest segment into the one before while it is at least half that one's size."""
    while len(segments) >= 2 and 2 * segments[-1].size >= segments[-2].size:
        segments[-2:] = [merge_segments(snapshot_path, segments[-2], segments[-1])]
    return segments


def _sweep(snapshot_path: Path, keep: Sequence[Segment]) -> None:
    """Delete segment files that no snapshot in use lists, and what killed compactions left behind."""
    folder = segments_dir(snapshot_path)
    names = {s.name for s in keep}
    leftovers = [path for path in folder.iterdir() if path.name not in names] if folder.is_dir() else []
    leftovers += snapshot_path.parent.glob(f".{snapshot_path.name}.tmp-*")
    for path in leftovers:
        if path.name.startswith(".") and time.time() - _mtime(path) < STALE_CLAIM_SECONDS:
            continue  # a temp file: maybe a write in progress
        try:
            path.unlink()
        except OSError:
            pass
    for claim in snapshot_path.parent.glob(f"{CLAIM_NAME}{RELEASED_CLAIM}*"):
        shutil.rmtree(claim, ignore_errors=True)


def _mtime(path: Path) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return time.time()


class CompactionClaim:
    """A non-blocking ``mkdir`` claim so that one process, not all of them, compacts.

    The claim holds an owner file (host identity and pid, as the study lock's
    does), so that a claim left by a compaction killed on this host is taken
    over at once instead of keeping every compaction -- automatic or
    ``asktell compact`` -- away for ``STALE_CLAIM_SECONDS``.  A claim from
    another host, or without an owner file, is judged by its age.  Two
    processes clearing one dead claim at the same instant may both compact:
    that costs work, not trials, since a snapshot is used only with every
    segment it lists.
    """

    def __init__(self, snapshot_path: Path) -> None:
        self.path = snapshot_path.with_name(CLAIM_NAME)
        self.owner_path = self.path / "owner"
        self.owner: dict | None = None
        self.held = False

    def __enter__(self) -> "CompactionClaim":
        try:
            self.path.parent.mkdir(exist_ok=True)
            if not self._take() and self._clear_if_abandoned():
                self._take()
        except OSError:
            pass
        return self

    def _take(self) -> bool:
        try:
            os.mkdir(self.path)
        except FileExistsError:
            return False
        self.held = True
        self.owner = {"identity": host_identity(), "pid": os.getpid(), "start": process_start(os.getpid())}
        # One plain write, no fsync: a claim stays without its owner (judged by age) for microseconds only.
        fd = os.open(self.owner_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, json.dumps(self.owner).encode())
        finally:
            os.close(fd)
        return True

    def _abandoned(self, owner: dict | None) -> bool:
        if owner is not None and owner.get("identity") == host_identity():
            return not pid_alive(int(owner.get("pid", -1)), owner.get("start"))
        return time.time() - _mtime(self.path) > STALE_CLAIM_SECONDS

    def _clear_if_abandoned(self) -> bool:
        """Remove a claim whose owner is gone; True if it was removed.

        Renamed away first, then checked again: a claim that changed hands
        since its owner was read is given back.
        """
        owner = MkdirLock.read_owner(self.owner_path)
        if not self._abandoned(owner):
            return False
        away = self._rename_away()
        if away is None:
            return False  # cleared by another process first
        if MkdirLock.read_owner(away / "owner") != owner:
            try:
                os.rename(away, self.path)
            except OSError:
                pass
            return False
        shutil.rmtree(away, ignore_errors=True)
        return True

    def _rename_away(self) -> Path | None:
        away = self.path.with_name(f"{CLAIM_NAME}{RELEASED_CLAIM}{random_token()}")
        try:
            os.rename(self.path, away)
        except OSError:
            return None
        return away

    def __exit__(self, *exc: object) -> None:
        if self.held and MkdirLock.read_owner(self.owner_path) in (self.owner, None):
            away = self._rename_away()
            if away is not None:
                shutil.rmtree(away, ignore_errors=True)
