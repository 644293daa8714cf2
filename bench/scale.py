#!/usr/bin/env python3
"""Whole-process ``asktell ask``, ``tell`` and ``report`` on studies of 1,000 to 100,000 trials, against Optuna.

A long-lived study reaches tens of thousands of trials, each with a training
loop's intermediate values, and every pipeline step is still its own process.
This bench builds such studies -- N finished trials (default 1,000, 10,000
and 100,000), each with 10 reported steps before it was told, every tenth one
pruned or failed, plus 8 running trials with a few reports -- and times whole
processes on them: ``asktell ask`` (default sampler, tpe), ``asktell report``
and ``asktell tell``, beside ``optuna ask --sampler TPESampler`` and
``optuna tell`` on a ``JournalFileBackend`` journal holding the same trials
(Optuna has no report command).

The studies are built without one CLI call per event: ``Study.create``, then
the journal events in large ``Study.append`` batches and the trials'
mirrors, then ``asktell compact`` once (untimed; left out, with a note, when
the installed asktell has no such command).  The Optuna journal is what
``asktell export-optuna`` writes from that study, so both tools hold the very
same trials; how long each build step took is printed.

The timing helpers, the search space, the trial parameters and the Optuna
command lines are ``cli_latency.py``'s.  Markdown goes to stdout and to
bench/results/scale.md, every figure to bench/results/scale.json, progress to
stderr; PASS/MISS lines report the targets, and a missed one is not a
failure.  Run it with the interpreter asktell is installed in:

    .venv/bin/python bench/scale.py                      # 1k, 10k, 100k: about 5 minutes on 2 CPUs
    .venv/bin/python bench/scale.py --quick --no-optuna  # smoke run: 1k and 10k, 3 reps
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import shlex
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from asktell.study import Study
from asktell.trial import COMPLETE, FAILED, PRUNED

from cli_latency import (  # bench/: the script's own folder
    BENCH_DIR, OBJECTIVE, SEED, SPACE, STUDY_NAME, TRIAL_DURATION_S, TRIAL_SPACING_S, Asktell, BenchError, Finished,
    Optuna, StudyRef, busy, check_study, find_executable, iso, log, machine, optuna_tool, run, run_timed,
    source_revision, summary, synthetic_history, warm_up, write_mirrors,
)

DEFAULT_OUTPUT = BENCH_DIR / "results" / "scale.json"
DEFAULT_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
DEFAULT_REPS, QUICK_REPS = 10, 3
#: From this size on, one ``optuna ask`` replays a journal of a million operations: at most this many reps.
LARGE_SIZE, LARGE_OPTUNA_REPS = 50_000, 5

#: Reported steps per finished trial, as a training loop of 10 epochs leaves them.
STEPS = 10
#: Running trials at build time, trial k of them having reported steps 0..k.
RUNNING = 8
#: Trials per ``Study.append`` call (each call also brings the cache up to date): few calls, one batch in memory.
APPEND_BATCH = 10_000
SAMPLER = "tpe"

#: Targets (PASS/MISS, never asserted): ask at the largest size within this factor of the smallest...
TARGET_GROWTH = 2.0
#: ...and this many times faster than ``optuna ask`` at this size.
TARGET_SPEEDUP, TARGET_SPEEDUP_SIZE = 20.0, 100_000


# ---------------------------------------------------------------------- the studies


def state_of(number: int) -> str:
    """Every tenth trial did not complete: pruned and failed in turn."""
    return {9: PRUNED, 19: FAILED}.get(number % 20, COMPLETE)


def learning_curve(value: float, step: int) -> float:
    """The loss a trial reports at ``step``: falling steadily to its final ``value`` at the last step."""
    return value + 0.05 * (STEPS - 1 - step)


def study_events(size: int) -> Iterator[list[dict]]:
    """Per trial, its journal events without ``seq``: asked, reported..., and told for the ``size`` finished ones.

    The keys are those ``Study.ask``, ``report`` and ``tell`` write; a pruned
    trial is told with the value it last reported, as ``asktell tell --state
    pruned`` does.  The 8 running trials were asked in the last minutes.
    """
    host, pid = socket.gethostname(), os.getpid()
    origin = {"host": host, "pid": pid}
    first = time.time() - (size + RUNNING) * TRIAL_SPACING_S
    for number, params, value in synthetic_history(size + RUNNING):
        asked = first + number * TRIAL_SPACING_S
        steps = STEPS if number < size else number - size + 1
        events = [{"event": "asked", "at": iso(asked), "trial": number, "params": params, **origin}]
        events += [{"event": "reported", "at": iso(asked + (step + 1) * TRIAL_DURATION_S / STEPS), "trial": number,
                    "step": step, "values": {OBJECTIVE: learning_curve(value, step)}, **origin}
                   for step in range(steps)]
        if number < size:
            state = state_of(number)
            told = {"event": "told", "at": iso(asked + TRIAL_DURATION_S), "trial": number, "state": state, **origin}
            if state != FAILED:
                told["values"] = {OBJECTIVE: learning_curve(value, STEPS - 1)}
            events.append(told)
        yield events


@dataclass
class Built:
    """One size's two studies and what building them cost, in seconds."""

    asktell: StudyRef
    optuna: StudyRef | None
    append_s: float
    mirrors_s: float
    compact_s: float | None
    export_s: float | None
    journal_mb: float
    optuna_journal_mb: float | None
    compacted: str
    exported: str


