"""Compaction: the snapshot and its segments always load as the journal's replay, in every scope, and stay small.

The crash side (SIGKILL during compaction) is in test_compaction_crash.py.
"""

from __future__ import annotations

import math
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asktell import Study, compaction
from asktell.config import Objective
from asktell.errors import InvalidInput
from asktell.samplers import derive_seed, make_sampler
from asktell.snapshot import read_snapshot
from asktell.samplers.tpe import MAX_BAD, MAX_GOOD
from asktell.space import Space
from asktell.trial import ALL, COMPLETE, FAILED, LIVE, PRUNED, RUNNING, WINDOW, History, TrialRecord
from asktell.window import NEWEST, window
from tests.support.bulk import AT, add_trials
from tests.support.drive import optimize
from tests.support.loss import LOSS, SPREAD_SPACES, distance_to_point_three
from tests.support.processes import assert_check_passes

TWO = (Objective("loss", "minimize"), Objective("acc", "maximize"))


def replay(study: Study) -> History:
    history = History()
    history.consume(study.journal.read(0))
    return history


def assert_loads_as_replay(study: Study) -> None:
    """Every scope the snapshot serves holds what a replay of the whole journal holds."""
    expected = replay(study)
    for scope in (ALL, WINDOW, LIVE):
        history = study.history(scope)
        assert (history.last_seq, history.offset, history.next_number) == \
               (expected.last_seq, expected.offset, expected.next_number)
        assert history.counts == expected.counts and history.queue == expected.queue
        assert history.in_state(RUNNING) == expected.in_state(RUNNING)
        if scope == ALL:
            assert history.records == expected.records
        if scope != LIVE:
            assert study.window(history) == window(expected.finished(), study.config.objectives)


def grow(study: Study, rng: random.Random, trials: int) -> None:
    """In-process asks, reports and tells of every kind; about one trial in five is left running."""
    for _ in range(trials):
        number = study.ask().number
        for step in range(rng.randint(0, 3)):
            study.report(number, step, {"loss": rng.random()})
        roll = rng.random()
        if roll < 0.6:
            study.tell(number, {"loss": rng.random()})
        elif roll < 0.7:
            study.tell(number, state=PRUNED)
        elif roll < 0.8:
            study.tell(number, state=FAILED, failure={"exit_code": 3, "reason": "exit 3"})
    study.enqueue([{"x": rng.random()}])


@pytest.fixture
def study(tmp_path: Path) -> Study:
    return Study.create(tmp_path / "study", {"x": "0.0..1.0"}, objectives={"loss": "minimize"}, sampler="random",
                        seed=3)


def test_incremental_compactions_load_as_the_replay(study: Study, valid_files) -> None:
    rng = random.Random(0)
    add_trials(study, NEWEST + 200)  # past the window, so that it is not the whole history
    for _ in range(6):
        done = study.compact()
        assert done is not None and done.seq == replay(study).last_seq
        assert_loads_as_replay(study)
        grow(study, rng, 12)  # journal events past the snapshot: loaded on top of it
        assert_loads_as_replay(study)
    running = study.history(LIVE).in_state(RUNNING)
    for record in running:  # trials running at one compaction, finished after it
        study.tell(record.number, {"loss": 0.5})
    study.compact()
    assert_loads_as_replay(study)
    valid_files(study.path)
    assert_check_passes(study.path)


def test_a_rebuild_and_incremental_compactions_agree(study: Study) -> None:
    add_trials(study, 300)
    study.compact()
    grow(study, random.Random(1), 20)
    incremental = study.compact()
    assert not incremental.rebuilt and incremental.added > 0
    before = {scope: study.history(scope) for scope in (ALL, WINDOW)}
    rebuilt = study.compact(rebuild=True)
    assert rebuilt.rebuilt and rebuilt.added == replay(study).counts[COMPLETE] + \
        replay(study).counts[PRUNED] + replay(study).counts[FAILED]
    assert rebuilt.segments == 1
    for scope, history in before.items():
        assert study.history(scope).records == history.records


