"""The one way asktell writes and reads its small files.

Every file other processes may read is published atomically: written to a
temporary file in the same folder, flushed, fsync'd, then ``os.replace``'d
over its name.  A reader therefore sees the old content or the new one, never
half of it, on a local disk and on a coherent network mount alike.

PyYAML costs about 10 ms of start-up, which ``ask`` and ``tell`` would pay on
every call for files as plain as ``params.yaml``.  ``dump_yaml`` therefore
writes flat and nested mappings of plain scalars itself and hands anything
else to PyYAML, which is imported only then (and by every reader of YAML).
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from .errors import InvalidInput

FORMAT = "asktell/1"

#: Strings YAML reads back as themselves when written bare; anything else is quoted.
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*\Z")
#: Bare words YAML 1.1 would read as booleans or null.
_KEYWORDS = frozenset({"yes", "no", "true", "false", "on", "off", "y", "n", "null"})


@cache
def _yaml():
    """PyYAML and its C loader and dumper (about 10x faster than the pure-Python ones)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml, loader, dumper


def random_token(nbytes: int = 4) -> str:
    """A random hex name part (``secrets`` would cost an import of hashlib on every call)."""
    return os.urandom(nbytes).hex()


def write_atomic(path: Path, text: str | bytes) -> None:
    """Publish ``text`` (or bytes) at ``path`` so that no reader ever sees a partial file."""
    tmp = path.with_name(f".{path.name}.tmp-{random_token()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, text if isinstance(text, bytes) else text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def dump_yaml(data: Any) -> str:
    """YAML that reads top to bottom in the order asktell built the mapping."""
    if type(data) is dict and data:
        lines: list[str] = []
        try:
            _emit_mapping(data, "", lines)
            return "\n".join(lines) + "\n"
        except _NotPlain:
            pass
    yaml, _, dumper = _yaml()
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


class _NotPlain(Exception):
    """A value the small emitter leaves to PyYAML."""


def _emit_mapping(mapping: dict, indent: str, lines: list[str]) -> None:
    for key, value in mapping.items():
        if type(key) is not str or not _PLAIN.match(key) or key.lower() in _KEYWORDS:
            raise _NotPlain
        if type(value) is dict and value:
            lines.append(f"{indent}{key}:")
            _emit_mapping(value, indent + "  ", lines)
        else:
            lines.append(f"{indent}{key}: {'{}' if type(value) is dict else _emit_scalar(value)}")


def _emit_scalar(value: Any) -> str:
    """A scalar as PyYAML's safe loader reads it back (YAML 1.1: floats need a dot)."""
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is int:
        return str(value)
    if type(value) is float:
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        return text.replace("e", ".0e", 1) if "." not in text and "e" in text else text
    if type(value) is str:
        if _PLAIN.match(value) and value.lower() not in _KEYWORDS:
            return value
        if value.isascii():  # json escapes controls and DEL; YAML reads its double quotes
            return json.dumps(value)
    raise _NotPlain


def parse_yaml(text: str, file: object) -> Any:
    """Parse YAML text, turning syntax errors into one line that names the place."""
    yaml, loader, _ = _yaml()
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInput(f"malformed YAML: {where}{problem}", file=file) from None


def read_yaml(path: Path, what: str) -> Any:
    """Read a YAML file that must exist; ``what`` names it in the error."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InvalidInput(f"{what} not found", file=path) from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} is not UTF-8 text", file=path) from None
    except IsADirectoryError:
        raise InvalidInput(f"{what} is a folder, not a file", file=path) from None
    return parse_yaml(text, path)


def read_mapping(path: Path, what: str) -> dict:
    """Read a YAML file whose top level must be a mapping (empty files are errors)."""
    data = read_yaml(path, what)
    if data is None:
        raise InvalidInput(f"{what} is empty", file=path)
    if not isinstance(data, dict):
        raise InvalidInput(f"{what} must be a mapping at the top level", file=path, value=data)
    return data
