"""Compactions SIGKILLed at random moments, while tells go on and readers load the study.

``asktell compact`` -- and any call once the journal has grown 500 events past
the snapshot -- rewrites the cache (``cache/snapshot.jsonl`` and
``cache/segments/``) outside the study lock.  Killed at any instant, a
compaction must lose nothing: the study loads, in every scope, what a replay
of the journal gives; every acknowledged tell is there with its values and
intermediate values; the snapshot in force is still whole (the previous one,
or the new one); ``asktell check`` finds no error; and the next compaction
takes over at once and brings the cache up to date.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from asktell import Study
from asktell.check import check_study
from asktell.compaction import REFRESH_EVENTS, STALE_CLAIM_SECONDS, CompactionClaim
from asktell.layout import StudyLayout
from asktell.lock import MkdirLock
from asktell.snapshot import Segment, read_snapshot, segments_dir
from asktell.trial import ALL, LIVE, RUNNING, WINDOW, History
from asktell.window import window
from tests.conftest import popen_asktell, run_asktell
from tests.support.processes import assert_check_passes, describe, finish, stop_leftovers

SPACE = {"x": "0..1", "n": "1..8"}
LOSS = {"loss": "minimize"}
AT = "2024-01-01T00:00:00.000Z"
#: Trials before the first kill: past ``asktell.window.NEWEST``, so that the window is a real selection.
INITIAL_TRIALS = 2500
KILLS = 50
#: A kill lands uniformly in [0, KILL_SPREAD x the duration it was measured against].
KILL_SPREAD = 1.2
#: Seed of the kill moments and of the events; print it with any failure (pytest shows captured output).
SEED = int(os.environ.get("ASKTELL_CRASH_SEED", random.randrange(2**32)))


# ---------------------------------------------------------------------- the study and what it must hold
class Events:
    """Journal events for ``Study.append``: trials asked, reporting and finishing in random order.

    Some trials stay running across many batches, so that snapshots carry
    running trials and segments receive trials out of number order.
    ``expected`` holds what every appended event acknowledged.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.next_number = 0
        self.running: list[int] = []
        #: number -> (params, state, values, intermediate) as the study must hold it.
        self.expected: dict[int, tuple] = {}

    def batch(self, size: int) -> list[dict]:
        events: list[dict] = []
        while len(events) < size:
            roll = self.rng.random()
            if roll < 0.3 or len(self.running) < 10:
                events.append(self._asked())
            elif roll < 0.65:
                events.append(self._reported())
            elif roll < 0.99:
                events.append(self._told())
            else:
                events.append({"event": "enqueued", "at": AT, "params": self._params(), "host": "h", "pid": 1})
        return events

    def _params(self) -> dict:
        return {"x": self.rng.random(), "n": self.rng.randint(1, 8)}

    def _asked(self) -> dict:
        number, self.next_number = self.next_number, self.next_number + 1
        params = self._params()
        self.running.append(number)
        self.expected[number] = (params, RUNNING, None, None)
        return {"event": "asked", "at": AT, "trial": number, "params": params, "host": "h", "pid": 1}

    def _reported(self) -> dict:
        number = self.rng.choice(self.running)
        params, state, values, intermediate = self.expected[number]
        step, value = len((intermediate or {}).get("loss", {})), self.rng.random()
        intermediate = {"loss": {**(intermediate or {}).get("loss", {}), step: value}}
        self.expected[number] = (params, state, values, intermediate)
        return {"event": "reported", "at": AT, "trial": number, "step": step, "values": {"loss": value},
                "host": "h", "pid": 1}

    def _told(self) -> dict:
        # Mostly the oldest running trials, now and then a young one: segments get trials out of order.
        number = self.running.pop(0 if self.rng.random() < 0.8 else self.rng.randrange(len(self.running)))
        params, _, _, intermediate = self.expected[number]
        state = self.rng.choice(["complete"] * 8 + ["pruned", "failed"])
        values = {"loss": self.rng.random()} if state == "complete" else None
        self.expected[number] = (params, state, values, intermediate)
        return {"event": "told", "at": AT, "trial": number, "state": state, "host": "h", "pid": 1,
                **({"values": values} if values else {})}


