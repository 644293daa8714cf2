"""Whole-process latency of `asktell ask` / `asktell tell`, side by side with `optuna ask` / `optuna tell`.

Every pipeline step is a new process, so what matters is the wall time of a
whole command, start-up included, and how it grows with the study.  One run
reports, for studies holding 0, 1,000, 10,000 and 20,000 finished trials
(random sampler, 4 parameters):

* median and p90 wall time of `asktell ask` and `asktell tell`;
* the same for `optuna ask` / `optuna tell` on a JournalFileBackend, when optuna is installed;
* the wall time of 16 concurrent `asktell ask` processes (1,000-trial study);
* the median time the study lock is held per ask (in-process, `Study.last_lock.last_hold`);
* how many files of the study one `asktell ask` opens (at 0 and at the largest size).

    python bench/cli_latency.py                  # full run, a few minutes
    python bench/cli_latency.py --quick          # smoke run: sizes 0 and 1,000, few repetitions
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from asktell.journal import encode
from asktell.samplers import derive_seed, make_sampler
from asktell.space import Space
from asktell.study import Study

HERE = Path(__file__).resolve().parent
ASKTELL = [str(Path(sys.executable).with_name("asktell"))]
OPTUNA = [str(Path(sys.executable).with_name("optuna"))]
SHORTHANDS = ["lr=1e-5..1e-1:log", "n_layers=1..8", "opt=adam,sgd,rmsprop", "dropout=0..0.5"]
OPTUNA_SPACE = {
    "lr": {"name": "FloatDistribution", "attributes": {"low": 1e-5, "high": 0.1, "log": True, "step": None}},
    "n_layers": {"name": "IntDistribution", "attributes": {"low": 1, "high": 8, "log": False, "step": 1}},
    "opt": {"name": "CategoricalDistribution", "attributes": {"choices": ["adam", "sgd", "rmsprop"]}},
    "dropout": {"name": "FloatDistribution", "attributes": {"low": 0.0, "high": 0.5, "log": False, "step": None}},
}
TARGETS = {"ask_empty_s": 0.15, "ratio_1000": 5.0, "ratio_20000": 10.0, "lock_hold_ms": 5.0}


def timed(command: list[str]) -> float:
    """Wall time of one whole process; a failing command aborts the benchmark."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr.strip()}")
    return elapsed


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"median_s": statistics.median(ordered), "p90_s": ordered[int(0.9 * (len(ordered) - 1))],
            "n": len(ordered)}


# ---------------------------------------------------------------------- building histories


def build_asktell(folder: Path, size: int) -> Path:
    """A study with ``size`` complete trials, journal lines written as `ask` and `tell` write them."""
    study = Study.create(folder, Space.from_shorthands(SHORTHANDS), objectives={"loss": "minimize"}, seed=1)
    sampler = make_sampler("random", {}, 1)
    lines, seq = [], 1
    for number in range(size):
        params = sampler.suggest(study.config.space, [], [], derive_seed(1, number))
        lines.append(encode({"seq": seq, "event": "asked", "at": "2026-01-01T00:00:00.000Z", "trial": number,
                             "params": params, "host": "bench", "pid": 1}))
        lines.append(encode({"seq": seq + 1, "event": "told", "at": "2026-01-01T00:00:01.000Z", "trial": number,
                             "state": "complete", "host": "bench", "pid": 1, "values": {"loss": params["lr"]}}))
        seq += 2
    with open(study.layout.journal, "ab") as journal:
        journal.write(b"".join(lines))
    timed([*ASKTELL, "ask", str(folder)])  # the first call after a bulk write builds the snapshot
    return folder


def build_optuna(path: Path, size: int) -> str:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(path)))
    study = optuna.create_study(study_name="bench", storage=storage)
    distributions = {k: optuna.distributions.json_to_distribution(json.dumps(v)) for k, v in OPTUNA_SPACE.items()}
    sampler = optuna.samplers.RandomSampler(seed=1)
    batch = []
    for number in range(size):
        params = {name: sampler.sample_independent(study, None, name, d) for name, d in distributions.items()}
        batch.append(optuna.trial.create_trial(params=params, distributions=distributions, value=params["lr"]))
        if len(batch) == 1000 or number == size - 1:
            study.add_trials(batch)
            batch = []
    return str(path)


# ---------------------------------------------------------------------- measurements


def measure_asktell(folder: Path, reps: int) -> dict:
    asks = [timed([*ASKTELL, "ask", str(folder)]) for _ in range(reps)]
    running = [t.number for t in Study.open(folder).history(full=False).in_state("running")]
    tells = [timed([*ASKTELL, "tell", str(folder), str(n), "--value", "0.5"]) for n in running[:reps]]
    return {"ask": summary(asks), "tell": summary(tells)}


def measure_optuna(storage: str, reps: int) -> dict:
    base = ["--storage", storage, "--storage-class", "JournalFileBackend", "--study-name", "bench", "-q"]
    asks, numbers = [], []
    for _ in range(reps):
        start = time.perf_counter()
        result = subprocess.run([*OPTUNA, "ask", *base, "--search-space", json.dumps(OPTUNA_SPACE), "-f", "json"],
                                capture_output=True, text=True)
        asks.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"optuna ask failed: {result.stderr.strip()}")
        numbers.append(json.loads(result.stdout)["number"])
    tells = [timed([*OPTUNA, "tell", *base, "--trial-number", str(n), "--values", "0.5"]) for n in numbers]
    return {"ask": summary(asks), "tell": summary(tells)}