def build_asktell(root: Path, size: int) -> tuple[StudyRef, float, float]:
    """``Study.create``, the events in batches of ``APPEND_BATCH`` trials, then every trial's mirror files."""
    path = root / f"asktell-{size}"
    study = Study.create(path, {name: spec for name, spec, _ in SPACE}, objectives={OBJECTIVE: "minimize"},
                         sampler=SAMPLER, seed=SEED, name=STUDY_NAME)
    start = time.perf_counter()
    batch: list[dict] = []
    for number, events in enumerate(study_events(size)):
        batch += events
        if (number + 1) % APPEND_BATCH == 0 or number == size + RUNNING - 1:
            study.append(batch)
            batch = []
            log(f"  asktell journal: {number + 1:,} / {size + RUNNING:,} trials")
    appended = time.perf_counter() - start
    write_mirrors(study.layout, study.history().trials)
    return StudyRef("asktell", size, path), appended, time.perf_counter() - start - appended


def compact(executable: str, study: StudyRef) -> tuple[float | None, str]:
    """``asktell compact STUDY`` once, outside the measurements: its seconds (None when this asktell has no
    such command) and what it printed."""
    start = time.perf_counter()
    result = run([executable, "compact", study.path], check=False)
    if result.returncode != 0 and "No such command" in result.stderr:
        return None, ""
    if result.returncode != 0:
        raise BenchError(f"asktell compact exited {result.returncode}: {result.stderr.strip()}")
    return time.perf_counter() - start, " ".join((result.stdout + result.stderr).split())


def export_optuna(executable: str, study: StudyRef, root: Path) -> tuple[StudyRef, float, str]:
    """``asktell export-optuna``: the same trials, intermediate values included, in Optuna's journal format."""
    ref = StudyRef("optuna", study.size, root / f"optuna-{study.size}.log")
    start = time.perf_counter()
    result = run([executable, "export-optuna", study.path, ref.path, "--study", STUDY_NAME])
    ref.build_s = time.perf_counter() - start
    return ref, ref.build_s, " ".join((result.stdout + result.stderr).split())