def test_segments_merge_so_that_a_study_keeps_logarithmically_many(study: Study) -> None:
    add_trials(study, 40)
    study.compact()
    listed_before: set[str] = set()
    for round_ in range(40):
        add_trials(study, 3, seed=round_)
        done = study.compact()
        snapshot = read_snapshot(study.layout.snapshot, LIVE)
        listed = {s.name for s in snapshot.segments}
        finished = sum(s.trials for s in snapshot.segments)
        assert finished == 40 + 3 * (round_ + 1)
        assert done.segments == len(listed) <= math.log2(finished) + 2
        on_disk = {p.name for p in (study.layout.snapshot.parent / "segments").iterdir()}
        assert listed <= on_disk <= listed | listed_before  # replaced ones linger one compaction, for readers
        listed_before = listed
    assert_loads_as_replay(study)


def test_a_damaged_cache_is_not_used_and_compact_repairs_it(study: Study) -> None:
    add_trials(study, 50)
    study.compact()
    add_trials(study, 50, seed=1)
    study.compact()
    folder = study.layout.snapshot.parent / "segments"
    listed = read_snapshot(study.layout.snapshot, LIVE).segments
    (folder / listed[0].name).unlink()
    assert study.history().records == replay(study).records  # the journal is replayed instead
    checked = subprocess.run([sys.executable, "-m", "asktell", "check", str(study.path)], capture_output=True,
                             text=True)
    assert checked.returncode == 0 and "missing a segment" in checked.stdout
    assert study.compact().rebuilt  # an incremental compaction will not continue a broken cache
    assert_loads_as_replay(study)
    segment = folder / read_snapshot(study.layout.snapshot, LIVE).segments[0].name
    segment.write_bytes(segment.read_bytes()[:-10])  # cut short by hand
    assert read_snapshot(study.layout.snapshot, ALL) is None
    assert study.compact().rebuilt
    shutil.rmtree(study.layout.snapshot.parent)  # the whole cache deleted
    assert study.history().records == replay(study).records
    assert study.compact().rebuilt
    assert_check_passes(study.path)


@pytest.mark.parametrize("sampler", ["tpe", "qmc", "de", "gp"])
def test_a_windowed_ask_suggests_what_the_whole_history_gives(tmp_path: Path, sampler: str) -> None:
    """A large study's ask reads the window from the snapshot; the same window from a replay gives the same point."""
    study = Study.create(tmp_path / "study", {"x": "0.0..1.0", "opt": "a,b,c"}, objectives={"loss": "minimize"},
                         sampler=sampler, seed=5)
    add_trials(study, NEWEST + 100)
    study.compact()
    add_trials(study, 20, seed=1)  # finished after the snapshot
    pending = study.ask()  # and one running
    expected = replay(study)
    model = make_sampler(sampler, {}, study.config.seed, study.config.objectives)
    number = expected.next_number
    params = model.suggest(study.config.space, window(expected.finished(), study.config.objectives),
                           expected.in_state(RUNNING), derive_seed(study.config.seed, number))
    asked = study.ask()
    assert (asked.number, asked.params) == (number, params)
    assert pending.number == number - 1


def _finished(number: int, losses: tuple[float, float] | None) -> TrialRecord:
    if losses is None:
        return TrialRecord(number, {}, AT, state=PRUNED)
    return TrialRecord(number, {}, AT, state=COMPLETE, values={"loss": losses[0], "acc": losses[1]})


SMALL_BEST, SMALL_NEWEST = 3, 20


@settings(max_examples=200, deadline=None)
@given(outcomes=st.lists(st.one_of(st.none(), st.tuples(st.integers(0, 9), st.integers(0, 9))), max_size=60),
       data=st.data())
