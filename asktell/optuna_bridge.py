"""Bridges to Optuna: an Optuna study becomes a study folder, and a study folder an Optuna journal.

Optuna is an optional extra (``pip install 'asktell[optuna]'``), imported
only by ``import-optuna`` and ``export-optuna``.  Both go through Optuna's
own API -- its storages to read, ``create_trial`` and ``add_trial`` to
write -- never through its log format, which is Optuna's to change.

Import.  Optuna keeps a distribution per trial and parameter; asktell one
space per study.  A parameter's distributions are merged (the widest range;
a step kept only where every trial's grid fits it).  A parameter that some
complete or pruned trials lack gets a condition when a categorical
parameter before it explains exactly when it is present (``momentum`` when
``optimizer == sgd``); otherwise it stays unconditional and the trials
without it keep it absent, which samplers treat like an inactive parameter.
Failed and running trials are not evidence: they may have stopped before
suggesting everything.  The new folder is built beside its destination and
renamed into place, so an import that fails leaves nothing behind.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence
from urllib.parse import quote

from .config import DEFAULT_SAMPLER, NAME_RE, Objective, parse_objectives
from .errors import AsktellError, InvalidInput
from .fileio import dump_yaml, random_token
from .layout import PARAMS_NAME, TRIAL_NAME, params_document, trial_document
from .results import check_constraints
from .space import CategoricalParam, Condition, FloatParam, IntParam, Param, Space, parse_param
from .trial import COMPLETE, FAILED, PRUNED, RUNNING, TrialRecord, now_iso

EXTRA_HINT = "install the extra: pip install 'asktell[optuna]'"
RENAME_HINT = "rename it with --rename 'OLD=NEW'"


class MissingExtra(AsktellError):
    """An optional dependency is not installed."""


def require_optuna() -> Any:
    """The ``optuna`` module, quiet; a one-line error naming the extra when it is missing."""
    try:
        import optuna
    except ImportError:
        raise MissingExtra("Optuna is not installed; these commands need it", hint=EXTRA_HINT) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


# ---------------------------------------------------------------------- reading an Optuna storage


def open_storage(storage: str) -> Any:
    """An Optuna storage to read from a journal file or an SQLAlchemy URL, without writing to it.

    Both of Optuna's storages create what they are pointed at when it is
    missing, so a missing file is refused first; SQLite is opened read-only,
    so that a file which is not Optuna's gets no tables.
    """
    require_optuna()
    from optuna.storages import JournalStorage, RDBStorage
    from optuna.storages.journal import JournalFileBackend

    url = storage
    if "://" not in storage:
        path = Path(storage)
        if not path.is_file():
            raise InvalidInput("no such Optuna journal file", file=storage)
    elif storage.startswith("sqlite:///"):
        path = Path(storage[len("sqlite:///"):].partition("?")[0])
        if not path.is_file():
            raise InvalidInput("no such SQLite file", file=storage)
        url = f"sqlite:///file:{quote(str(path.resolve()))}?mode=ro&uri=true"
    try:
        if "://" not in storage:
            return JournalStorage(JournalFileBackend(storage))
        return RDBStorage(url)
    except Exception as exc:  # noqa: BLE001 - any failure to read it means it is not an Optuna storage
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"cannot be read as an Optuna storage ({first_line})", file=storage) from None


def load_optuna_study(storage: str, study_name: str | None) -> Any:
    """The named study of ``storage`` (the only one when no name is given)."""
    optuna = require_optuna()
    opened = open_storage(storage)
    names = [s.study_name for s in opened.get_all_studies()]
    if study_name is None:
        if len(names) != 1:
            raise InvalidInput(f"the storage holds {len(names)} studies; name one with --study",
                               file=storage, field="--study", hint=f"studies: {', '.join(names) or 'none'}")
        study_name = names[0]
    elif study_name not in names:
        raise InvalidInput("no study of this name in the storage", file=storage, field="--study", value=study_name,
                           hint=f"studies: {', '.join(names) or 'none'}")
    return optuna.load_study(study_name=study_name, storage=opened)


# ---------------------------------------------------------------------- Optuna study -> asktell events


@dataclass
class ImportPlan:
    """What an Optuna study becomes: a study's settings and the journal events of its trials."""

    name: str
    objectives: tuple[Objective, ...]
    space: Space
    #: Journal events without ``seq``: per trial asked, reported..., told; then the enqueued sets.
    events: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    #: What the import changed or left out, one sentence each, for the user to review.
    notes: list[str] = field(default_factory=list)


