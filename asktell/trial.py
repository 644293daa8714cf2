"""Trial records and the replay of journal events into them.

``History`` is what any process rebuilds from the journal: every trial with
its state, parameters and values.  It is built incrementally -- ``apply``
takes the events of one ``Journal.read`` after another -- so that the part
read under the lock is only what was appended since the last look.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from .journal import Chunk

RUNNING = "running"
COMPLETE = "complete"
PRUNED = "pruned"
FAILED = "failed"
STATES = (RUNNING, COMPLETE, PRUNED, FAILED)
FINISHED_STATES = (COMPLETE, PRUNED, FAILED)
#: How much of a study a ``History`` holds: every trial; the running ones and a window of the finished
#: ones (``asktell.window``); the running ones only.
ALL, WINDOW, LIVE = "all", "window", "live"
#: Optional fields of a ``told`` event that say why a trial failed; kept as the event has them.
FAILURE_FIELDS = ("exit_code", "reason", "log_tail")


def now_iso() -> str:
    """UTC time with milliseconds, as every file of a study spells it."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def parse_iso(text: str) -> float:
    """Seconds since the epoch for a timestamp written by ``now_iso``."""
    from datetime import datetime, timezone  # ask and tell never parse times

    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=timezone.utc).timestamp()


def trial_folder_name(number: int) -> str:
    return f"{number:06d}"


