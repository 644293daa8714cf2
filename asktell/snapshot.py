"""A cache of the replayed journal, so a call reads a few lines, not the whole history.

``cache/snapshot.jsonl`` holds the history up to a journal offset: a header
line (offset, seq, counters, the queue of enqueued parameter sets), then one line per *running* trial, then one
per finished trial.  A call that needs only the running trials and the
counters -- ``ask`` with a history-free sampler, ``tell`` -- reads the header
and the running lines and stops; then it reads the journal from the
snapshot's offset.  The cost of such a call no longer grows with the study.

It is only a cache: written atomically by whichever process finds it more
than ``REFRESH_EVENTS`` events behind, never under the study lock, readable
as JSON lines, and safe to delete.  A snapshot that does not continue
exactly into the journal (wrong seq at its offset, unreadable, another
format) is ignored and the journal is replayed from the start.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .fileio import write_atomic
from .trial import RUNNING, History, TrialRecord

SNAPSHOT_FORMAT = "asktell-snapshot/1"
#: Rewrite the snapshot once the journal has grown by this many events past it.
REFRESH_EVENTS = 500
#: A refresh claim older than this belongs to a process that died while refreshing.
STALE_CLAIM_SECONDS = 120.0

_FIELDS = ("number", "params", "asked_at", "host", "pid", "key", "state", "values", "constraints", "told_at", "told_by",
           "exit_code", "reason", "log_tail", "heartbeat_at", "queued", "retry_of", "retries", "intermediate")


def _encode(record: TrialRecord) -> str:
    return json.dumps({f: getattr(record, f) for f in _FIELDS if getattr(record, f) is not None},
                      separators=(",", ":"), ensure_ascii=False)


def _decode(line: bytes) -> TrialRecord:
    record = TrialRecord(**json.loads(line))
    if record.intermediate:  # JSON object keys are strings; steps are integers
        record.intermediate = {name: {int(step): value for step, value in steps.items()}
                               for name, steps in record.intermediate.items()}
    return record


def read_snapshot(path: Path, full: bool) -> History | None:
    """The cached history, with finished trials only if ``full``; None if absent or unusable."""
    try:
        with open(path, "rb") as f:
            header = json.loads(f.readline())
            if not isinstance(header, dict) or header.get("format") != SNAPSHOT_FORMAT:
                return None
            history = History(offset=header["offset"], last_seq=header["seq"], complete=full,
                              snapshot_seq=header["seq"])
            history.next_number = header["next"]
            history.queue = {int(seq): entry for seq, entry in header.get("queue", {}).items()}
            n_running, n_total = header["running"], header["trials"]
            lines = f.read().split(b"\n")[:-1] if full else [f.readline() for _ in range(n_running)]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if len(lines) != (n_total if full else n_running):
        return None  # cut short: a torn read of a file being replaced
    try:
        for line in lines:
            history.add(_decode(line))
    except (ValueError, TypeError):
        return None
    if not full:
        history.counts.update(header["counts"])
    return history


def write_snapshot(path: Path, history: History) -> None:
    """Publish a full history as the new snapshot."""
    records = history.trials
    running = [r for r in records if r.state == RUNNING]
    header = {"format": SNAPSHOT_FORMAT, "offset": history.offset, "seq": history.last_seq,
              "next": history.next_number, "counts": history.counts, "running": len(running),
              "trials": len(records), "queue": history.queue}
    lines = [json.dumps(header)] + [_encode(r) for r in running] + [_encode(r) for r in records if r.state != RUNNING]
    path.parent.mkdir(exist_ok=True)
    write_atomic(path, "\n".join(lines) + "\n")


class RefreshClaim:
    """A non-blocking ``mkdir`` claim so that one process, not all of them, rewrites the snapshot."""

    def __init__(self, snapshot_path: Path) -> None:
        self.path = snapshot_path.with_name(".refreshing")
        self.held = False

    def __enter__(self) -> "RefreshClaim":
        try:
            self.path.parent.mkdir(exist_ok=True)
            os.mkdir(self.path)
            self.held = True
        except FileExistsError:
            self._clear_if_abandoned()
        except OSError:
            pass
        return self

    def _clear_if_abandoned(self) -> None:
        try:
            if time.time() - os.stat(self.path).st_mtime > STALE_CLAIM_SECONDS:
                os.rmdir(self.path)
        except OSError:
            pass

    def __exit__(self, *exc: object) -> None:
        if self.held:
            try:
                os.rmdir(self.path)
            except OSError:
                pass