def plan_import(name: str, trials: Sequence[Any], directions: Sequence[Any], metric_names: Sequence[str] | None,
                renames: Mapping[str, str] | None = None) -> ImportPlan:
    """Translate an Optuna study's trials (``FrozenTrial``) into asktell events; nothing is written."""
    rename = _Renamer(renames or {})
    metric_names = list(metric_names or (["value"] if len(directions) == 1 else
                                         [f"value_{i}" for i in range(len(directions))]))
    objectives = _objectives([rename(n) for n in metric_names], [d.name.lower() for d in directions])
    asked = [t for t in sorted(trials, key=lambda t: t.number) if t.state.name != "WAITING"]
    originals = {name for t in asked for name in t.params}
    if not originals:
        raise InvalidInput("no trial of this Optuna study has parameters, so there is no space to import",
                           field="--study", value=name)
    if len({rename(name) for name in originals}) != len(originals):
        raise InvalidInput("two parameters of the Optuna study would get one name", field="--rename",
                           value=dict(rename.renames))
    params = [{rename(k): v for k, v in t.params.items()} for t in asked]
    notes: list[str] = []
    space = derive_space(asked, params, rename, notes)
    rename.check_all_used()
    plan = ImportPlan(name, objectives, space, notes=notes)
    host, pid = socket.gethostname(), os.getpid()
    skipped: dict[str, int] = dict.fromkeys(("non-finite intermediate", "non-finite value", "user attrs"), 0)
    for number, (trial, values) in enumerate(zip(asked, params)):
        for param_name, value in values.items():
            space.params[param_name].validate(value, None, f"trials[{trial.number}].params.{param_name}")
        events = _trial_events(number, trial, values, objectives, rename, host, pid, skipped)
        plan.events += events
        state = events[-1].get("state", RUNNING)  # only a told event has one
        plan.counts[state] = plan.counts.get(state, 0) + 1
        skipped["user attrs"] += bool(trial.user_attrs)
    for trial in trials:
        if trial.state.name == "WAITING":
            _enqueue(plan, trial, rename, host, pid)
    for what, count in skipped.items():
        if count:
            notes.append(_SKIP_NOTES[what].format(count=count))
    return plan


_SKIP_NOTES = {
    "non-finite intermediate": "{count} intermediate values that were not finite numbers were left out",
    "non-finite value": "{count} complete trials whose values were not finite became failed trials",
    "user attrs": "the user attributes of {count} trials were not imported (asktell keeps none)",
}


class _Renamer:
    """``--rename OLD=NEW`` for parameter, objective and constraint names; every OLD must be used."""

    def __init__(self, renames: Mapping[str, str]) -> None:
        self.renames = dict(renames)
        self.used: set[str] = set()

    def __call__(self, name: str) -> str:
        if name in self.renames:
            self.used.add(name)
            return self.renames[name]
        return name

    def check_all_used(self) -> None:
        unused = sorted(set(self.renames) - self.used)
        if unused:
            raise InvalidInput("no parameter or objective of the Optuna study has this name", field="--rename",
                               value=unused[0])


def _objectives(names: list[str], directions: list[str]) -> tuple[Objective, ...]:
    try:
        return parse_objectives([{"name": n, "direction": d} for n, d in zip(names, directions)])
    except InvalidInput as exc:
        exc.hint = RENAME_HINT
        raise


def derive_space(trials: Sequence[Any], params: Sequence[dict], rename: Any, notes: list[str]) -> Space:
    """One space for every trial: merged distributions, and conditions where the trials show them.

    ``params`` are the trials' parameters under their asktell names.  Order is
    first appearance, which is suggestion order: a parameter that decides
    whether another is suggested comes before it.
    """
    distributions: dict[str, list] = {}
    for trial in trials:
        for name in trial.params:
            distributions.setdefault(rename(name), []).append(trial.distributions[name])
    specs = {name: _merged_spec(name, list(dict.fromkeys(found)), notes) for name, found in distributions.items()}
    unconditional = list(_space(specs))
    evidence = [p for t, p in zip(trials, params) if t.state.name in ("COMPLETE", "PRUNED")]
    for position, name in enumerate(specs):
        lacking = [p for p in evidence if name not in p]
        if not lacking:
            continue
        condition = _condition(name, unconditional[:position], [p for p in params if name in p], lacking)
        if condition is None:
            notes.append(f"parameter {name} is absent from {len(lacking)} complete or pruned trials and no "
                         "categorical parameter before it says when: it is unconditional here, so new trials "
                         "always get it (add a 'when' to study.yaml if you know the rule)")
        else:
            specs[name]["when"] = str(condition)
            notes.append(f"parameter {name}: when {condition} (derived from the trials)")
    return _space(specs)


