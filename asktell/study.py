"""``Study``: create, open, ask, tell and read a study folder -- orchestration only.

Each public call follows one pattern so that the lock is held for
milliseconds however large the study:

1. outside the lock, read and parse ``study.yaml`` and the journal, validate
   the caller's input (a bad input fails here, before anything is written);
2. under the lock, read only the journal bytes appended since step 1, decide,
   append the new events in one write, fsync;
3. outside the lock again, write the readable mirrors (``params.yaml``,
   ``trial.yaml``).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from . import compaction
from .config import (DEFAULT_OBJECTIVES, DEFAULT_PRUNER, DEFAULT_SAMPLER, LockSettings, Objective, StudyConfig, new_seed, parse_lock, parse_objectives, read_config,
                     write_config)
from .errors import Exhausted, InvalidInput, StudyNotFound, UnsafeFilesystem
from .fileio import FORMAT
from .journal import STALE_VIEW_HINT, Journal, StaleJournal
from .layout import StudyLayout, write_params, write_trial
from .lock import StudyLock, make_lock, sweep_leftovers
from .snapshot import read_snapshot
from .results import check_constraints, check_failure, check_named_numbers, check_state, check_values, values_from
from .space import Space
from .trial import ALL, COMPLETE, FAILED, LIVE, PRUNED, RUNNING, WINDOW, History, TrialRecord, now_iso
from .window import window

if TYPE_CHECKING:
    from .pruners import Pruner


#: Samplers that need no objective: a study without one is a sweep that only runs its trials.
SWEEP_SAMPLERS = ("grid", "random")

#: How often, and how far apart, a stale view of the journal under the lock is retried.
STALE_READ_RETRIES = 40
STALE_READ_PAUSE = 0.025


@dataclass(frozen=True)
class AskedTrial:
    """A trial handed out by ``ask``: its number, parameters and working folder."""

    number: int
    params: dict
    path: Path
    key: str | None = None
    #: True when ``ask(key=...)`` gave back a trial asked earlier with the same key.
    reused: bool = False


@dataclass(frozen=True)
class TellOutcome:
    record: TrialRecord
    #: True when the trial had already been told exactly this; nothing was written.
    already_told: bool = False


def _as_objectives(objectives: Any) -> tuple[Objective, ...]:
    if objectives is None:
        return DEFAULT_OBJECTIVES
    if isinstance(objectives, str):
        return parse_objectives({"value": objectives})
    return parse_objectives(objectives if isinstance(objectives, (dict, list)) else list(objectives))


class Study:
    """One study folder.  Cheap to construct: every call re-reads what it needs."""

    def __init__(self, path: Path, config: StudyConfig) -> None:
        self.path = Path(path)
        self.layout = StudyLayout(self.path)
        self.config = config
        self.journal = Journal(self.layout.journal, self.layout.head)
        #: The last lock used, kept for ``last_hold`` (benchmarks, diagnostics).
        self.last_lock: StudyLock | None = None

    # ------------------------------------------------------------------ create / open
    @classmethod
    def open(cls, path: str | os.PathLike) -> "Study":
        path = Path(path)
        if not path.is_dir():
            raise StudyNotFound("no such study folder" if not path.exists() else "not a folder", file=path)
        layout = StudyLayout(path)
        if not layout.config.exists():
            raise StudyNotFound("not a study: it has no study.yaml (create one with 'asktell create')", file=path)
        return cls(path, read_config(layout.config, layout.config_copy))

    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        space: Space | Mapping | None = None,
        *,
        objectives: Any = None,
        sampler: str = DEFAULT_SAMPLER,
        sampler_options: Mapping | None = None,
        pruner: str = DEFAULT_PRUNER,
        pruner_options: Mapping | None = None,
        seed: int | None = None,
        max_trials: int | None = None,
        lock: str | Mapping | LockSettings | None = None,
        name: str | None = None,
        exist_ok: bool = False,
    ) -> "Study":
        """Create the study folder; with ``exist_ok``, an identical existing study is fine."""
        from .pruners import make_pruner
        from .samplers import make_sampler

        path = Path(path)
        if space is None:
            raise InvalidInput("a study needs a search space", field="space")
        space = space if isinstance(space, Space) else Space.from_spec(dict(space))
        if max_trials is not None and (isinstance(max_trials, bool) or not isinstance(max_trials, int)
                                       or max_trials < 1):
            raise InvalidInput("must be a positive integer", field="max_trials", value=max_trials)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise InvalidInput("must be a non-negative integer", field="seed", value=seed)
        config = StudyConfig(
            name=name or path.resolve().name,
            objectives=_as_objectives(objectives),
            space=space,
            sampler=sampler,
            sampler_options=dict(sampler_options or {}),
            pruner=pruner,
            pruner_options=dict(pruner_options or {}),
            seed=new_seed() if seed is None else seed,
            max_trials=max_trials,
            lock=lock if isinstance(lock, LockSettings) else parse_lock(lock),
            created_at=now_iso(),
        )
        make_sampler(config.sampler, config.sampler_options, config.seed, config.objectives).check_space(space)
        if not config.objectives and config.sampler not in SWEEP_SAMPLERS:
            raise InvalidInput(f"a study with no objective can only use the {' or '.join(SWEEP_SAMPLERS)} sampler",
                               field="sampler.name", value=config.sampler)
        make_pruner(config.pruner, config.pruner_options, config.objectives)
        if path.exists() and not path.is_dir():
            raise InvalidInput("exists and is not a folder", file=path)
        path.mkdir(parents=True, exist_ok=True)
        study = cls(path, config)
        with study._locked():
            if study.layout.config.exists():
                existing = read_config(study.layout.config)
                difference = existing.difference(config, ignore_seed=seed is None)
                if not exist_ok:
                    raise InvalidInput("a study already exists here (use --exist-ok to accept it if it matches)",
                                       file=study.layout.config)
                if difference:
                    raise InvalidInput(f"a different study already exists here: {difference}",
                                       file=study.layout.config)
                return cls(path, existing)
            study.layout.trials.mkdir(exist_ok=True)
            write_config(config, study.layout.config, study.layout.config_copy)
            study.journal.create({"seq": 0, "event": "created", "at": config.created_at, "format": FORMAT,
                                  "study": config.name})
        return study

    # ------------------------------------------------------------------ reading
    def history(self, scope: str = ALL) -> History:
        """Replay the journal as it is now, starting from the snapshot when one fits.

        No lock is needed: lines are only ever appended.  A ``scope`` other
        than ``ALL`` may leave finished trials out (see ``History``), which
        keeps ``ask``, ``tell`` and ``report`` from paying for the whole study.
        A snapshot that does not fit is read once more (a compaction may have
        just replaced it), then the whole journal is replayed.
        """
        for _ in range(2):
            snapshot = read_snapshot(self.layout.snapshot, scope)
            if snapshot is None:
                continue
            history = snapshot.history
            chunk = self.journal.read(history.offset)
            if chunk.size >= history.offset and (not chunk.events or chunk.events[0]["seq"] == history.last_seq + 1):
                history.consume(chunk)
                return history
            break
        history = History()
        history.consume(self.journal.read(0))
        return history

    def window(self, history: History) -> list[TrialRecord]:
        """The finished trials a windowed model or a pruner reads (``asktell.window``), from any history but ``LIVE``."""
        return window(history.finished(), self.config.objectives)

    def _commit(self, lock: StudyLock, history: History, decide: Callable[[], list[dict]]) -> list[dict]:
        """Under the lock: bring ``history`` up to date, append what ``decide`` makes of it.

        A journal found longer than what was read means the mount served a
        stale view: nothing is written, and the read and the decision are
        done again (a stale cache expires).
        """
        for _ in range(STALE_READ_RETRIES):
            seen = self._catch_up(history)
            events = decide()
            if not events:
                return []
            lock.check_lease()
            try:
                history.offset = self.journal.append(events, seen)
            except StaleJournal:
                time.sleep(STALE_READ_PAUSE)
                continue
            history.apply(events)
            return events
        raise UnsafeFilesystem(f"the journal kept changing size behind this process's reads. {STALE_VIEW_HINT}",
                               file=self.layout.journal)

    def _catch_up(self, history: History) -> int:
        """Under the lock: apply what the journal holds beyond ``history.offset``.

        Returns the journal's size.  A stale view of a network mount (a read
        short of the file's size, or a journal behind its head) is retried for
        a while (the cache expires) and never acted on; if it stays stale the
        call fails.
        """
        for _ in range(STALE_READ_RETRIES):
            chunk = self.journal.read_locked(history.offset, history.last_seq)
            if not chunk.stale:
                return history.consume(chunk)
            time.sleep(STALE_READ_PAUSE)
        raise UnsafeFilesystem(f"{chunk.stale}. {STALE_VIEW_HINT}", file=self.layout.journal)

    def compact(self, rebuild: bool = False) -> compaction.Compaction | None:
        """Bring the snapshot up to date (``asktell.compaction``); None if another process is compacting."""
        with compaction.CompactionClaim(self.layout.snapshot) as claim:
            if not claim.held:
                return None
            done = compaction.compact(self.layout.snapshot, self.journal, self.config.objectives, rebuild)
            sweep_leftovers(self.path)
            return done

    def _refresh_snapshot(self, history: History) -> None:
        """Compact when the snapshot lags far behind the journal (by at most one process at a time).

        Called after the caller's events are written: a compaction that fails
        (a full disk, a cache deleted under it) leaves the cache as it was and
        must not turn a recorded tell into a failed call.
        """
        if history.last_seq - history.snapshot_seq >= compaction.REFRESH_EVENTS:
            try:
                self.compact()
            except OSError:
                pass

    @property
    def trials(self) -> list[TrialRecord]:
        return self.history().trials

    def trial(self, number: int) -> TrialRecord:
        record = self.history().get(number)
        if record is None:
            raise InvalidInput("no such trial in this study", file=self.layout.journal, field="trial", value=number)
        return record

    @property
    def best_scope(self) -> str:
        """The least a history must hold for ``best_trials``: the window holds each objective's best, not a front."""
        return WINDOW if len(self.config.objectives) == 1 else ALL

    def best_trials(self, history: History | None = None) -> list[TrialRecord]:
        """The best complete trial, or with several objectives the Pareto front (in trial order).

        ``history`` must hold at least ``best_scope``; without it the journal is read now.
        """
        history = history or self.history(self.best_scope)
        if not self.config.objectives:  # a sweep: no trial is better than another
            return []
        scored = [(t, self._signed(t)) for t in history.finished() if t.state == COMPLETE]
        if len(self.config.objectives) == 1:
            return [min(scored, key=lambda ts: ts[1])[0]] if scored else []
        return [t for t, s in scored if not any(_dominates(o, s) for _, o in scored)]

    def best_trial(self, history: History | None = None) -> TrialRecord | None:
        if len(self.config.objectives) != 1:
            raise InvalidInput("the study has several objectives; use best_trials() for the Pareto front",
                               field="objectives")
        best = self.best_trials(history)
        return best[0] if best else None

    def _signed(self, record: TrialRecord) -> tuple[float, ...]:
        values = record.values or {}
        return tuple(o.sign * values[o.name] for o in self.config.objectives)

    def trial_dir(self, number: int) -> Path:
        return self.layout.trial_dir(number)

    # ------------------------------------------------------------------ ask
    def ask(self, *, key: str | None = None) -> AskedTrial:
        """Allocate the next trial, sample its parameters and write its ``params.yaml``."""
        return self.ask_many(1, key=key)[0]

    def ask_many(self, count: int, *, key: str | None = None) -> list[AskedTrial]:
        """Up to ``count`` new trials in one lock hold; ``Exhausted`` only if none is left."""
        from .samplers import make_sampler

        if count < 1:
            raise InvalidInput("must be at least 1", field="count", value=count)
        if key is not None and count != 1:
            raise InvalidInput("--key asks for exactly one trial", field="count", value=count)
        if key is not None and (not isinstance(key, str) or not key or "\n" in key):
            raise InvalidInput("must be a non-empty single-line string", field="key", value=key)
        sampler = make_sampler(self.config.sampler, self.config.sampler_options, self.config.seed,
                               self.config.objectives)
        history = self.history((WINDOW if sampler.windowed else ALL) if sampler.uses_history else LIVE)
        draft, drafted_at = self._draft(sampler, history, count, key), history.last_seq
        reused: TrialRecord | None = None
        new: list[TrialRecord] = []

        def decide() -> list[dict]:
            nonlocal reused, new
            reused = history.running_with_key(key) if key is not None else None
            if reused is not None:
                return []
            unchanged = draft is not None and history.last_seq == drafted_at
            new = draft if unchanged else self._suggest(sampler, history, count, key)
            return [_asked_event(history.last_seq + 1 + i, t) for i, t in enumerate(new)]

        with self._locked() as lock:
            self._commit(lock, history, decide)
        if reused is not None:
            if not self.layout.params_file(reused.number).exists():
                write_params(self.layout, self.config.name, reused)
            return [AskedTrial(reused.number, reused.params, self.trial_dir(reused.number), key, reused=True)]
        self._refresh_snapshot(history)
        return [AskedTrial(t.number, t.params, write_params(self.layout, self.config.name, t), key) for t in new]

    def _draft(self, sampler, history: History, count: int, key: str | None) -> list[TrialRecord] | None:
        """Outside the lock: the trials the journal as read so far would get.

        A model-based sampler may take tens of milliseconds; drafting before
        taking the lock keeps that out of the lock's hold time.  Under the
        lock the draft is used only if no event was appended since it was
        made, so the decision is still taken on the latest journal.
        """
        if key is not None and history.running_with_key(key) is not None:
            return None
        try:
            return self._suggest(sampler, history, count, key)
        except Exhausted:
            return None  # decided again under the lock, where the error is raised

    def _suggest(self, sampler, history: History, count: int, key: str | None) -> list[TrialRecord]:
        """New trial records, numbered from ``history.next_number``."""
        from .samplers import derive_seed

        finished = ((self.window(history) if sampler.windowed else history.finished()) if sampler.uses_history
                    else [])
        pending = history.in_state(RUNNING)
        host, pid = socket.gethostname(), os.getpid()
        new: list[TrialRecord] = []
        queue = list(history.queue.items())  # enqueued parameter sets go out first, oldest first
        for number in range(history.next_number, history.next_number + count):
            if self.config.max_trials is not None and number >= self.config.max_trials:
                break
            if queue:
                seq, entry = queue.pop(0)
                new.append(TrialRecord(number=number, params=entry["params"], asked_at=now_iso(), host=host, pid=pid,
                                       key=key, queued=seq, retry_of=entry.get("retry_of"),
                                       retries=entry.get("retries")))
                continue
            try:
                params = sampler.suggest(self.config.space, finished, pending + new,
                                         derive_seed(self.config.seed, number))
            except Exhausted:
                if new:
                    break
                raise
            new.append(TrialRecord(number=number, params=params, asked_at=now_iso(), host=host, pid=pid, key=key))
        if not new:
            raise Exhausted(f"the study's budget of {self.config.max_trials} trials is used up",
                            file=self.layout.config, field="max_trials", value=self.config.max_trials)
        return new

    # ------------------------------------------------------------------ tell
    def tell(self, trial: int | TrialRecord | AskedTrial, values: Any = None, *, state: str = COMPLETE,
             constraints: Mapping[str, float] | None = None, source: object = None,
             failure: Mapping[str, Any] | None = None) -> TellOutcome:
        """Record a trial's outcome.

        ``values`` is a number (one objective) or ``{objective: number}``;
        ``constraints`` maps names to numbers, feasible when all are <= 0.
        ``failure`` says why a trial failed (``exit_code``, ``reason``,
        ``log_tail``; see ``check_failure``).  Telling the same outcome twice
        succeeds and changes nothing (the first failure details are kept); a
        different outcome for a finished trial is an error.  A trial told
        ``pruned`` without values gets the value it reported at its largest
        step for the objective the pruner watches (if any).
        """
        number = trial if isinstance(trial, int) else trial.number
        if isinstance(number, bool) or not isinstance(number, int):
            raise InvalidInput("must be a trial number", field="trial", value=trial)
        state = check_state(state, source)
        if values is not None and not isinstance(values, Mapping):
            values = values_from(values, None, self.config.objectives, source)
        checked = check_values(values, self.config.objectives, state, source)
        limits = check_constraints(constraints, source)
        details = check_failure(failure, source)
        # Told pruned without values: the value it last reported of the objective the pruner watches.
        watched = self.pruner().objective if state == PRUNED and checked is None else None
        history = self.history(LIVE)
        if number < history.next_number and history.get(number) is None:
            # Finished before the snapshot, so left out of the partial history: a repeated tell (a retried
            # job's, usually of a recent trial: the window has it; else every trial is read).
            record = self.history(WINDOW).get(number) or self._require_trial(self.history(), number)
            return self._retold(record, state, _last_reported(record, watched) if watched else checked, limits)
        record: TrialRecord | None = None
        told = checked

        def decide() -> list[dict]:
            nonlocal record, told
            record = self._require_trial(history, number)
            told = _last_reported(record, watched) if watched else checked
            if record.finished:
                return []
            return [_told_event(history.last_seq + 1, number, state, values=told, constraints=limits, **details)]

        with self._locked() as lock:
            written = self._commit(lock, history, decide)
        assert record is not None
        if not written:
            return self._retold(record, state, told, limits)
        write_trial(self.layout, self.config.name, record)
        self._refresh_snapshot(history)
        return TellOutcome(record)

    def _require_trial(self, history: History, number: int) -> TrialRecord:
        record = history.get(number)
        if record is None:
            raise InvalidInput(f"no such trial in this study (it has {history.next_number})",
                               file=self.layout.journal, field="trial", value=number)
        return record

    def _retold(self, record: TrialRecord, state: str, values: dict | None, constraints: dict | None) -> TellOutcome:
        if record.state != state:
            raise InvalidInput(f"trial {record.number} was already told {record.state}; it cannot become {state}",
                               file=self.layout.journal, field="state", value=state)
        if record.values != values:
            raise InvalidInput(f"trial {record.number} was already told other values {record.values}",
                               file=self.layout.journal, field="values", value=values)
        if record.constraints != constraints:
            raise InvalidInput(f"trial {record.number} was already told other constraints {record.constraints}",
                               file=self.layout.journal, field="constraints", value=constraints)
        if not self.layout.trial_file(record.number).exists():
            write_trial(self.layout, self.config.name, record)
        return TellOutcome(record, already_told=True)

    # ------------------------------------------------------------------ report
    def report(self, number: int, step: int, values: float | Mapping[str, float], *,
               source: object = None) -> tuple[TrialRecord, History]:
        """Record intermediate values of a running trial at ``step``; a step reported again replaces it.

        ``values`` maps metric names to numbers; a plain number is the value of
        the objective the pruner watches.  Returns the trial and the history it
        was recorded in (up to date under the lock), from which a pruner
        decides whether the trial should stop (``should_prune``).  A report
        also counts as a heartbeat.  ``source`` names where bad values came
        from (e.g. ``--value``) in the error.
        """
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise InvalidInput("must be an integer >= 0", field="step", value=step)
        if not isinstance(values, Mapping):
            objective = self.pruner().objective
            if objective is None:
                raise InvalidInput(f"the study has {len(self.config.objectives)} objectives and its pruner watches "
                                   "none of them; give the values by name", file=source, field="values", value=values)
            values = {objective.name: values}
        checked = check_named_numbers(values, "metric", source, "values")
        history = self.history(WINDOW)
        record: TrialRecord | None = None

        def decide() -> list[dict]:
            nonlocal record
            record = self._require_trial(history, number)
            if record.finished:
                raise InvalidInput(f"trial {number} was already told {record.state}; it takes no more reports",
                                   file=self.layout.journal, field="trial", value=number)
            return [{"seq": history.last_seq + 1, "event": "reported", "at": now_iso(), "trial": number,
                     "step": step, "values": checked, "host": socket.gethostname(), "pid": os.getpid()}]

        with self._locked() as lock:
            self._commit(lock, history, decide)
        assert record is not None
        self._refresh_snapshot(history)
        return record, history

    def pruner(self) -> "Pruner":
        """The study's pruner, built from ``study.yaml`` (see ``asktell.pruners``)."""
        from .pruners import make_pruner

        return make_pruner(self.config.pruner, self.config.pruner_options, self.config.objectives)

    def should_prune(self, number: int, history: History | None = None) -> str | None:
        """Why running trial ``number`` should stop now -- its pruner's reason -- or None to let it run.

        ``history`` is the history to judge from (``report`` passes the one
        it has just brought up to date under the lock); without it the journal
        is read now.  The pruner sees the running trials and the window of
        finished ones (``asktell.window``).  A trial that is no longer running
        is an input error, as for ``report``: its worker should stop anyway.
        """
        pruner = self.pruner()
        if history is None:
            history = self.history(WINDOW)
        record = self._require_trial(history, number)
        if record.finished:
            raise InvalidInput(f"trial {number} was already told {record.state}", file=self.layout.journal,
                               field="trial", value=number)
        return pruner.prune(sorted([*self.window(history), *history.in_state(RUNNING)], key=_number), record)

    # ------------------------------------------------------------------ queue and leases
    def enqueue(self, param_sets: Sequence[Mapping[str, Any]]) -> list[int]:
        """Queue fixed parameter sets; the next asks hand them out, oldest first.  Returns their queue ids.

        Each set is checked against the space (ranges, steps, conditions) before
        anything is written: a bad one fails the whole call.
        """
        checked = [self.config.space.validate(dict(params), prefix="params") for params in param_sets]
        history = self.history(LIVE)

        def decide() -> list[dict]:
            return [{"seq": history.last_seq + 1 + i, "event": "enqueued", "at": now_iso(), "params": params,
                     "host": socket.gethostname(), "pid": os.getpid()} for i, params in enumerate(checked)]

        with self._locked() as lock:
            written = self._commit(lock, history, decide)
        return [event["seq"] for event in written]

    def heartbeat(self, *numbers: int) -> list[int]:
        """Renew running trials' leases in one lock hold: ``reap`` leaves them alone while heartbeats come.

        Returns the numbers that are no longer running (reaped, or told by
        another process) and so were not renewed: their workers should stop,
        their results will not count.
        """
        history = self.history(LIVE)
        gone: list[int] = []

        def decide() -> list[dict]:
            running = {t.number for t in history.in_state(RUNNING)}  # finished ones may be left out
            gone[:] = [n for n in numbers if n not in running]
            return [{"seq": history.last_seq + 1 + i, "event": "heartbeat", "at": now_iso(), "trial": n,
                     "host": socket.gethostname(), "pid": os.getpid()}
                    for i, n in enumerate(n for n in numbers if n in running)]

        with self._locked() as lock:
            self._commit(lock, history, decide)
        return gone

    def reap(self, older_than: float, retry: int = 0) -> list[tuple[TrialRecord, int | None]]:
        """Mark failed every running trial silent for more than ``older_than`` seconds.

        With ``retry`` > 0 a reaped trial's parameters are enqueued again, as
        long as they have run fewer than ``retry`` + 1 times.  Returns each
        reaped trial with the queue id of its retry (or None).
        """
        from .output import format_duration

        if isinstance(older_than, bool) or not isinstance(older_than, (int, float)) or older_than < 0:
            raise InvalidInput("must be a duration >= 0", field="older_than", value=older_than)
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise InvalidInput("must be an integer >= 0", field="retry", value=retry)
        history = self.history(LIVE)
        reaped: list[tuple[TrialRecord, int | None]] = []

        def decide() -> list[dict]:
            reaped.clear()
            events: list[dict] = []
            now = time.time()
            for record in history.in_state(RUNNING):
                silence = record.silence(now)
                if silence <= older_than:
                    continue
                reason = f"reaped: no sign of life for {format_duration(silence)}"
                events.append(_told_event(history.last_seq + 1 + len(events), record.number, FAILED, reason=reason))
                runs = (record.retries or 0) + 1
                requeued = None
                if runs <= retry:
                    requeued = history.last_seq + 1 + len(events)
                    events.append({"seq": requeued, "event": "enqueued", "at": now_iso(), "params": record.params,
                                   "retry_of": record.number, "retries": runs, "host": socket.gethostname(),
                                   "pid": os.getpid()})
                reaped.append((record, requeued))
            return events

        with self._locked() as lock:
            self._commit(lock, history, decide)
        for record, _ in reaped:
            write_trial(self.layout, self.config.name, record)
        self._refresh_snapshot(history)
        return reaped

    # ------------------------------------------------------------------ events made elsewhere
    def append(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Append events built outside this class (``import-optuna``) in one locked write, numbered after the last.

        The caller answers for their content: trial numbers must continue the
        journal's, as they do for a study just created.
        """
        history = self.history(LIVE)

        def decide() -> list[dict]:
            return [{"seq": history.last_seq + 1 + i, **event} for i, event in enumerate(events)]

        with self._locked() as lock:
            self._commit(lock, history, decide)
        self._refresh_snapshot(history)

    # ------------------------------------------------------------------ lock
    def _locked(self) -> StudyLock:
        settings = self.config.lock
        lock = make_lock(self.path, settings.kind, settings.lease_seconds, settings.timeout_seconds)
        self.last_lock = lock
        return lock


def _asked_event(seq: int, record: TrialRecord) -> dict:
    event = {"seq": seq, "event": "asked", "at": record.asked_at, "trial": record.number,
             "params": record.params, "host": record.host, "pid": record.pid}
    return {**event, **_present(key=record.key, queued=record.queued, retry_of=record.retry_of,
                                retries=record.retries)}


def _told_event(seq: int, number: int, state: str, **optional: Any) -> dict:
    """A ``told`` event; ``values``, ``constraints`` and ``reason`` are written only when given."""
    event = {"seq": seq, "event": "told", "at": now_iso(), "trial": number, "state": state,
             "host": socket.gethostname(), "pid": os.getpid()}
    return {**event, **_present(**optional)}


def _last_reported(record: TrialRecord, objective: Objective) -> dict | None:
    """``{objective: value}`` at the largest step the trial reported it, or None if it never did."""
    steps = (record.intermediate or {}).get(objective.name)
    return {objective.name: steps[max(steps)]} if steps else None


def _number(record: TrialRecord) -> int:
    return record.number


def _present(**fields: Any) -> dict:
    """The fields that have a value: optional event fields are left out rather than written as null."""
    return {name: value for name, value in fields.items() if value is not None}


def _dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """``a`` is no worse than ``b`` everywhere and better somewhere (all minimized)."""
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))

