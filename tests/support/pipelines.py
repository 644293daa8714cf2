"""Helpers for the tests that run the examples under pipelines/ as their users would."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tests.conftest import ASKTELL


def asktell_command(tmp_path: Path) -> str:
    """The CLI of this interpreter as a value for $ASKTELL, which the scripts split on whitespace."""
    if not any(re.search(r"\s", part) for part in ASKTELL):
        return " ".join(ASKTELL)
    wrapper = tmp_path / "asktell-cli"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.join(ASKTELL)} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The largest number of intervals that contain one same moment."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = most = 0
    for _, step in edges:  # at equal times an end (-1) sorts before a start: touching is not overlapping
        running += step
        most = max(most, running)
    return most