def _space(specs: dict[str, dict]) -> Space:
    params = []
    for name, spec in specs.items():
        try:
            params.append(parse_param(name, spec))
        except InvalidInput as exc:
            exc.hint = exc.hint or RENAME_HINT
            raise
    return Space(params)


def _merged_spec(name: str, distributions: list, notes: list[str]) -> dict:
    """The asktell spec covering every distribution one parameter had across trials."""
    kinds = {type(d).__name__ for d in distributions}
    if len(kinds) != 1:
        raise InvalidInput(f"has distributions of different kinds across trials ({', '.join(sorted(kinds))})",
                           field=f"params.{name}")
    first = distributions[0]
    if kinds == {"CategoricalDistribution"}:
        choices: list = []
        for distribution in distributions:
            choices += [c for c in distribution.choices if not any(_identical(c, known) for known in choices)]
        return {"type": "categorical", "choices": choices}
    if len({d.log for d in distributions}) != 1:
        raise InvalidInput("is on a log scale in some trials and not in others", field=f"params.{name}")
    low, high = min(d.low for d in distributions), max(d.high for d in distributions)
    spec: dict = {"type": "int" if kinds == {"IntDistribution"} else "float", "low": low, "high": high}
    if first.log:
        spec["log"] = True
    if spec["type"] == "int":
        step = math.gcd(*(d.step for d in distributions), *(d.low - low for d in distributions))
        if step != 1:
            spec["step"] = step
    elif any(d.step is not None for d in distributions):
        step = first.step
        if all(d.step == step and _on_grid(d.low, low, step) for d in distributions):
            spec["step"] = step
        else:
            notes.append(f"parameter {name} had step grids that do not line up across trials: it is continuous here")
    return spec


def _identical(a: Any, b: Any) -> bool:
    """Equal and of one type: a choice ``1`` is not the choice ``True`` nor ``1.0``."""
    return type(a) is type(b) and a == b


def _on_grid(value: float, low: float, step: float) -> bool:
    k = (value - low) / step
    return abs(k - round(k)) < 1e-9


def _condition(name: str, before: list[Param], holders: list[dict], lacking: list[dict]) -> Condition | None:
    """``parent == v`` or ``parent in [...]``: true in every trial that has ``name``, false in every one that lacks it.

    Only a categorical parent before ``name`` qualifies, the first one that
    separates the trials; a condition that merely fits numbers by chance
    would hide the parameter from trials that need it.
    """
    for parent in before:
        if not isinstance(parent, CategoricalParam) or any(parent.name not in p for p in holders):
            continue
        chosen = {parent.index(p[parent.name]) for p in holders}
        if all(parent.name not in p or parent.index(p[parent.name]) not in chosen for p in lacking):
            values = [parent.choices[i] for i in sorted(chosen)]
            return Condition(parent.name, "==", values[0]) if len(values) == 1 else Condition(parent.name, "in", values)
    return None


def _trial_events(number: int, trial: Any, params: dict, objectives: tuple[Objective, ...], rename: Any,
                  host: str, pid: int, skipped: dict[str, int]) -> list[dict]:
    """``asked``, one ``reported`` per intermediate value, and ``told`` unless the trial still runs."""
    asked_at = _iso(trial.datetime_start or trial.datetime_complete) or now_iso()
    origin = {"host": host, "pid": pid}
    events = [{"event": "asked", "at": asked_at, "trial": number, "params": params, **origin}]
    metric = objectives[0].name
    for step, value in sorted(trial.intermediate_values.items()):
        if not math.isfinite(value):
            skipped["non-finite intermediate"] += 1
            continue
        # Optuna keeps no time per report: the ask's time stands in (a report is a sign of life).
        events.append({"event": "reported", "at": asked_at, "trial": number, "step": step,
                       "values": {metric: value}, **origin})
    state = _STATES.get(trial.state.name)
    if state is None:
        return events
    told: dict = {"event": "told", "at": _iso(trial.datetime_complete) or asked_at, "trial": number, "state": state}
    values = trial.values
    if values is not None and all(math.isfinite(v) for v in values):
        told["values"] = {o.name: float(v) for o, v in zip(objectives, values)}
    elif state == COMPLETE:
        skipped["non-finite value"] += 1
        told.update(state=FAILED, reason=f"imported from Optuna: complete with values {list(values or [])}")
    if trial.constraints:
        told["constraints"] = check_constraints({_constraint_name(rename(k)): v for k, v in trial.constraints.items()},
                                                f"Optuna trial {trial.number}")
    return events + [{**told, **origin}]