def build_study(path: Path, events: Events, trials: int) -> Study:
    """A study of ``trials`` trials, appended in batches as ``import-optuna`` writes them (it compacts as it goes)."""
    study = Study.create(path, SPACE, objectives=LOSS, sampler="random", seed=1)
    while events.next_number < trials:
        study.append(events.batch(2000))
    return study


def summary(record) -> tuple:
    return record.params, record.state, record.values, record.intermediate


class Replay:
    """The journal replayed up to any seq, reading only what was appended since the last call."""

    def __init__(self, study: Study) -> None:
        self.journal = study.journal
        self.objectives = study.config.objectives
        self.events: list[dict] = []
        self.offset = 0
        self.last: History | None = None

    def upto(self, seq: int) -> History:
        """The replay at ``seq`` (one object, moved on while the seqs asked for grow, as a reader's do)."""
        if seq >= len(self.events):
            self._read()
        assert seq < len(self.events), f"the journal ends at seq {len(self.events) - 1}, before seq {seq}"
        if self.last is None or seq < self.last.last_seq:
            self.last = History()
        self.last.apply(self.events[self.last.last_seq + 1:seq + 1])
        return self.last

    def end(self) -> History:
        self._read()
        return self.upto(len(self.events) - 1)

    def _read(self) -> None:
        chunk = self.journal.read(self.offset)
        assert [e["seq"] for e in chunk.events] == list(range(len(self.events), len(self.events) + len(chunk.events)))
        self.offset = chunk.end
        self.events += chunk.events


def assert_agrees(history: History, replay: Replay) -> None:
    """``history``, loaded in any scope, holds what a replay of the journal up to its seq holds."""
    truth = replay.upto(history.last_seq)
    where = f"a history loaded in scope {history.scope} at seq {history.last_seq}"
    assert (history.next_number, history.counts, history.queue) == (truth.next_number, truth.counts, truth.queue), \
        f"{where}: counters or queue differ from the replay"
    wrong = [n for n, record in history.records.items() if record != truth.get(n)]
    assert not wrong, f"{where}: trials {wrong[:10]} differ from the replay"
    must = {t.number for t in truth.in_state(RUNNING)}
    if history.scope == ALL:
        must = set(truth.records)
    elif history.scope == WINDOW:
        must |= {t.number for t in window(truth.finished(), replay.objectives)}
    missing = sorted(must - set(history.records))
    assert not missing, f"{where}: trials {missing[:10]} are missing"


def assert_loads_whole(path: Path, replay: Replay, expected: dict[int, tuple]) -> History:
    """Every scope agrees with the journal and every acknowledged trial is there as it was told; the full history."""
    opened = Study.open(path)
    for scope in (WINDOW, LIVE):
        assert_agrees(opened.history(scope), replay)
    loaded = opened.history(ALL)
    assert_agrees(loaded, replay)
    for number, want in expected.items():
        record = loaded.get(number)
        assert record is not None and summary(record) == want, \
            f"trial {number} was acknowledged as {want} but loads as {record and summary(record)}"
    return loaded


def assert_cache_whole(path: Path, replay: Replay) -> int:
    """The snapshot in force is usable in every scope and agrees with the journal at its seq; return that seq."""
    seqs = []
    for scope in (ALL, WINDOW):
        snapshot = read_snapshot(StudyLayout(path).snapshot, scope)
        assert snapshot is not None, f"the snapshot in force is unusable in scope {scope}: files {cache_files(path)}"
        assert_agrees(snapshot.history, replay)
        seqs.append(snapshot.history.last_seq)
    assert seqs[0] == seqs[1]
    return seqs[0]


def cache_files(path: Path) -> list[str]:
    cache = path / "cache"
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*"))


# ---------------------------------------------------------------------- compactions and their kills
def claim_owner(path: Path) -> int | None:
    """The pid recorded in the study's compaction claim, if any."""
    owner = MkdirLock.read_owner(CompactionClaim(StudyLayout(path).snapshot).owner_path)
    return owner.get("pid") if owner else None


