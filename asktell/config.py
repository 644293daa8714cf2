"""``study.yaml``: what a study optimizes and how, written once by ``create``.

Every later call reads it to rebuild the space, the objectives, the sampler
and the lock, so nothing about a study lives anywhere but in its folder.
Calls read it through a JSON copy in ``cache/`` (``read_config``), which
spares each of them a YAML parser.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidInput
from .fileio import FORMAT, dump_yaml, read_mapping, write_atomic
from .lock import DEFAULT_LEASE_SECONDS, DEFAULT_TIMEOUT_SECONDS, LOCK_KINDS
from .space import Space

DIRECTIONS = ("minimize", "maximize")
NAME_RE = re.compile(r"^[A-Za-z_][\w.-]*$")


@dataclass(frozen=True)
class Objective:
    name: str
    direction: str

    @property
    def sign(self) -> float:
        """+1 for minimize, -1 for maximize: ``sign * value`` is always minimized."""
        return 1.0 if self.direction == "minimize" else -1.0


#: What a study optimizes when ``create`` is given no objective.
DEFAULT_OBJECTIVES = (Objective("value", "minimize"),)


@dataclass(frozen=True)
class LockSettings:
    kind: str = "mkdir"
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def to_dict(self) -> dict:
        return {"kind": self.kind, "lease_seconds": self.lease_seconds, "timeout_seconds": self.timeout_seconds}


#: A study created without ``--sampler`` gets TPE: random start-up trials, then a model of the results.
DEFAULT_SAMPLER = "tpe"
#: A study created without ``--pruner`` (or from before pruners) runs every trial to its end.
DEFAULT_PRUNER = "nop"


@dataclass(frozen=True)
class StudyConfig:
    name: str
    objectives: tuple[Objective, ...]
    space: Space
    sampler: str = DEFAULT_SAMPLER
    sampler_options: dict = field(default_factory=dict)
    pruner: str = DEFAULT_PRUNER
    pruner_options: dict = field(default_factory=dict)
    seed: int = 0
    max_trials: int | None = None
    lock: LockSettings = LockSettings()
    created_at: str | None = None

    def objective(self, name: str) -> Objective | None:
        return next((o for o in self.objectives if o.name == name), None)

    def to_dict(self) -> dict:
        data: dict[str, Any] = {"format": FORMAT, "name": self.name}
        if self.created_at is not None:
            data["created_at"] = self.created_at
        data["objectives"] = [{"name": o.name, "direction": o.direction} for o in self.objectives]
        data["space"] = self.space.to_spec()
        data["sampler"] = {"name": self.sampler, "options": dict(self.sampler_options)}
        data["pruner"] = {"name": self.pruner, "options": dict(self.pruner_options)}
        data["seed"] = self.seed
        data["max_trials"] = self.max_trials
        data["lock"] = self.lock.to_dict()
        return data

    def to_yaml(self) -> str:
        return dump_yaml(self.to_dict())

    def difference(self, other: "StudyConfig", ignore_seed: bool) -> str | None:
        """The first setting that differs, as ``field: ours vs theirs``, or None."""
        mine, theirs = self.to_dict(), other.to_dict()
        for data in (mine, theirs):
            data.pop("created_at", None)
            if ignore_seed:
                data.pop("seed", None)
        return _first_difference(mine, theirs, "")


def _first_difference(a: Any, b: Any, path: str) -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            where = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                return f"{where}: {'absent' if key not in a else a[key]!r} in the study, " \
                       f"{'absent' if key not in b else b[key]!r} requested"
            found = _first_difference(a[key], b[key], where)
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            found = _first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    if a != b or type(a) is not type(b):
        return f"{path}: {a!r} in the study, {b!r} requested"
    return None


def parse_objectives(items: Any, file: object = None) -> tuple[Objective, ...]:
    """Objectives from ``[{name, direction}, ...]`` or ``{name: direction}``.

    An empty list is a sweep: a study that only runs its trials (``asktell run``
    over a grid with no objective, as Hake did); none of its trials is best.
    """
    if isinstance(items, dict):
        items = [{"name": k, "direction": v} for k, v in items.items()]
    if not isinstance(items, list):
        raise InvalidInput("give the objectives as a list of names and minimize|maximize", file=file,
                           field="objectives", value=items)
    objectives: list[Objective] = []
    for i, item in enumerate(items):
        where = f"objectives[{i}]"
        if isinstance(item, (tuple, list)) and len(item) == 2:
            item = {"name": item[0], "direction": item[1]}
        if not isinstance(item, dict) or set(item) != {"name", "direction"}:
            raise InvalidInput("an objective is a mapping with 'name' and 'direction'", file=file,
                               field=where, value=item)
        name, direction = item["name"], item["direction"]
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise InvalidInput("an objective name is a word of letters, digits, '_', '-' or '.'", file=file,
                               field=f"{where}.name", value=name)
        if direction not in DIRECTIONS:
            raise InvalidInput("direction must be minimize or maximize", file=file,
                               field=f"{where}.direction", value=direction)
        if any(o.name == name for o in objectives):
            raise InvalidInput("objective named twice", file=file, field=f"{where}.name", value=name)
        objectives.append(Objective(name, direction))
    return tuple(objectives)


def parse_lock(data: Any, file: object = None) -> LockSettings:
    if data is None:
        return LockSettings()
    if isinstance(data, str):
        data = {"kind": data}
    if not isinstance(data, dict):
        raise InvalidInput("must be a mapping", file=file, field="lock", value=data)
    unknown = sorted(set(data) - {"kind", "lease_seconds", "timeout_seconds"})
    if unknown:
        raise InvalidInput("unknown lock setting", file=file, field=f"lock.{unknown[0]}", value=data[unknown[0]])
    kind = data.get("kind", "mkdir")
    if kind not in LOCK_KINDS:
        raise InvalidInput(f"unknown lock kind; use one of {', '.join(LOCK_KINDS)}", file=file,
                           field="lock.kind", value=kind)
    numbers = {}
    for key, default in (("lease_seconds", DEFAULT_LEASE_SECONDS), ("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)):
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise InvalidInput("must be a positive number of seconds", file=file, field=f"lock.{key}", value=value)
        numbers[key] = float(value)
    return LockSettings(kind=kind, **numbers)


def new_seed() -> int:
    return int.from_bytes(os.urandom(4), "big") >> 1


def parse_config(data: dict, file: object = None) -> StudyConfig:
    """Validate a ``study.yaml`` mapping into a config."""
    known = {"format", "name", "created_at", "objectives", "space", "sampler", "pruner", "seed", "max_trials", "lock"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidInput("unknown setting", file=file, field=unknown[0], value=data[unknown[0]])
    if data.get("format") != FORMAT:
        raise InvalidInput(f"unsupported format; this asktell reads {FORMAT}", file=file, field="format",
                           value=data.get("format"))
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInput("must be a non-empty string", file=file, field="name", value=name)
    sampler, sampler_options = _named_setting(data, "sampler", DEFAULT_SAMPLER, file)
    pruner, pruner_options = _named_setting(data, "pruner", DEFAULT_PRUNER, file)
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidInput("must be a non-negative integer", file=file, field="seed", value=seed)
    max_trials = data.get("max_trials")
    if max_trials is not None and (isinstance(max_trials, bool) or not isinstance(max_trials, int) or max_trials < 1):
        raise InvalidInput("must be a positive integer or null", file=file, field="max_trials", value=max_trials)
    created_at = data.get("created_at")
    return StudyConfig(
        name=name,
        objectives=parse_objectives(data.get("objectives"), file),
        space=Space.from_spec(data.get("space"), file),
        sampler=sampler,
        sampler_options=sampler_options,
        pruner=pruner,
        pruner_options=pruner_options,
        seed=seed,
        max_trials=max_trials,
        lock=parse_lock(data.get("lock"), file),
        created_at=created_at if isinstance(created_at, str) else None,
    )


def _named_setting(data: dict, key: str, default: str, file: object) -> tuple[str, dict]:
    """A ``{name, options}`` setting (``sampler``, ``pruner``), or just its name, or absent (the default)."""
    setting = data.get(key, {"name": default})
    if isinstance(setting, str):
        setting = {"name": setting}
    if not isinstance(setting, dict) or not isinstance(setting.get("name"), str):
        raise InvalidInput("must be a mapping with a 'name'", file=file, field=key, value=setting)
    options = setting.get("options") or {}
    if not isinstance(options, dict):
        raise InvalidInput("must be a mapping", file=file, field=f"{key}.options", value=options)
    return setting["name"], options


def read_config(path: Path, copy: Path | None = None) -> StudyConfig:
    """The config in ``study.yaml``, read from its JSON ``copy`` when that is current.

    The copy names the size and mtime of the ``study.yaml`` it was made
    from (``cp -p`` and ``shutil.copytree`` keep both, so a copied study keeps
    its copy); one that does not match (``study.yaml`` edited by hand) is made
    again.  A config JSON cannot hold exactly (a date among the choices) gets
    no copy.  Writing the copy is best effort: a read-only study still opens.
    """
    source = source_of(path) if copy is not None else None
    data = read_config_copy(copy, source) if copy is not None else None
    if data is None:
        data = read_mapping(path, "study.yaml")
        if copy is not None and source is not None:
            _write_config_copy(copy, source, data)
    return parse_config(data, path)


def source_of(path: Path) -> list[int] | None:
    """What identifies one version of ``study.yaml`` for its copy: size and mtime."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def read_config_copy(copy: Path, source: list[int] | None) -> dict | None:
    """The mapping a copy holds if it was made from ``source``, else ``None``."""
    try:
        document = json.loads(copy.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("source") != source or source is None:
        return None
    data = document.get("study")
    return data if isinstance(data, dict) else None


def write_config(config: StudyConfig, path: Path, copy: Path) -> None:
    """Publish ``study.yaml`` and its JSON copy (``create``)."""
    write_atomic(path, config.to_yaml())
    source = source_of(path)
    if source is not None:  # the copy holds what parsing study.yaml gives, exactly
        _write_config_copy(copy, source, read_mapping(path, "study.yaml"))


def _write_config_copy(copy: Path, source: list[int], data: dict) -> None:
    try:
        text = json.dumps({"source": source, "study": data}, allow_nan=False)
    except (TypeError, ValueError):
        return
    if json.loads(text)["study"] != data:  # e.g. integer keys would come back as strings
        return
    try:
        copy.parent.mkdir(exist_ok=True)
        write_atomic(copy, text)
    except OSError:
        pass