_STATES = {"COMPLETE": COMPLETE, "PRUNED": PRUNED, "FAIL": FAILED}


def _constraint_name(name: str) -> str:
    """Optuna's unnamed constraints are ``0``, ``1``, ...: they become ``constraint_0``, ..."""
    return name if NAME_RE.match(name) else f"constraint_{name}"


def _enqueue(plan: ImportPlan, trial: Any, rename: Any, host: str, pid: int) -> None:
    """A waiting Optuna trial becomes an ``enqueued`` parameter set, if its fixed parameters are a whole one."""
    fixed = {rename(k): v for k, v in (trial.system_attrs.get("fixed_params") or {}).items()}
    try:
        params = plan.space.validate(fixed, prefix=f"trials[{trial.number}].fixed_params")
    except InvalidInput as exc:
        plan.notes.append(f"waiting trial {trial.number} was not queued: {exc}")
        return
    plan.events.append({"event": "enqueued", "at": now_iso(), "params": params, "host": host, "pid": pid})
    plan.counts["queued"] = plan.counts.get("queued", 0) + 1


def _iso(moment: datetime | None) -> str | None:
    """An Optuna datetime (naive local time) as asktell writes times: UTC with milliseconds."""
    if moment is None:
        return None
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{utc.microsecond // 1000:03d}Z"


def import_study(storage: str, study_name: str | None, folder: Path, *, renames: Mapping[str, str] | None = None,
                 sampler: str = DEFAULT_SAMPLER, seed: int | None = None) -> ImportPlan:
    """Create the study folder ``folder`` from an Optuna study; it must not exist yet (or be empty)."""
    from .study import Study

    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InvalidInput("exists and is not an empty folder; import-optuna makes a new study", file=folder)
    source = load_optuna_study(storage, study_name)
    plan = plan_import(source.study_name, source.get_trials(deepcopy=False), source.directions,
                       source.metric_names, renames)
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = folder.with_name(f".{folder.name}.importing-{random_token()}")
    try:
        study = Study.create(building, plan.space, objectives=[(o.name, o.direction) for o in plan.objectives],
                             sampler=sampler, seed=seed, name=plan.name)
        study.append(plan.events)
        _write_mirrors(study, study.history().trials)
        os.rename(building, folder)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return plan


def _write_mirrors(study: Any, records: list[TrialRecord]) -> None:
    """Every trial's ``params.yaml`` and ``trial.yaml``, written plainly and synced once.

    The folder is invisible until it is renamed into place, so the temp file
    and fsync per file of ``layout.write_params`` would buy nothing here but
    two fsyncs per trial (10 s per 1,000 trials on a test machine).
    """
    for record in records:
        folder = study.layout.trial_dir(record.number)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / PARAMS_NAME).write_text(dump_yaml(params_document(study.config.name, record)))
        if record.finished:
            (folder / TRIAL_NAME).write_text(dump_yaml(trial_document(study.config.name, record)))
    os.sync()


# ---------------------------------------------------------------------- asktell study -> Optuna journal