def wait_for_claim(path: Path, process: subprocess.Popen) -> bool:
    """Until ``process`` holds the compaction claim (True) or has exited (False)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if claim_owner(path) == process.pid:
            return True
        time.sleep(0.0003)
    return False


def compact_argv(path: Path, rebuild: bool) -> tuple:
    return ("compact", path, "--rebuild") if rebuild else ("compact", path)


@dataclass
class Timing:
    """A compaction's typical wall time: from its start, and from the moment it holds the claim."""

    total: float
    claimed: float


def time_compaction(path: Path, rebuild: bool) -> Timing:
    began = time.monotonic()
    process = popen_asktell(*compact_argv(path, rebuild))
    try:
        claimed = time.monotonic() if wait_for_claim(path, process) else None
        result = finish(process)
    finally:
        stop_leftovers([process])
    ended = time.monotonic()
    assert result.returncode == 0, describe(result)
    return Timing(ended - began, ended - (claimed or ended))


#: When a kill lands: after a random delay from the process's start or from the moment it holds the
#: claim (measured against the matching ``Timing``), or as soon as it has written its first file.
FROM_START, FROM_CLAIM, AT_FIRST_WRITE = "from start", "from claim", "at first write"


@dataclass
class Kill:
    """One compaction process and what its kill left."""

    moment: str
    returncode: int
    holding_claim: bool
    published: bool
    #: Temp files and segments no snapshot lists, written by this process.
    leftovers: list[str]


def snapshot_identity(path: Path) -> tuple:
    stat = os.stat(StudyLayout(path).snapshot)
    return stat.st_ino, stat.st_mtime_ns


def cache_writes(path: Path) -> set[str]:
    """The files compactions write (temp files included): the snapshot and the segments, not the claim."""
    snapshot = StudyLayout(path).snapshot
    folder = segments_dir(snapshot)
    return ({p.name for p in snapshot.parent.iterdir() if p.is_file()}
            | ({p.name for p in folder.iterdir()} if folder.is_dir() else set()))


def temp_files(path: Path) -> list[Path]:
    return list((path / "cache").rglob(".*.tmp-*"))


def listed_segments(path: Path) -> set[str]:
    """The segment files the snapshot in force lists."""
    with open(StudyLayout(path).snapshot, "rb") as f:
        return {Segment(*entry).name for entry in json.loads(f.readline())["segments"]}


def unlisted_segments(path: Path) -> set[str]:
    return {p.name for p in segments_dir(StudyLayout(path).snapshot).glob("*.jsonl")} - listed_segments(path)


def kill_compaction(path: Path, rebuild: bool, rng: random.Random, timing: Timing, moment: str) -> Kill:
    """Start ``asktell compact`` and SIGKILL it at ``moment``."""
    snapshot, files = snapshot_identity(path), cache_writes(path)
    process = popen_asktell(*compact_argv(path, rebuild))
    try:
        if moment != FROM_START:
            wait_for_claim(path, process)
        if moment == AT_FIRST_WRITE:
            while process.poll() is None and cache_writes(path) <= files:
                time.sleep(0.0001)
        else:
            time.sleep(rng.uniform(0, KILL_SPREAD * (timing.total if moment == FROM_START else timing.claimed)))
        process.kill()
        result = finish(process)
    finally:
        stop_leftovers([process])
    assert result.returncode in (0, -9), describe(result)
    written = cache_writes(path) - files
    leftovers = sorted(n for n in written if ".tmp-" in n) + sorted(unlisted_segments(path) & written)
    return Kill(moment, result.returncode, claim_owner(path) == process.pid, snapshot_identity(path) != snapshot,
                leftovers)


