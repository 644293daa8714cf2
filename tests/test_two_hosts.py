"""Two hosts, one share: a private sshd on 127.0.0.1 and two sshfs mounts of one folder.

Each mount stands in for a cluster node mounting the same NFS export: flock
does not exclude across them, O_EXCL creations fail with EPERM, and with
default options their caches serve stale sizes and listings.  asktell must
hand out distinct trials and keep every told result on both mount settings;
where a stale view is caught, the call may refuse (exit 1, a message naming
the mount options), but it must never write from it.

Meanwhile a process per mount keeps ``stat``-ing the journal, as ``ls -l`` or
a monitor in a loop would: that is what leaves a mount's cached size of the
journal stale.  Measured here with default options: the locked read of a call
then saw the journal up to 15 lines short about twice a run (caught by
``journal.head``; with it and the append-time size check both disabled, a
trial number was handed out twice in 2 runs of 2).  A loop that reads the
journal does not do it: reading makes the mount fetch the size afresh.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import time
from pathlib import Path
from typing import Iterator

import pytest

from asktell import Study
from asktell.lock import MkdirLock
from tests.support.processes import assert_check_passes, assert_seqs_contiguous, describe, finish
from tests.conftest import popen_asktell, run_asktell

pytestmark = pytest.mark.slow

#: The options docs/design.md asks for on sshfs; the empty list is sshfs's defaults.
DOCUMENTED = ["-o", "cache=no,attr_timeout=0,entry_timeout=0,negative_timeout=0"]
MOUNT_OPTIONS = {"default": [], "documented": DOCUMENTED}
ASKS_PER_MOUNT = 32


@pytest.fixture(scope="module", params=sorted(MOUNT_OPTIONS))
def mounts(request, tmp_path_factory):
    from tests.support.share import SetupUnavailable, two_mounts

    base = tmp_path_factory.mktemp(f"share-{request.param}")
    try:
        with two_mounts(base, MOUNT_OPTIONS[request.param]) as pair:
            yield request.param, pair
    except SetupUnavailable as exc:
        pytest.skip(f"two sshfs mounts cannot be set up here: {exc}")


def refused_for_staleness(result) -> bool:
    return result.returncode == 1 and "stale" in result.stderr and "cache=no" in result.stderr


def stat_until(journal: str, stop) -> None:
    """``stat`` the journal by its path until ``stop`` is set."""
    while not stop.is_set():
        os.stat(journal)


@contextlib.contextmanager
def watchers(views: list[Path]) -> Iterator[None]:
    """One ``stat_until`` process per view for the duration of the block."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    processes = [context.Process(target=stat_until, args=(str(view / "journal.jsonl"), stop), daemon=True)
                 for view in views]
    for process in processes:
        process.start()
    try:
        yield
    finally:
        stop.set()
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()


def test_64_asks_and_tells_split_over_two_mounts(mounts, valid_files):
    setting, pair = mounts
    name = f"study-{time.monotonic_ns()}"  # a new name: a re-used one leaves stale handles on the other mount
    created = run_asktell("create", pair.a / name, "-p", "x=0..1", "-p", "opt=adam,sgd", "--minimize", "loss")
    assert created.returncode == 0, describe(created)
    views = [pair.a / name, pair.b / name]
    with watchers(views):
        asks = [popen_asktell("ask", views[i % 2]) for i in range(2 * ASKS_PER_MOUNT)]
        results = [finish(p) for p in asks]
        folders = [r.stdout.strip() for r in results if r.returncode == 0]
        refused = [r for r in results if r.returncode != 0]
        assert all(refused_for_staleness(r) for r in refused), [describe(r) for r in refused]
        if setting == "documented":
            assert not refused, [describe(r) for r in refused]
        numbers = [int(Path(f).name) for f in folders]
        assert len(set(numbers)) == len(numbers), "a trial number was handed out twice"

        tells = [popen_asktell("tell", views[i % 2], folder, "--value", str(i)) for i, folder in enumerate(folders)]
        told_results = [finish(p) for p in tells]
    told = {int(Path(folder).name): i for i, (folder, r) in enumerate(zip(folders, told_results)) if r.returncode == 0}
    refused_tells = [r for r in told_results if r.returncode != 0]
    assert all(refused_for_staleness(r) for r in refused_tells), [describe(r) for r in refused_tells]
    if setting == "documented":
        assert not refused_tells, [describe(r) for r in refused_tells]

    export = pair.export / name
    records = {t.number: t for t in Study.open(export).trials}
    assert len(records) == len(numbers) == len(set(records))
    for number, value in told.items():
        assert records[number].state == "complete" and records[number].values == {"loss": float(value)}
    assert_seqs_contiguous(export)
    assert_check_passes(export)
    valid_files(export)
    print(f"{setting} options: asks {len(folders)} succeeded, {len(refused)} refused; "
          f"tells {len(told)} succeeded, {len(refused_tells)} refused; no trial or result lost")


def hold_lock(folder: str, times: int, start, out: str) -> None:
    """Take the study lock ``times`` times, recording each hold's monotonic interval."""
    lock = MkdirLock(Path(folder), lease=60, timeout=120)
    start.wait()
    intervals = []
    for _ in range(times):
        with lock:
            begin = time.monotonic()
            time.sleep(0.002)
            intervals.append((begin, time.monotonic()))
    Path(out).write_text(json.dumps(intervals))


def test_mkdir_lock_excludes_across_mounts(mounts, tmp_path):
    """Hold intervals of processes on both mounts never overlap (not a counter: that would
    mix exclusion up with cache coherence)."""
    _, pair = mounts
    name = f"lock-{time.monotonic_ns()}"
    os.mkdir(pair.a / name)
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    outs = [tmp_path / f"holds-{i}.json" for i in range(4)]
    workers = [context.Process(target=hold_lock, args=(str((pair.a if i % 2 else pair.b) / name), 25, start,
                                                        str(outs[i]))) for i in range(4)]
    for w in workers:
        w.start()
    start.set()
    for w in workers:
        w.join(300)
        assert w.exitcode == 0
    holds = sorted(h for out in outs for h in json.loads(out.read_text()))
    assert len(holds) == 100
    for (_, end), (begin, _) in zip(holds, holds[1:]):
        assert begin >= end, "two processes held the lock at once"
