"""The one way asktell writes and reads its small files.

Every file other processes may read is published atomically: written to a
temporary file in the same folder, flushed, fsync'd, then ``os.replace``'d
over its name.  A reader therefore sees the old content or the new one, never
half of it, on a local disk and on a coherent network mount alike.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from .errors import InvalidInput

FORMAT = "asktell/1"

try:  # the C implementations are ~10x faster; every CLI call parses YAML
    _Loader: type = yaml.CSafeLoader
    _Dumper: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader
    _Dumper = yaml.SafeDumper


def random_token(nbytes: int = 4) -> str:
    """A random hex name part (``secrets`` would cost an import of hashlib on every call)."""
    return os.urandom(nbytes).hex()


def write_atomic(path: Path, text: str) -> None:
    """Publish ``text`` at ``path`` so that no reader ever sees a partial file."""
    tmp = path.with_name(f".{path.name}.tmp-{random_token()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, text.encode())
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
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


def parse_yaml(text: str, file: object) -> Any:
    """Parse YAML text, turning syntax errors into one line that names the place."""
    try:
        return yaml.load(text, Loader=_Loader)
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