def lock_hold_ms(folder: Path, reps: int) -> float:
    study = Study.open(folder)
    holds = []
    for _ in range(reps):
        study.ask()
        holds.append(study.last_lock.last_hold * 1000)
    return statistics.median(holds)


def concurrent_asks(folder: Path, n: int = 16) -> float:
    start = time.perf_counter()
    processes = [subprocess.Popen([*ASKTELL, "ask", str(folder)], stdout=subprocess.DEVNULL) for _ in range(n)]
    if any(p.wait() != 0 for p in processes):
        raise SystemExit("a concurrent ask failed")
    return time.perf_counter() - start


_COUNT_OPENS = """
import sys
folder, opened = sys.argv[1], set()
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].startswith(folder):
        opened.add(args[0])
sys.addaudithook(hook)
sys.argv = ["asktell", "ask", folder]
from asktell.cli import main
try:
    main()
except SystemExit:
    pass
print(len(opened), file=sys.stderr)
"""


def files_opened(folder: Path) -> int:
    """Distinct files under the study that one `asktell ask` opens (audit hook on open)."""
    result = subprocess.run([sys.executable, "-c", _COUNT_OPENS, str(folder.resolve())], capture_output=True,
                            text=True)
    return int(result.stderr.strip().splitlines()[-1])


# ---------------------------------------------------------------------- report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0,1000,10000,20000")
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--no-optuna", action="store_true")
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    sizes = [0, 1000] if options.quick else [int(s) for s in options.sizes.split(",")]
    reps = 4 if options.quick else options.reps
    try:
        import optuna  # noqa: F401
        with_optuna = not options.no_optuna
    except ImportError:
        with_optuna = False

    results: dict = {"date": datetime.date.today().isoformat(), "python": platform.python_version(),
                     "cpus": os.cpu_count(), "reps": reps, "sizes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            print(f"size {size}: building ...", file=sys.stderr, flush=True)
            folder = build_asktell(Path(tmp) / f"asktell-{size}", size)
            row = {"asktell": measure_asktell(folder, reps), "lock_hold_ms": lock_hold_ms(folder, reps)}
            if with_optuna:
                storage = build_optuna(Path(tmp) / f"optuna-{size}.log", size)
                row["optuna"] = measure_optuna(storage, reps if size < 10000 else max(3, reps // 3))
            if size == 1000 or size == sizes[0] and 1000 not in sizes:
                row["concurrent_16_asks_s"] = concurrent_asks(folder)
            if size in (sizes[0], sizes[-1]):
                row["files_opened_by_ask"] = files_opened(folder)
            results["sizes"][size] = row
            print(f"size {size}: done", file=sys.stderr, flush=True)
    report(results, with_optuna)
    out = HERE / "results" / "cli_latency.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"\n(all figures in {out.relative_to(HERE.parent)})")


def report(results: dict, with_optuna: bool) -> None:
    header = "| finished trials | asktell ask | asktell tell | lock held / ask |"
    rule = "|---:|---:|---:|---:|"
    if with_optuna:
        header += " optuna ask | optuna tell | ask ratio | tell ratio |"
        rule += "---:|---:|---:|---:|"
    print(header)
    print(rule)
    for size, row in results["sizes"].items():
        a = row["asktell"]
        line = (f"| {size:,} | {a['ask']['median_s']:.3f} s | {a['tell']['median_s']:.3f} s | "
                f"{row['lock_hold_ms']:.2f} ms |")
        if with_optuna:
            o = row["optuna"]
            line += (f" {o['ask']['median_s']:.3f} s | {o['tell']['median_s']:.3f} s | "
                     f"{o['ask']['median_s'] / a['ask']['median_s']:.1f}x | "
                     f"{o['tell']['median_s'] / a['tell']['median_s']:.1f}x |")
        print(line)
    print()
    for size, row in results["sizes"].items():
        if "concurrent_16_asks_s" in row:
            print(f"16 concurrent asks on {size:,} trials: {row['concurrent_16_asks_s']:.2f} s wall")
        if "files_opened_by_ask" in row:
            print(f"files of the study one ask opens at {size:,} trials: {row['files_opened_by_ask']}")
    print()
    sizes = results["sizes"]
    first = next(iter(sizes.values()))
    verdicts = [("ask on an empty study <= 0.15 s", first["asktell"]["ask"]["median_s"] <= TARGETS["ask_empty_s"]),
                ("lock held <= 5 ms (median, every size)",
                 all(r["lock_hold_ms"] <= TARGETS["lock_hold_ms"] for r in sizes.values()))]
    if with_optuna:
        for size, key in ((1000, "ratio_1000"), (20000, "ratio_20000")):
            if size in sizes:
                r = sizes[size]
                ratio = r["optuna"]["ask"]["median_s"] / r["asktell"]["ask"]["median_s"]
                verdicts.append((f">= {TARGETS[key]:.0f}x faster than optuna ask at {size:,}", ratio >= TARGETS[key]))
    for text, ok in verdicts:
        print(f"{'PASS' if ok else 'MISS'}  {text}")


if __name__ == "__main__":
    main()
