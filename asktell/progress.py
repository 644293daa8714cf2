"""What ``asktell run`` tells a person on stderr while it works.

One line per finished trial, always: that is the record of the run in a log
file.  On a terminal, a status line under them is redrawn in place (trials
done and failed, running, best so far, ETA); when stderr is a file or a pipe,
the same status is printed as a plain line every ``PLAIN_EVERY_SECONDS``
instead, so that logs stay readable and a slow run still shows it is alive.
"""

from __future__ import annotations

import time
from typing import Sequence, TextIO

from .config import Objective
from .output import describe_values, format_duration

#: Redraw period of the status line on a terminal, and period of the plain status lines otherwise.
REDRAW_SECONDS = 0.5
PLAIN_EVERY_SECONDS = 30.0
_CLEAR = "\r\033[K"


class Progress:
    """Counts what finished, keeps the best trial of the run, and shows it."""

    def __init__(self, stream: TextIO, objectives: Sequence[Objective], total: int | None,
                 tty: bool | None = None) -> None:
        self.stream = stream
        self.objectives = tuple(objectives)
        self.total = total
        self.tty = stream.isatty() if tty is None else tty
        self.started = time.monotonic()
        self.complete = self.failed = self.other = 0
        self.best: tuple[float, int, dict] | None = None  # (loss, trial, values) of the first objective
        self._shown_at = 0.0 if self.tty else self.started
        self._live = False

    @property
    def finished(self) -> int:
        return self.complete + self.failed + self.other

    def trial_finished(self, number: int, state: str, values: dict | None, seconds: float,
                       note: str = "", shown: dict | None = None) -> None:
        """Count a told trial and print its line (with ``shown``, or else its values)."""
        if state == "complete":
            self.complete += 1
            if values and self.objectives:
                first = self.objectives[0]
                loss = first.sign * values[first.name]
                if self.best is None or loss < self.best[0]:
                    self.best = (loss, number, values)
        elif state == "failed":
            self.failed += 1
        else:
            self.other += 1
        shown = shown or values
        self.say(f"trial {number} {state} in {format_duration(seconds)}"
                 f"{f': {describe_values(shown)}' if shown else ''}{note}")

    def say(self, line: str) -> None:
        """A line of its own, above the status line."""
        self.stream.write((_CLEAR if self._live else "") + line + "\n")
        self._live = False
        self.stream.flush()

    def status(self, running: int) -> str:
        parts = [f"{self.finished}{f'/{self.total}' if self.total is not None else ''} done",
                 f"{self.failed} failed", f"{running} running"]
        if self.best is not None:
            _, number, values = self.best
            name = self.objectives[0].name
            parts.append(f"best {describe_values({name: values[name]})} (trial {number})")
        eta = self.eta()
        if eta is not None:
            parts.append(f"ETA {format_duration(eta)}")
        return "asktell run: " + ", ".join(parts)

    def eta(self) -> float | None:
        """Seconds left at the rate trials have finished so far (None until one has, or with no total)."""
        if self.total is None or not self.finished:
            return None
        rate = self.finished / (time.monotonic() - self.started)
        return max(0, self.total - self.finished) / rate

    def tick(self, running: int) -> None:
        """Show the status if it is time to."""
        now = time.monotonic()
        if now - self._shown_at < (REDRAW_SECONDS if self.tty else PLAIN_EVERY_SECONDS):
            return
        self._shown_at = now
        if self.tty:
            self.stream.write(_CLEAR + self.status(running))
            self._live = True
        else:
            self.stream.write(self.status(running) + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._live:
            self.stream.write(_CLEAR)
            self.stream.flush()
            self._live = False
