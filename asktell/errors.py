"""Errors users can act on, each mapped to one CLI exit code.

Every error names what it is about (a file, a field inside it, the offending
value) so that the CLI can print it as one line a user can fix without a
traceback.  The exit codes are the contract for scripts:

0 success · 1 runtime failure · 2 bad usage or invalid input ·
3 the trial should be pruned · 4 nothing left to suggest.
"""

from __future__ import annotations

from typing import Any

_UNSET: Any = object()

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INVALID = 2
EXIT_PRUNE = 3
EXIT_EXHAUSTED = 4


class AsktellError(Exception):
    """Base of every error asktell raises on purpose."""

    exit_code = EXIT_FAILURE

    def __init__(
        self,
        message: str,
        *,
        file: object = None,
        field: str | None = None,
        value: Any = _UNSET,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = None if file is None else str(file)
        self.field = field
        self.value = value
        self.hint = hint

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.field:
            parts.append(f"field '{self.field}'")
        text = self.message
        if self.value is not _UNSET:
            text += f" (got {_show(self.value)})"
        if self.hint:
            text += f"; {self.hint}"
        return ": ".join([*parts, text])

    def __reduce__(self):  # keep errors picklable across multiprocessing
        return (_rebuild, (type(self), self.message, self.file, self.field, self.value, self.hint))


def _rebuild(cls, message, file, field, value, hint):
    return cls(message, file=file, field=field, value=value, hint=hint)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class InvalidInput(AsktellError, ValueError):
    """Input that can never succeed as given: fix the file or the arguments."""

    exit_code = EXIT_INVALID


class StudyNotFound(InvalidInput):
    """The folder does not exist or holds no study.yaml."""


class Exhausted(AsktellError):
    """Nothing is left to suggest: the grid is used up or the trial budget reached."""

    exit_code = EXIT_EXHAUSTED


class LockTimeout(AsktellError, TimeoutError):
    """The study lock stayed held by someone else for longer than the timeout."""


class LeaseExpired(AsktellError):
    """This process held the lock past its lease, so another may have broken it."""


class UnsafeFilesystem(AsktellError):
    """The study lives on a mount whose caching would let processes corrupt it."""


class CorruptStudy(AsktellError):
    """A file of the study cannot be read back as asktell wrote it."""