def build(root: Path, size: int, asktell: Asktell, with_optuna: bool) -> Built:
    log(f"asktell: building a study of {size:,} finished trials and {RUNNING} running ones")
    study, append_s, mirrors_s = build_asktell(root, size)
    log(f"asktell: journal in {append_s:.1f} s, mirrors in {mirrors_s:.1f} s")
    compact_s, compacted = compact(asktell.executable, study)
    log("asktell: no compact command in this asktell; the cache is left as the appends wrote it"
        if compact_s is None else f"asktell: compacted in {compact_s:.1f} s ({compacted})")
    study.build_s = append_s + mirrors_s + (compact_s or 0.0)
    optuna, export_s, exported = (export_optuna(asktell.executable, study, root) if with_optuna
                                  else (None, None, ""))
    if optuna:
        log(f"optuna: journal exported in {export_s:.1f} s ({exported})")
    return Built(study, optuna, append_s, mirrors_s, compact_s, export_s, _mb(study.path / "journal.jsonl"),
                 _mb(optuna.path) if optuna else None, compacted, exported)


def _mb(path: Path) -> float:
    return path.stat().st_size / 1e6


# ---------------------------------------------------------------------- measurements


def report_argv(tool: Asktell, study: StudyRef, trial: str, step: int, value: float) -> list[object]:
    return [tool.executable, "report", study.path, trial, "--step", step, "--value", repr(value)]


@dataclass(frozen=True)
class Call:
    """One timed process: its wall time, and its CPU time (user + system), which load from elsewhere inflates less."""

    wall: float
    cpu: float


def timed(argv: Sequence[object]) -> tuple[Call, Finished]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, (finished,) = run_timed([argv])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Call(wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime), finished


def asktell_round(tool: Asktell, study: StudyRef, values: random.Random) -> dict[str, Call]:
    """One trial as a training loop runs it: ask, report its first step, tell."""
    ask, out = timed(tool.ask_argv(study))
    trial = tool.trial_of(out.stdout)
    report, _ = timed(report_argv(tool, study, trial, 0, values.random()))
    tell, _ = timed(tool.tell_argv(study, trial, values.random()))
    return {"ask": ask, "report": report, "tell": tell}


def optuna_round(tool: Optuna, study: StudyRef, values: random.Random) -> dict[str, Call]:
    ask, out = timed(tool.ask_argv(study))
    tell, _ = timed(tool.tell_argv(study, tool.trial_of(out.stdout), values.random()))
    return {"ask": ask, "tell": tell}


def measure(built: Built, asktell: Asktell, optuna: Optuna | None, reps: int, values: random.Random) -> dict:
    """``reps`` rounds per tool, the tools in turns; Optuna gets fewer at large sizes, where a call takes seconds.

    The first round of each tool is kept apart: it warms the page cache and,
    for asktell, may rewrite the cache the bulk build left behind.
    """
    size = built.asktell.size
    rounds = {"asktell": partial(asktell_round, asktell, built.asktell, values)}
    if optuna and built.optuna:
        rounds["optuna"] = partial(optuna_round, optuna, built.optuna, values)
    wanted = {"asktell": reps, "optuna": min(reps, LARGE_OPTUNA_REPS) if size >= LARGE_SIZE else reps}
    figures: dict = {}
    for name, one_round in rounds.items():
        if name == "optuna" and size >= LARGE_SIZE:
            log(f"optuna: first round (at {size:,} trials one call takes seconds)")
        first = one_round()
        figures[name] = {"first": {f"{kind}_s": call.wall for kind, call in first.items()}}
        log(f"{name}: first round {_seconds(first)}")
    samples: dict[str, list[dict[str, Call]]] = {name: [] for name in rounds}
    for rep in range(reps):
        done = {name: one_round() for name, one_round in rounds.items() if rep < wanted[name]}
        for name, calls in done.items():
            samples[name].append(calls)
        log(f"  round {rep + 1} / {reps}: " + "; ".join(f"{name} {_seconds(calls)}" for name, calls in done.items()))
    for name, taken in samples.items():
        for kind in taken[0]:
            figures[name][kind] = summary([calls[kind].wall for calls in taken])
            figures[name][f"{kind}_cpu"] = summary([calls[kind].cpu for calls in taken])
    if "optuna" in figures:
        figures["ratios"] = {kind: figures["optuna"][kind]["median"] / figures["asktell"][kind]["median"]
                             for kind in ("ask", "tell")}
    return figures


