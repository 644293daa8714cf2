"""``journal.head``: a stale view of the journal is refused, a head left behind is harmless.

A network mount with caches (sshfs with default options) can serve the
journal at an old size for up to 0.7 s after another host appended, and the
read agrees with that size, so a check of the read against ``fstat`` cannot
see it.  Here this process's view is made stale the same way -- ``fstat``
reports an old size for the journal's inode, so the read stops there -- while
the head, written by the real last append, says more.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from asktell import Study
from asktell import study as study_module
from asktell.errors import UnsafeFilesystem
from asktell.journal import Head
from tests.support.processes import assert_check_passes, assert_seqs_contiguous


def serve_stale(monkeypatch, journal: Path, size: int, times: int | None = None) -> None:
    """Make ``fstat`` of the journal report ``size`` (``times`` times, or always), as a stale cache would."""
    real_fstat = os.fstat
    identity = (journal.stat().st_dev, journal.stat().st_ino)
    left = [times]

    def fstat(fd: int) -> os.stat_result:
        result = real_fstat(fd)
        if (result.st_dev, result.st_ino) != identity or left[0] == 0:
            return result
        if left[0] is not None:
            left[0] -= 1
        return os.stat_result((*result[:6], size, *result[7:10]))

    monkeypatch.setattr(os, "fstat", fstat)


@pytest.fixture
def two_asked(study: Path, monkeypatch) -> tuple[Path, int]:
    """``study`` with trials 0 and 1 asked; returns it and the journal's size before trial 1.

    Retries do not pause, so that a view that stays stale is refused at once.
    """
    monkeypatch.setattr(study_module, "STALE_READ_PAUSE", 0)
    opened = Study.open(study)
    opened.ask()
    before = (study / "journal.jsonl").stat().st_size
    opened.ask()
    return study, before


def files(study: Path) -> tuple[bytes, bytes]:
    return (study / "journal.jsonl").read_bytes(), (study / "journal.head").read_bytes()


@pytest.mark.parametrize("call", ["ask", "tell"])
def test_a_journal_served_stale_is_refused_and_left_as_it_was(two_asked, monkeypatch, call):
    """The view ends before trial 1's line: ask would hand out trial 1 again, tell would write over it."""
    study, stale_size = two_asked
    before = files(study)
    serve_stale(monkeypatch, study / "journal.jsonl", stale_size)
    opened = Study.open(study)
    with pytest.raises(UnsafeFilesystem, match="journal.head records .* stale view .*cache=no"):
        opened.ask() if call == "ask" else opened.tell(0, 0.5)
    assert files(study) == before


def test_a_stale_view_that_expires_is_waited_out(two_asked, monkeypatch, valid_files):
    """A cache that turns fresh within the retries costs a pause, not the call."""
    study, stale_size = two_asked
    serve_stale(monkeypatch, study / "journal.jsonl", stale_size, times=3)
    assert Study.open(study).ask().number == 2
    assert_seqs_contiguous(study)
    valid_files(study)


def test_a_journal_ahead_of_its_head_loads_and_the_next_ask_repairs_the_head(study, asktell, valid_files):
    """A writer killed between its journal fsync and its head write leaves the head one append behind."""
    assert asktell("ask", study).returncode == 0
    behind = (study / "journal.head").read_bytes()
    assert asktell("ask", study).returncode == 0
    (study / "journal.head").write_bytes(behind)

    assert [t.number for t in Study.open(study).trials] == [0, 1]
    checked = assert_check_passes(study)
    assert "warning:" in checked.stdout and "journal.head: records" in checked.stdout
    asked = asktell("ask", study)
    assert asked.returncode == 0 and asked.stdout.strip().endswith("000002")
    valid_files(study)  # the head records the journal exactly again


@pytest.mark.parametrize("damage", ["missing", "torn", "zeros"])
def test_a_missing_or_torn_head_is_reported_and_rewritten_from_the_journal(study, asktell, valid_files, damage):
    """A study from before the head, or a head write cut short: the study loads and the next call repairs it."""
    head = study / "journal.head"
    if damage == "missing":
        head.unlink()
    else:
        head.write_bytes(head.read_bytes()[:20] if damage == "torn" else bytes(64))
    checked = assert_check_passes(study)
    assert f"warning: {head}:" in checked.stdout
    assert asktell("ask", study).returncode == 0
    valid_files(study)


def test_a_head_ahead_of_the_journal_is_an_error_and_no_call_writes(study, asktell):
    """Lines lost, or a mount that keeps serving a stale journal: check says so, ask refuses (exit 1)."""
    size = (study / "journal.jsonl").stat().st_size
    (study / "journal.head").write_text(Head(size + 100, 5).line())
    journal = (study / "journal.jsonl").read_bytes()

    checked = asktell("check", study)
    assert checked.returncode == 1 and f"error: {study / 'journal.head'}: records {size + 100} bytes" in checked.stdout
    asked = asktell("ask", study)
    assert asked.returncode == 1 and "stale view" in asked.stderr and "cache=no" in asked.stderr
    assert (study / "journal.jsonl").read_bytes() == journal


def test_check_validates_the_head_against_its_schema(study, asktell):
    head = study / "journal.head"
    head.write_bytes(head.read_bytes().replace(b'"asktell/1"', b'"asktell/9"'))
    checked = asktell("check", study)
    assert checked.returncode == 1 and f"error: {head}: format:" in checked.stdout


def test_the_head_is_one_fixed_size_line():
    line = Head(10**12, 10**12).line()
    assert len(line.encode()) == 64 and line.endswith("\n") and Head.parse(line.encode()) == Head(10**12, 10**12)
    for data in (b"", line.encode()[:-1], line.encode().replace(b"\n", b" "), b'{"size":true,"seq":1}'.ljust(63) + b"\n"):
        assert Head.parse(data) is None