def test_the_window_kept_incrementally_is_the_window_of_every_trial(outcomes, data) -> None:
    """Trials finish in any order; a window kept from compaction to compaction equals the window of all of them."""
    trials = [_finished(n, o) for n, o in enumerate(outcomes)]
    order = data.draw(st.permutations(range(len(trials))))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(trials)), max_size=6)))
    kept: list[TrialRecord] = []
    for cut in [*cuts, len(trials)]:
        seen = order[:cut]
        new = [trials[n] for n in seen if all(t.number != n for t in kept)]
        kept = window(sorted(kept + new, key=lambda t: t.number), TWO, SMALL_BEST, SMALL_NEWEST)
        assert kept == window([trials[n] for n in sorted(seen)], TWO, SMALL_BEST, SMALL_NEWEST)
    assert len(kept) <= SMALL_NEWEST + 2 * SMALL_BEST
    complete = [t for t in trials if t.state == COMPLETE]
    if complete:  # each objective's best is in the window
        numbers = {t.number for t in kept}
        assert min(complete, key=lambda t: (t.values["loss"], t.number)).number in numbers
        assert min(complete, key=lambda t: (-t.values["acc"], t.number)).number in numbers


def test_compact_from_the_command_line(study: Study) -> None:
    def compact(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "asktell", "compact", str(study.path), *args],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    add_trials(study, 5)
    assert "5 trials added, 1 segments (rebuilt from the journal)" in compact()
    assert "0 trials added, 1 segments\n" in compact()
    assert "(rebuilt from the journal)" in compact("--rebuild")


def test_a_failing_compaction_does_not_fail_the_call_that_started_it(study: Study, monkeypatch) -> None:
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(compaction, "REFRESH_EVENTS", 1)
    monkeypatch.setattr(compaction, "compact", no_space)
    trial = study.ask()
    study.report(trial.number, 0, {"loss": 0.7})
    assert study.tell(trial, 0.5).record.values == {"loss": 0.5}
    assert replay(study).get(trial.number).state == COMPLETE


def test_a_repeated_tell_of_a_compacted_trial_is_recognised_in_or_out_of_the_window(study: Study) -> None:
    add_trials(study, NEWEST + 49)  # the newest, 1048, is complete (bulk trials told pruned carry no value)
    study.compact()
    expected = replay(study)
    window_numbers = {t.number for t in study.window(study.history(WINDOW))}
    for number in (0, NEWEST + 48):  # the oldest (not in the window) and the newest (in it)
        record = expected.get(number)
        assert (number in window_numbers) == (number == NEWEST + 48)
        again = study.tell(number, record.values, state=record.state)
        assert again.already_told and again.record == record
        with pytest.raises(InvalidInput, match="already told"):
            study.tell(number, state=FAILED if record.state != FAILED else PRUNED)
    assert study.journal.read(0).end == expected.offset  # nothing written


@pytest.mark.parametrize("sampler", ["tpe", "gp"])
def test_a_large_studys_window_gives_the_suggestion_the_whole_history_gives(sampler: str) -> None:
    """Past ``window.NEWEST`` finished trials ask hands the model the window; without constraints, nothing changes.

    TPE reads its good group and the newest ``MAX_BAD`` others, GP the best and the newest 100 each.
    """
    assert NEWEST >= MAX_GOOD + MAX_BAD
    space = Space.from_shorthands(SPREAD_SPACES[1])
    history = optimize("random", {}, LOSS, space, distance_to_point_three(space), NEWEST + 300, 0)
    history[5::7] = [TrialRecord(t.number, t.params, AT, state=FAILED) for t in history[5::7]]
    pending = [TrialRecord(len(history) + i, {"x": 0.1 * i, "lr": 1e-3, "n": 2, "opt": "a"}, AT) for i in range(3)]
    windowed = window(history, LOSS)
    assert len(windowed) < len(history)
    for seed in range(3):
        model = make_sampler(sampler, {}, seed, LOSS)
        assert model.suggest(space, windowed, pending, seed) == model.suggest(space, history, pending, seed)