def _seconds(calls: dict[str, Call]) -> str:
    """``ask 0.14 / report 0.07 / tell 0.07 s``: the wall times of one round."""
    return " / ".join(f"{kind} {call.wall:.2f}" for kind, call in calls.items()) + " s"


def remove(built: Built) -> None:
    shutil.rmtree(built.asktell.path)
    if built.optuna:
        built.optuna.path.unlink()


# ---------------------------------------------------------------------- orchestration


@dataclass
class Settings:
    sizes: tuple[int, ...]
    reps: int
    optuna: bool
    workdir: Path | None
    keep: bool
    output: Path
    command: str


def run_benchmark(settings: Settings) -> dict:
    executable = find_executable("asktell")
    if executable is None:
        raise BenchError("no asktell command beside this interpreter or on PATH; run with the venv's python")
    asktell = Asktell(executable, SAMPLER)
    optuna, optuna_status = optuna_tool(settings.optuna, SAMPLER)
    owned = settings.workdir is None
    root = Path(tempfile.mkdtemp(prefix="asktell-scale-")) if owned else settings.workdir
    root.mkdir(parents=True, exist_ok=True)
    data: dict = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": settings.command,
        "machine": machine(root),
        "versions": {tool.name: tool.version() for tool in (asktell, optuna) if tool},
        "source": source_revision(),
        "optuna": optuna_status,
        "settings": {"sizes": list(settings.sizes), "reps": settings.reps,
                     "optuna_reps_from": {"size": LARGE_SIZE, "reps": LARGE_OPTUNA_REPS},
                     "steps": STEPS, "running": RUNNING, "sampler": SAMPLER, "optuna_sampler": "TPESampler",
                     "space": {name: spec for name, spec, _ in SPACE}, "seed": SEED},
        "sizes": {},
    }
    values = random.Random(SEED + 1)
    try:
        for tool in (asktell, optuna):
            if tool:
                warm_up(tool, root, values)
        for size in settings.sizes:
            entry = data["sizes"][str(size)] = {"busy_before": busy()}
            built = build(root, size, asktell, optuna is not None)
            entry["build"] = {"asktell_append_s": built.append_s, "asktell_mirrors_s": built.mirrors_s,
                              "asktell_compact_s": built.compact_s, "optuna_export_s": built.export_s,
                              "asktell_journal_mb": built.journal_mb, "optuna_journal_mb": built.optuna_journal_mb,
                              "compact_output": built.compacted, "export_output": built.exported}
            if size == settings.sizes[0]:
                data["check_after_build"] = check_study(asktell, built.asktell)
                log(f"asktell check on the generated study: {data['check_after_build']}")
            entry.update(measure(built, asktell, optuna, settings.reps, values))
            entry["busy_after"] = busy()
            if not settings.keep:
                remove(built)
    finally:
        if owned and not settings.keep:
            shutil.rmtree(root, ignore_errors=True)
        elif settings.keep:
            log(f"studies kept in {root}")
    data["machine"]["busy_end"] = busy()
    data["targets"] = evaluate_targets(data)
    return data


# ---------------------------------------------------------------------- targets and report


def _median(data: dict, size: int, tool: str, kind: str) -> float | None:
    return data["sizes"].get(str(size), {}).get(tool, {}).get(kind, {}).get("median")


