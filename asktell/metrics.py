"""What a command run by ``asktell run`` reports: metric lines on stdout, and ``result.yaml``.

A metric line is one JSON object on a line of its own::

    {"metric": "acc", "value": 0.93}

Any other line is the command's own output and is ignored, so a training
script can print metrics beside its progress messages.  The last line of a
metric wins (a script may print ``acc`` after every epoch).  A ``result.yaml``
that a step wrote in the trial folder (``asktell.save_result``) wins over the
lines: writing a file is the more deliberate report, and it is how a step
says ``state: pruned`` or gives constraints.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

from .config import Objective
from .errors import InvalidInput
from .fileio import FORMAT, dump_yaml, read_mapping, write_atomic
from .results import RESULT_NAME, Result, parse_result

#: A line longer than this is not a metric line; only its end is looked for, bounding memory.
MAX_LINE_BYTES = 64 * 1024


class MetricLines:
    """Reads metric lines out of a byte stream fed in arbitrary chunks."""

    def __init__(self) -> None:
        self.metrics: dict[str, float] = {}
        #: Lines with a ``step`` not yet taken by ``take_reports``: (step, metric, value), in order.
        self.reports: list[tuple[int, str, float]] = []
        self._partial = b""
        self._overlong = False

    def feed(self, data: bytes) -> None:
        *lines, rest = (self._partial + data).split(b"\n")
        for line in lines:
            if not self._overlong:
                self._parse(line)
            self._overlong = False
        if len(rest) > MAX_LINE_BYTES:
            rest, self._overlong = b"", True
        self._partial = rest

    def close(self) -> None:
        """The stream ended: a last line without a newline counts too."""
        if self._partial and not self._overlong:
            self._parse(self._partial)
        self._partial = b""

    def _parse(self, line: bytes) -> None:
        line = line.strip()
        if not line.startswith(b"{") or b'"metric"' not in line:
            return
        try:
            record = json.loads(line)
        except ValueError:
            return
        if not isinstance(record, dict):
            return
        name, value = record.get("metric"), record.get("value")
        if isinstance(name, str) and name and isinstance(value, (int, float)) and not isinstance(value, bool):
            self.metrics[name] = float(value) if abs(value) < 1e308 else math.inf if value > 0 else -math.inf
            step = record.get("step")
            if isinstance(step, int) and not isinstance(step, bool) and step >= 0:
                self.reports.append((step, name, self.metrics[name]))

    def take_reports(self) -> list[tuple[int, str, float]]:
        """The stepped lines read since the last call: intermediate values to report as they arrive."""
        taken, self.reports = self.reports, []
        return taken


def outcome(metrics: dict[str, float], folder: Path, objectives: Sequence[Objective]) -> Result:
    """The trial's result from its metric lines and the ``result.yaml`` a step may have written.

    Raises ``InvalidInput`` when an objective has no value or a value is not
    a finite number: the trial then failed, and the message says why.
    """
    path = folder / RESULT_NAME
    if path.exists():
        return parse_result(_filled(read_mapping(path, "result file"), metrics, objectives), tuple(objectives), path)
    for o in objectives:
        if o.name not in metrics:
            raise InvalidInput(f"no value for the objective '{o.name}': the command printed no "
                               f'{{"metric": "{o.name}", "value": ...}} line and wrote no {RESULT_NAME}')
        if not math.isfinite(metrics[o.name]):
            raise InvalidInput(f"the metric '{o.name}' must be a finite number", value=metrics[o.name])
    return Result(values={o.name: metrics[o.name] for o in objectives} or None,
                  attrs={"metrics": dict(metrics)} if metrics else {})


def _filled(document: dict, metrics: dict[str, float], objectives: Sequence[Objective]) -> dict:
    """A result file with the objectives it lacks taken from the metric lines."""
    if "value" in document or document.get("state", "complete") != "complete":
        return document
    given = document.get("values", {})
    if not isinstance(given, dict):
        return document  # parse_result names the problem
    values = {**{o.name: metrics[o.name] for o in objectives if o.name in metrics}, **given}
    return {**document, "values": values} if values else document


def save_outcome(folder: Path, result: Result) -> None:
    """Write ``result.yaml`` from the metric lines, so that the folder keeps what the command reported."""
    document: dict = {"format": FORMAT}
    if result.values:
        document["values"] = result.values
    if result.attrs:
        document["attrs"] = result.attrs
    write_atomic(folder / RESULT_NAME, dump_yaml(document))
