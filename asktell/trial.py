"""Trial records and the replay of journal events into them.

``History`` is what any process rebuilds from the journal: every trial with
its state, parameters and values.  It is built incrementally -- ``apply``
takes the events of one ``Journal.read`` after another -- so that the part
read under the lock is only what was appended since the last look.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable

RUNNING = "running"
COMPLETE = "complete"
PRUNED = "pruned"
FAILED = "failed"
STATES = (RUNNING, COMPLETE, PRUNED, FAILED)
FINISHED_STATES = (COMPLETE, PRUNED, FAILED)


def now_iso() -> str:
    """UTC time with milliseconds, as every file of a study spells it."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def parse_iso(text: str) -> float:
    """Seconds since the epoch for a timestamp written by ``now_iso``."""
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
    told_at: str | None = None
    told_by: str | None = None

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

    def to_dict(self) -> dict:
        """The record as ``trial.yaml`` and ``asktell trials --format json`` show it."""
        data: dict = {"trial": self.number, "state": self.state, "params": self.params}
        if self.values is not None:
            data["values"] = self.values
        data["asked_at"] = self.asked_at
        if self.told_at is not None:
            data["told_at"] = self.told_at
            data["duration_s"] = round(self.duration or 0.0, 3)
        if self.host is not None:
            data["host"] = self.host
        if self.key is not None:
            data["key"] = self.key
        return data


@dataclass
class History:
    """The state of a study replayed from its journal, up to byte ``offset``."""

    trials: list[TrialRecord] = field(default_factory=list)
    offset: int = 0
    last_seq: int = -1
    #: Trial number of the newest trial asked with each ``--key``.
    keys: dict[str, int] = field(default_factory=dict)
    #: Events that contradict the ones before them (reported by ``asktell check``).
    anomalies: list[str] = field(default_factory=list)

    def apply(self, events: Iterable[dict]) -> None:
        for event in events:
            seq = event["seq"]
            if seq != self.last_seq + 1:
                self.anomalies.append(f"event seq {seq} follows seq {self.last_seq} (lines lost or repeated)")
            self.last_seq = max(self.last_seq, seq)
            handler = _HANDLERS.get(event["event"])
            if handler is not None:
                handler(self, event)

    def _asked(self, event: dict) -> None:
        number = event["trial"]
        if number != len(self.trials):
            self.anomalies.append(f"seq {event['seq']}: trial {number} asked, expected trial {len(self.trials)}")
            if number < len(self.trials):
                return
        record = TrialRecord(number=number, params=event["params"], asked_at=event["at"],
                             host=event.get("host"), pid=event.get("pid"), key=event.get("key"))
        self.trials.append(record)
        if record.key is not None:
            self.keys[record.key] = number

    def _told(self, event: dict) -> None:
        number = event["trial"]
        if not 0 <= number < len(self.trials):
            self.anomalies.append(f"seq {event['seq']}: told trial {number}, which was never asked")
            return
        record = self.trials[number]
        if record.finished:
            self.anomalies.append(f"seq {event['seq']}: trial {number} told twice (first tell kept)")
            return
        record.state = event["state"]
        record.values = event.get("values")
        record.told_at = event["at"]
        record.told_by = event.get("host")

    # ---- queries
    @property
    def next_number(self) -> int:
        return len(self.trials)

    def get(self, number: int) -> TrialRecord | None:
        return self.trials[number] if 0 <= number < len(self.trials) else None

    def in_state(self, *states: str) -> list[TrialRecord]:
        return [t for t in self.trials if t.state in states]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for t in self.trials:
            counts[t.state] += 1
        return counts

    def running_with_key(self, key: str) -> TrialRecord | None:
        number = self.keys.get(key)
        record = None if number is None else self.trials[number]
        return record if record is not None and not record.finished else None


_HANDLERS = {"asked": History._asked, "told": History._told}