@dataclass
class ExportSummary:
    study_name: str
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def export_study(folder: Path, journal: Path, *, study_name: str | None = None, force: bool = False) -> ExportSummary:
    """Write the study as an Optuna journal file (``JournalFileBackend``), built aside and renamed into place."""
    from .study import Study

    study = Study.open(folder)
    journal = Path(journal)
    if journal.exists() and not (force and journal.is_file()):
        raise InvalidInput("exists; export-optuna writes a new file (--force replaces it)", file=journal)
    optuna = require_optuna()
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    history = study.history()
    config = study.config
    summary = ExportSummary(study_name or config.name)
    metric = _exported_metric(config.objectives, history.trials, summary.notes)
    trials = [_frozen_trial(optuna, config.space, config.objectives, record, metric) for record in history.trials]
    journal.parent.mkdir(parents=True, exist_ok=True)
    held = _held_backend(optuna)
    target = optuna.create_study(storage=JournalStorage(held), study_name=summary.study_name,
                                 directions=[o.direction for o in config.objectives])
    with warnings.catch_warnings():  # experimental since Optuna 3.2, and what the dashboard shows
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        target.set_metric_names([o.name for o in config.objectives])
    target.add_trials(trials)
    for params in history.queue.values():
        target.enqueue_trial(params["params"])
    building = journal.with_name(f".{journal.name}.exporting-{random_token()}")
    try:
        JournalFileBackend(str(building)).append_logs(held.logs)
        os.replace(building, journal)
    finally:
        building.unlink(missing_ok=True)
    for record in history.trials:
        summary.counts[record.state] = summary.counts.get(record.state, 0) + 1
    if history.queue:
        summary.counts["queued"] = len(history.queue)
    return summary


def _held_backend(optuna: Any) -> Any:
    """A journal backend that keeps Optuna's logs in memory, to be written by ``JournalFileBackend`` in one append.

    Optuna's file backend fsyncs every operation: one per trial, 7 s per
    1,000 trials on a test machine.  The logs and their file format stay
    Optuna's own.
    """

    class HeldBackend(optuna.storages.journal.BaseJournalBackend):
        def __init__(self) -> None:
            self.logs: list[dict] = []

        def read_logs(self, log_number_from: int) -> list[dict]:
            return self.logs[log_number_from:]

        def append_logs(self, logs: list[dict]) -> None:
            self.logs.extend(logs)

    return HeldBackend()


def _exported_metric(objectives: tuple[Objective, ...], records: list[TrialRecord], notes: list[str]) -> str | None:
    """The one intermediate series per trial Optuna keeps: the first objective's, else the only metric reported."""
    reported = sorted({name for r in records for name in (r.intermediate or {})})
    metric = objectives[0].name if objectives[0].name in reported else (reported[0] if len(reported) == 1 else None)
    dropped = [name for name in reported if name != metric]
    if dropped:
        notes.append(f"intermediate values of {', '.join(dropped)} were not exported "
                     "(Optuna keeps one series per trial)")
    return metric


def _frozen_trial(optuna: Any, space: Space, objectives: tuple[Objective, ...], record: TrialRecord,
                  metric: str | None) -> Any:
    unknown = sorted(set(record.params) - set(space.params))
    if unknown:
        raise InvalidInput("not a parameter of the study's space", field=f"trials[{record.number}].params.{unknown[0]}",
                           value=record.params[unknown[0]])
    values = record.values or {}
    trial = optuna.trial.create_trial(
        state=getattr(optuna.trial.TrialState, _OPTUNA_STATES[record.state]),
        values=[values[o.name] for o in objectives] if all(o.name in values for o in objectives) else None,
        params=dict(record.params),
        distributions={name: _distribution(optuna, space.params[name]) for name in record.params},
        intermediate_values=dict((record.intermediate or {}).get(metric, {})),
        constraints=record.constraints,
    )
    trial.datetime_start = _local(record.asked_at)
    trial.datetime_complete = _local(record.told_at) if record.told_at else None
    return trial


_OPTUNA_STATES = {COMPLETE: "COMPLETE", PRUNED: "PRUNED", FAILED: "FAIL", RUNNING: "RUNNING"}


def _distribution(optuna: Any, param: Param) -> Any:
    """The Optuna distribution of an asktell parameter; a stepped range ends on its last grid point."""
    distributions = optuna.distributions
    if isinstance(param, CategoricalParam):
        return distributions.CategoricalDistribution(list(param.choices))
    if isinstance(param, IntParam):
        return distributions.IntDistribution(param.low, param.from_unit(1.0), log=param.log, step=param.step)
    assert isinstance(param, FloatParam)
    high = param.high if param.step is None else param.from_unit(1.0)
    return distributions.FloatDistribution(param.low, high, log=param.log, step=param.step)


def _local(text: str) -> datetime:
    """An asktell time (UTC) as Optuna keeps times: naive local time."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone().replace(tzinfo=None)