@dataclass
class TrialRecord:
    """One trial as the journal tells it."""

    number: int
    params: dict
    asked_at: str
    host: str | None = None
    pid: int | None = None
    key: str | None = None
    state: str = RUNNING
    values: dict | None = None
    #: Constraint values from the result; feasible when every one is <= 0.
    constraints: dict | None = None
    told_at: str | None = None
    told_by: str | None = None
    #: Why a trial failed, as its runner (or the reaper) saw it: the command's exit code (when it exited
    #: by itself), a one-line reason and the last lines of its log.
    exit_code: int | None = None
    reason: str | None = None
    log_tail: str | None = None
    #: The last ``heartbeat`` or ``reported`` event while running: with ``asked_at``, its last sign of life.
    heartbeat_at: str | None = None
    #: Intermediate values reported while running: metric name -> step -> value, steps in report order.
    intermediate: dict[str, dict[int, float]] | None = None
    #: The ``enqueued`` event (its seq) this trial's parameters came from.
    queued: int | None = None
    #: The reaped trial whose parameters this one runs again, and how many runs of them came before.
    retry_of: int | None = None
    retries: int | None = None

    @property
    def finished(self) -> bool:
        return self.state != RUNNING

    @property
    def duration(self) -> float | None:
        """Seconds from ask to tell, or None while running."""
        if self.told_at is None:
            return None
        return parse_iso(self.told_at) - parse_iso(self.asked_at)

    def age(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - parse_iso(self.asked_at)

    def silence(self, now: float | None = None) -> float:
        """Seconds since the last sign of life: the last heartbeat, else the ask."""
        return (time.time() if now is None else now) - parse_iso(self.heartbeat_at or self.asked_at)

    def to_dict(self) -> dict:
        """The record as ``trial.yaml`` and ``asktell trials --format json`` show it."""
        data: dict = {"trial": self.number, "state": self.state, "params": self.params}
        if self.values is not None:
            data["values"] = self.values
        if self.constraints is not None:
            data["constraints"] = self.constraints
        data["asked_at"] = self.asked_at
        if self.told_at is not None:
            data["told_at"] = self.told_at
            data["duration_s"] = round(self.duration or 0.0, 3)
        if self.host is not None:
            data["host"] = self.host
        if self.key is not None:
            data["key"] = self.key
        for name in FAILURE_FIELDS:
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.retry_of is not None:
            data["retry_of"] = self.retry_of
        if self.intermediate:
            data["intermediate"] = {name: dict(steps) for name, steps in self.intermediate.items()}
        return data


class PartialHistory(RuntimeError):
    """A caller asked for finished trials of a history loaded without (all of) them."""


@dataclass
class History:
    """The state of a study replayed from its journal, up to byte ``offset``.

    A history may be *partial* (``scope``): loaded from the snapshot, it holds
    the running trials and the counters, and either no finished trial (``LIVE``:
    all that ``ask`` with a history-free sampler and ``tell`` of a running
    trial need) or the window of them that models and pruners read
    (``WINDOW``).  Its counters are the whole study's in any scope.
    """

    records: dict[int, TrialRecord] = field(default_factory=dict)
    next_number: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    offset: int = 0
    last_seq: int = -1
    #: Which trials were loaded (see class docstring).
    scope: str = ALL
    #: The seq the history was loaded at from a snapshot (-1: replayed from the start).
    snapshot_seq: int = -1
    #: Trial number of the newest loaded trial asked with each ``--key``.
    keys: dict[str, int] = field(default_factory=dict)
    #: Parameter sets enqueued and not yet handed out, by the seq of their ``enqueued`` event, oldest first.
    queue: dict[int, dict] = field(default_factory=dict)
    #: Events that contradict the ones before them (reported by ``asktell check``).
    anomalies: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every trial is loaded."""
        return self.scope == ALL

    def apply(self, events: Iterable[dict]) -> None:
        for event in events:
            seq = event["seq"]
            if seq != self.last_seq + 1:
                self.anomalies.append(f"event seq {seq} follows seq {self.last_seq} (lines lost or repeated)")
            self.last_seq = max(self.last_seq, seq)
            handler = _HANDLERS.get(event["event"])
            if handler is not None:
                handler(self, event)

    def consume(self, chunk: "Chunk") -> int:
        """Apply a journal chunk read from ``offset`` and move past it; return the journal's size."""
        self.apply(chunk.events)
        self.offset = chunk.end
        return chunk.size

    def add(self, record: TrialRecord) -> None:
        """Insert a record (replayed or loaded from a snapshot) and count it."""
        self.records[record.number] = record
        self.counts[record.state] += 1
        self.next_number = max(self.next_number, record.number + 1)
        if record.key is not None:
            self.keys[record.key] = record.number

    def _asked(self, event: dict) -> None:
        number = event["trial"]
        if number != self.next_number:
            self.anomalies.append(f"seq {event['seq']}: trial {number} asked, expected trial {self.next_number}")
            if number < self.next_number:
                return
        queued = event.get("queued")
        if queued is not None and self.queue.pop(queued, None) is None:
            self.anomalies.append(f"seq {event['seq']}: trial {number} took enqueued seq {queued}, "
                                  "which is not in the queue")
        self.add(TrialRecord(number=number, params=event["params"], asked_at=event["at"],
                             host=event.get("host"), pid=event.get("pid"), key=event.get("key"),
                             queued=queued, retry_of=event.get("retry_of"), retries=event.get("retries")))

    def _enqueued(self, event: dict) -> None:
        self.queue[event["seq"]] = {k: event[k] for k in ("params", "retry_of", "retries") if k in event}

    def _heartbeat(self, event: dict) -> None:
        record = self.records.get(event["trial"])
        if record is not None and not record.finished:
            record.heartbeat_at = event["at"]

    def _reported(self, event: dict) -> None:
        """An intermediate value; a step reported again replaces the earlier value (a resumed job)."""
        record = self.records.get(event["trial"])
        if record is None or record.finished:
            self.anomalies.append(f"seq {event['seq']}: a report for trial {event['trial']}, which is not running")
            return
        record.heartbeat_at = event["at"]
        record.intermediate = record.intermediate or {}
        for name, value in event["values"].items():
            record.intermediate.setdefault(name, {})[event["step"]] = value

    def _told(self, event: dict) -> None:
        number = event["trial"]
        record = self.records.get(number)
        if record is None:
            if not 0 <= number < self.next_number:
                self.anomalies.append(f"seq {event['seq']}: told trial {number}, which was never asked")
            elif self.complete:
                self.anomalies.append(f"seq {event['seq']}: told trial {number}, which is missing")
            else:  # a finished trial left out of a partial history: told twice
                self.anomalies.append(f"seq {event['seq']}: trial {number} told twice (first tell kept)")
            return
        if record.finished:
            self.anomalies.append(f"seq {event['seq']}: trial {number} told twice (first tell kept)")
            return
        self.counts[record.state] -= 1
        record.state = event["state"]
        record.values = event.get("values")
        record.constraints = event.get("constraints")
        record.told_at = event["at"]
        record.told_by = event.get("host")
        for name in FAILURE_FIELDS:
            setattr(record, name, event.get(name))
        self.counts[record.state] += 1

    # ---- queries
    @property
    def trials(self) -> list[TrialRecord]:
        """Every trial in number order (a full history only)."""
        if not self.complete:
            raise PartialHistory("this history was loaded without its finished trials")
        return [self.records[n] for n in sorted(self.records)]

    def finished(self) -> list[TrialRecord]:
        """The finished trials loaded, in number order: all of them, or a window of them (``WINDOW``)."""
        if self.scope == LIVE:
            raise PartialHistory("this history was loaded without its finished trials")
        return [self.records[n] for n in sorted(self.records) if self.records[n].finished]

    def get(self, number: int) -> TrialRecord | None:
        return self.records.get(number)

    def in_state(self, *states: str) -> list[TrialRecord]:
        """Trials in these states, in number order (running ones are in every history)."""
        if not self.complete and set(states) - {RUNNING}:
            raise PartialHistory("this history was loaded without its finished trials")
        return [self.records[n] for n in sorted(self.records) if self.records[n].state in states]

    def running_with_key(self, key: str) -> TrialRecord | None:
        number = self.keys.get(key)
        record = None if number is None else self.records.get(number)
        return record if record is not None and not record.finished else None


_HANDLERS = {"asked": History._asked, "told": History._told, "enqueued": History._enqueued,
             "heartbeat": History._heartbeat, "reported": History._reported}