def evaluate_targets(data: dict) -> list[dict]:
    sizes = sorted(int(s) for s in data["sizes"])
    targets = []

    def add(name: str, ok: bool | None, detail: str) -> None:
        targets.append({"target": name, "status": "N/A" if ok is None else ("PASS" if ok else "MISS"),
                        "detail": detail})

    if len(sizes) >= 2:
        low, high = sizes[0], sizes[-1]
        growth = _median(data, high, "asktell", "ask") / _median(data, low, "asktell", "ask")
        add(f"asktell ask at {high:,} trials within {TARGET_GROWTH:g}x of its ask at {low:,}",
            growth <= TARGET_GROWTH, f"x{growth:.2f}")
    else:
        add(f"asktell ask within {TARGET_GROWTH:g}x from the smallest to the largest study", None,
            "needs at least two sizes")
    ratio = data["sizes"].get(str(TARGET_SPEEDUP_SIZE), {}).get("ratios", {}).get("ask")
    add(f">= {TARGET_SPEEDUP:g}x faster than optuna ask at {TARGET_SPEEDUP_SIZE:,} trials",
        None if ratio is None else ratio >= TARGET_SPEEDUP,
        "not measured (size or optuna missing)" if ratio is None else f"optuna/asktell = {ratio:.1f}x")
    return targets


def _ms(figure: dict | None, p90: bool = True) -> str:
    """Median, ms (p90 beside it when asked for and there are enough samples to mean something)."""
    if not figure:
        return "—"
    median = f"{figure['median'] * 1000:,.0f}"
    return f"{median} ({figure['p90'] * 1000:,.0f})" if p90 and figure["n"] >= 5 else median