def follow_up_compaction(path: Path, replay: Replay) -> None:
    """A plain ``asktell compact`` after kills: it takes the dead claim over, catches up and sweeps.

    The leftovers of the killed ones are aged past ``STALE_CLAIM_SECONDS``
    first (temp files younger than that may be writes in progress), so that
    the sweep must remove every one of them.
    """
    aged = time.time() - 2 * STALE_CLAIM_SECONDS
    for leftover in temp_files(path):
        os.utime(leftover, (aged, aged))
    previous, snapshot = listed_segments(path), snapshot_identity(path)
    result = run_asktell("compact", path)
    assert result.returncode == 0, describe(result)
    assert snapshot_identity(path) != snapshot, f"the compaction after a kill did not compact: {describe(result)}"
    assert assert_cache_whole(path, replay) == replay.end().last_seq
    assert not temp_files(path), f"temp files left after a compaction: {cache_files(path)}"
    assert unlisted_segments(path) <= previous, f"segments left that no snapshot lists: {cache_files(path)}"
    assert not [p for p in (path / "cache").iterdir() if p.name.startswith(".compacting")], cache_files(path)


def test_compactions_killed_at_random_moments_lose_nothing(tmp_path):
    """``KILLS`` compactions, rebuilds and incremental ones in turn, each SIGKILLed at a random moment.

    Between kills a few hundred events are appended (in-process: the
    acknowledged tells), so that incremental compactions have work and
    segments merge.  Half the kills come after a random delay from the moment
    the process holds the compaction claim, so that they land inside the
    compaction rather than in the interpreter's start-up; a quarter as soon
    as it has written its first file; a quarter after a random delay from its
    start.  Every other kill is followed by a compaction that must take over;
    the others leave their traces to the next killed one.
    """
    print(f"seed {SEED}")
    rng = random.Random(SEED)
    events = Events(rng)
    path = tmp_path / "big"
    study = build_study(path, events, INITIAL_TRIALS)
    replay = Replay(study)
    timings = {}
    for rebuild in (True, False):
        study.append(events.batch(300))
        timings[rebuild] = time_compaction(path, rebuild)
    print({("rebuild" if r else "incremental"): t for r, t in timings.items()})

    kills: list[Kill] = []
    for number in range(KILLS):
        study.append(events.batch(rng.randint(100, 300)))
        rebuild = number % 2 == 0
        moment = (FROM_CLAIM, FROM_CLAIM, AT_FIRST_WRITE, FROM_START)[number // 2 % 4]
        kills.append(kill_compaction(path, rebuild, rng, timings[rebuild], moment))
        loaded = assert_loads_whole(path, replay, events.expected)
        assert loaded.snapshot_seq == assert_cache_whole(path, replay), \
            "the study fell back to replaying its journal although its snapshot is whole"
        if number % 2 == 1:  # every other time, the next kill finds what this one left
            follow_up_compaction(path, replay)
        if number % 25 == 24:
            assert_check_passes(path)

    killed = [k for k in kills if k.returncode < 0]
    inside = [k for k in killed if k.holding_claim]
    print(f"{len(killed)} of {len(kills)} compactions killed, {len(inside)} holding the claim, "
          f"{sum(not k.published for k in inside)} of those before publishing a snapshot, "
          f"{sum(bool(k.leftovers) for k in killed)} leaving temp files or unlisted segments")
    assert len(inside) >= KILLS // 4, "too few kills landed inside a compaction"
    assert any(not k.published for k in inside), "no kill landed before a snapshot was published"
    assert any(k.leftovers for k in killed if k.moment == AT_FIRST_WRITE), \
        "no kill landed while a compaction wrote its files"


# ---------------------------------------------------------------------- with tells and readers at work
#: A process that asks, reports and tells in a loop until the stop file appears, printing each
#: acknowledged tell; every 500th event of it compacts (``Study._refresh_snapshot``).
_TELLER = """
import json, os, random, sys
from asktell import Study
study, stop, rng = Study.open(sys.argv[1]), sys.argv[2], random.Random(int(sys.argv[3]))
while not os.path.exists(stop):
    trial = study.ask()
    steps = {}
    for step in range(rng.randint(0, 3)):
        steps[step] = rng.random()
        study.report(trial.number, step, {"loss": steps[step]})
    value = rng.random()
    study.tell(trial, {"loss": value})
    print(json.dumps([trial.number, trial.params, value, steps]), flush=True)
"""

#: Compactions back to back, every tenth a rebuild, until the stop file appears; prints how many ran.
_COMPACTOR = """
import os, sys
from asktell import Study
study, stop, done = Study.open(sys.argv[1]), sys.argv[2], 0
while not os.path.exists(stop):
    done += study.compact(rebuild=done % 10 == 9) is not None
print(done)
"""

#: ``asktell check`` in a loop until the stop file appears; prints the errors it finds, then how many checks ran.
_CHECKER = """
import os, sys
from pathlib import Path
from asktell.check import check_study
stop, runs = sys.argv[2], 0
while not os.path.exists(stop):
    for finding in check_study(Path(sys.argv[1])):
        if finding.level == "error":
            print(finding)
    runs += 1
print(runs)
"""

TELLERS = 3
#: Compactions to kill inside (holding the claim) while the tellers run.
RACING_KILLS = 8
READ_SECONDS = 8.0


class Helpers:
    """Python processes on the study until told to stop, each exiting 0 and printing what it did."""

    def __init__(self, path: Path, stop: Path) -> None:
        self.path, self.stop = path, stop
        self.processes: list[subprocess.Popen] = []

    def start(self, script: str, *args: object) -> None:
        self.processes.append(subprocess.Popen([sys.executable, "-c", script, str(self.path), str(self.stop),
                                                *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                               text=True))

    def finish(self) -> list[str]:
        """Stop them all; the lines each printed."""
        self.stop.touch()
        try:
            results = [finish(process) for process in self.processes]
        finally:
            stop_leftovers(self.processes)
        failed = [f"{r.args[2:3]} exited {r.returncode}: {r.stderr.strip()[-2000:]}" for r in results if r.returncode]
        assert not failed, "\n".join(failed)
        return [result.stdout for result in results]


def acknowledged_tells(outputs: list[str]) -> dict[int, tuple]:
    """What the tellers printed after each tell returned, as ``Events.expected`` holds it."""
    told = {}
    for line in "".join(outputs).splitlines():
        number, params, value, steps = json.loads(line)
        intermediate = {"loss": {int(step): v for step, v in steps.items()}} if steps else None
        told[number] = (params, "complete", {"loss": value}, intermediate)
    return told


def test_compactions_killed_while_tells_race_lose_no_tell(tmp_path):
    """Tellers ask, report and tell (compacting every 500 events) while ``asktell compact`` is killed again and again.

    Every tell a teller saw succeed must be in the study, with its
    intermediate values; the tellers' own compactions take over the claims
    the killed ones leave.
    """
    print(f"seed {SEED}")
    rng = random.Random(SEED)
    events = Events(rng)
    path = tmp_path / "racing"
    study = build_study(path, events, 1500)
    helpers = Helpers(path, tmp_path / "stop")
    try:
        for _ in range(TELLERS):
            helpers.start(_TELLER, rng.randrange(2**32))
        timing = time_compaction(path, rebuild=True)
        # Until enough kills landed inside a compaction, and the tellers wrote enough to compact a few times.
        until = study.history(LIVE).last_seq + 3 * REFRESH_EVENTS
        kills: list[Kill] = []
        while (sum(k.holding_claim for k in kills) < RACING_KILLS or study.history(LIVE).last_seq < until) \
                and len(kills) < 20 * RACING_KILLS:
            kills.append(kill_compaction(path, len(kills) % 2 == 0, rng, timing, FROM_CLAIM))
    finally:
        told = acknowledged_tells(helpers.finish())
    inside = sum(k.holding_claim for k in kills)
    print(f"{len(told)} acknowledged tells; {inside} of {len(kills)} compactions killed holding the claim")
    assert inside >= RACING_KILLS, "too few kills landed inside a compaction"
    assert study.history(LIVE).last_seq >= until, "the tellers wrote too little to compact"
    replay = Replay(study)
    assert_loads_whole(path, replay, {**events.expected, **told})
    assert_cache_whole(path, replay)
    follow_up_compaction(path, replay)
    assert_check_passes(path)


def test_readers_see_the_whole_study_while_compactions_merge_and_delete_segments(tmp_path):
    """A reader loads the study in every scope while compactions run back to back and tellers tell.

    Each load must hold what a replay of the journal up to its seq holds,
    although merges and rebuilds delete the segments of older snapshots under
    the reader's feet (``Study.history`` then reads again, or replays the
    journal; ``read_snapshot`` alone refuses such a snapshot).  ``asktell
    check`` runs meanwhile and must find no error in a live study.
    """
    rng = random.Random(SEED)
    events = Events(rng)
    path = tmp_path / "read"
    study = build_study(path, events, 1500)
    replay = Replay(study)
    folder = segments_dir(StudyLayout(path).snapshot)
    seen_segments: set[str] = set()
    snapshot_seqs: list[int] = []
    refused = 0
    helpers = Helpers(path, tmp_path / "stop")
    try:
        helpers.start(_COMPACTOR)
        helpers.start(_CHECKER)
        for _ in range(2):
            helpers.start(_TELLER, rng.randrange(2**32))
        deadline = time.monotonic() + READ_SECONDS
        while time.monotonic() < deadline:
            seen_segments.update(p.name for p in folder.glob("*.jsonl"))
            snapshot = read_snapshot(StudyLayout(path).snapshot, ALL)
            if snapshot is None:
                refused += 1
            else:
                assert_agrees(snapshot.history, replay)
            opened = Study.open(path)
            for scope in (ALL, WINDOW, LIVE):
                history = opened.history(scope)
                assert_agrees(history, replay)
                snapshot_seqs.append(history.snapshot_seq)
    finally:
        compactor, checker = helpers.finish()[:2]
    compactions = int(compactor)
    *check_errors, checks = checker.splitlines()
    deleted = seen_segments - {p.name for p in folder.glob("*.jsonl")}
    fallbacks = snapshot_seqs.count(-1)
    print(f"{len(snapshot_seqs)} loads, {len(set(snapshot_seqs))} snapshots among them, {fallbacks} journal "
          f"replays, {refused} snapshot reads refused; {compactions} compactions, {len(deleted)} segments "
          f"deleted; {checks} checks")
    assert not check_errors, "asktell check found errors in a live study:\n" + "\n".join(check_errors)
    assert int(checks) >= 1
    assert compactions >= 20 and len(deleted) >= 10, "the compactions did not merge and delete segments"
    assert len(set(snapshot_seqs)) >= 10, "the reader did not see the snapshot change under it"
    assert fallbacks < len(snapshot_seqs) / 2, "most loads fell back to replaying the journal"


def test_check_still_finds_a_cache_that_differs_from_the_journal(tmp_path):
    """``asktell check`` reads the journal again for a snapshot newer than its first read; yet the cache of a
    longer journal, or a trial changed inside a segment, is still an error."""
    events = Events(random.Random(0))
    path = tmp_path / "study"
    study = build_study(path, events, 300)
    behind = shutil.copytree(path, tmp_path / "behind")
    study.append(events.batch(100))
    study.compact()
    shutil.rmtree(behind / "cache")
    shutil.copytree(path / "cache", behind / "cache")
    assert any("claims journal seq" in f.message for f in check_study(behind) if f.level == "error")

    assert not [f for f in check_study(path) if f.level == "error"]
    segment = next(segments_dir(StudyLayout(path).snapshot).glob("*.jsonl"))
    segment.write_bytes(segment.read_bytes().replace(b'"values":{"loss":0.', b'"values":{"loss":1.', 1))
    assert any("differs from the journal" in f.message for f in check_study(path) if f.level == "error")


def test_a_compaction_claim_is_taken_over_only_from_an_owner_that_is_gone(tmp_path):
    """A live owner on this host keeps its claim however old; one on another host keeps it until it is stale."""
    study = build_study(tmp_path / "study", Events(random.Random(0)), 50)
    with CompactionClaim(study.layout.snapshot) as claim:
        assert claim.held
        os.utime(claim.path, (0, 0))
        assert study.compact() is None
        snapshot = snapshot_identity(study.path)
        assert run_asktell("compact", study.path).returncode == 0
        assert snapshot_identity(study.path) == snapshot
    claim.path.mkdir()
    claim.owner_path.write_text(json.dumps({"identity": "another-host", "pid": 1}))
    assert study.compact() is None
    os.utime(claim.path, (0, 0))
    assert study.compact() is not None
    assert not claim.path.exists()