def render_markdown(data: dict) -> str:
    m = data["machine"]
    source = data.get("source", {})
    commit = (f" (commit {source['commit']}{', asktell/ modified' if source['asktell_modified'] else ''})"
              if source else "")
    versions = ", ".join(f"{k} {v}{commit if k == 'asktell' else ''}" for k, v in data["versions"].items())
    sizes = sorted(int(s) for s in data["sizes"])
    optuna_reps = {size: data["sizes"][str(size)].get("optuna", {}).get("ask", {}).get("n") for size in sizes}
    out = [f"## Scale: ask, report and tell at up to {max(sizes):,} trials — {data['date']}", "",
           f"`{data['command']}`", "",
           (f"{m['nproc']} CPUs ({m['cpu'] or 'unknown cpu'}), Python {m['python']}, {versions}; studies on "
            f"{m['studies_filesystem']}; optuna: {data['optuna']}. Every finished trial reported {STEPS} steps "
            f"before it was told, every tenth was pruned or failed, and {RUNNING} trials were running. "
            f"asktell sampler {data['settings']['sampler']}, Optuna TPESampler. Load average at start / end: "
            f"{m['busy_start']['loadavg_1m']:.1f} / {m['busy_end']['loadavg_1m']:.1f}."), "",
           "### Whole-process wall time per call, ms: median (p90 when 5 reps or more)", "",
           "| finished trials | asktell ask | asktell tell | asktell report | optuna ask | optuna tell "
           "| ask ratio optuna/asktell | reps asktell / optuna | load before / after |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for size in sizes:
        entry = data["sizes"][str(size)]
        a, o = entry["asktell"], entry.get("optuna", {})
        ratio = entry.get("ratios", {}).get("ask")
        out.append(f"| {size:,} | {_ms(a['ask'])} | {_ms(a['tell'])} | {_ms(a['report'])} | {_ms(o.get('ask'))} | "
                   f"{_ms(o.get('tell'))} | {'—' if ratio is None else f'{ratio:.1f}x'} | "
                   f"{a['ask']['n']} / {optuna_reps[size] or '—'} | "
                   f"{entry['busy_before']['loadavg_1m']:.1f} / {entry['busy_after']['loadavg_1m']:.1f} |")
    out += ["", ("Optuna has no report command (—). Each asktell round is ask, report of step 0, tell of that "
                 "trial; each Optuna round ask, tell; the tools take turns round by round. Below: the CPU time "
                 "(user + system) of the same calls, which load from elsewhere on the machine inflates less "
                 "than the wall time, and the first round after the build, which is not counted above."), "",
            ("| finished trials | CPU ms: asktell ask / report / tell | CPU ms: optuna ask / tell "
             "| first round ms: asktell ask / report / tell | first round ms: optuna ask / tell |"),
            "|---:|---:|---:|---:|---:|"]
    for size in sizes:
        entry = data["sizes"][str(size)]
        cpu = [" / ".join(_ms(entry[name].get(f"{kind}_cpu"), p90=False) for kind in kinds) if name in entry else "—"
               for name, kinds in (("asktell", ("ask", "report", "tell")), ("optuna", ("ask", "tell")))]
        first = [" / ".join(f"{s * 1000:,.0f}" for s in entry[name]["first"].values()) if name in entry else "—"
                 for name in ("asktell", "optuna")]
        out.append(f"| {size:,} | " + " | ".join(cpu + first) + " |")
    out += ["", "### Building the studies, s", "",
            ("| finished trials | asktell journal (Study.append) | asktell mirrors | asktell compact "
             "| optuna journal (asktell export-optuna) | journal size asktell / optuna, MB |"),
            "|---:|---:|---:|---:|---:|---:|"]
    for size in sizes:
        b = data["sizes"][str(size)]["build"]
        compacted = "absent" if b["asktell_compact_s"] is None else f"{b['asktell_compact_s']:.1f}"
        export = "—" if b["optuna_export_s"] is None else f"{b['optuna_export_s']:.1f}"
        optuna_mb = "—" if b["optuna_journal_mb"] is None else f"{b['optuna_journal_mb']:.0f}"
        out.append(f"| {size:,} | {b['asktell_append_s']:.1f} | {b['asktell_mirrors_s']:.1f} | {compacted} | "
                   f"{export} | {b['asktell_journal_mb']:.0f} / {optuna_mb} |")
    if any(data["sizes"][str(s)]["build"]["asktell_compact_s"] is None for s in sizes):
        out += ["", ("*absent*: this asktell has no `compact` command, so the studies were measured with the "
                     "cache the appends left (a snapshot of the whole history).")]
    check = data.get("check_after_build")
    if check:
        out += ["", (f"`asktell check` on the generated {check['size']:,}-trial study: exit {check['exit_code']}, "
                     f"{check['errors']} errors, {check['warnings']} warnings.")]
    out += ["", "### Targets", ""]
    out += [f"- **{t['status']}** {t['target']}: {t['detail']}" for t in data["targets"]]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", help="comma-separated numbers of finished trials "
                        f"(default {','.join(map(str, DEFAULT_SIZES))})")
    parser.add_argument("--reps", type=int, help=f"rounds timed per size and tool (default {DEFAULT_REPS}; "
                        f"Optuna at most {LARGE_OPTUNA_REPS} from {LARGE_SIZE:,} trials)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: sizes {','.join(map(str, QUICK_SIZES))} and {QUICK_REPS} reps")
    parser.add_argument("--no-optuna", action="store_true", help="skip the comparison with Optuna's CLI")
    parser.add_argument("--workdir", type=Path, help="where to build the studies (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the generated studies")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="JSON file with every figure; the Markdown report goes beside it (.md)")
    args = parser.parse_args(argv)
    sizes = (tuple(sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()}))
             if args.sizes else QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if not sizes or any(s < 1 for s in sizes):
        parser.error("--sizes must be positive")
    reps = args.reps or (QUICK_REPS if args.quick else DEFAULT_REPS)
    if reps < 1:
        parser.error("--reps must be at least 1")
    command = shlex.join(["bench/scale.py", *(sys.argv[1:] if argv is None else argv)])
    return Settings(sizes=sizes, reps=reps, optuna=not args.no_optuna,
                    workdir=args.workdir.resolve() if args.workdir else None, keep=args.keep, output=args.output,
                    command=command)


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    try:
        data = run_benchmark(settings)
    except BenchError as exc:
        print(f"scale: {exc}", file=sys.stderr)
        return 1
    report = render_markdown(data)
    settings.output.parent.mkdir(parents=True, exist_ok=True)
    settings.output.write_text(json.dumps(data, indent=2) + "\n")
    settings.output.with_suffix(".md").write_text(report)
    print(report)
    log(f"every figure in {settings.output}, the report in {settings.output.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
