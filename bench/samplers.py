"""How good are asktell's suggestions? Each sampler beside Optuna's counterpart, in one run.

Problems: COCO's BBOB functions (module ``cocoex``: sphere, separable and
rotated ellipsoid, separable and rotated Rastrigin, Rosenbrock and its
rotated form, Gallagher 101 and 21 peaks) in 2, 5 and 10 dimensions, and a
mixed categorical/conditional problem built from scikit-learn's bundled
digits images (an SVM or a logistic regression, PCA width, scaling; the
objective is the validation error).

Settings: *sequential* (ask one, tell it) and *batch* (ask 8 before any is
told: each ask sees the earlier ones as pending, as eight array tasks do).

Both tools run in-process so that only the samplers differ: asktell through
``Sampler.suggest`` exactly as ``asktell ask`` calls it (finished trials,
pending trials, the per-trial seed), Optuna through ``study.ask`` and
``trial.suggest_*``.  Whole-process ``ask`` cost is ``cli_latency.py
--sampler tpe``'s job.

Reported per setting: the median normalised regret at each checkpoint (0 is
the best value known for the problem, 1 the median of random points) and
the mean rank (1 = best) over problems and seeds, and the median time of one
ask per sampler.  The best known value of a BBOB function is the lower of
scipy's differential evolution (run once per function) and the best any run
found; for the digits task it is the best any run found.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUTPUT = BENCH_DIR / "results" / "samplers.json"
#: Every finished run, one JSON line each: a long bench can be stopped and resumed, and runs of
#: separate invocations (other samplers, the same problems and budget) are ranked together.
DEFAULT_RUNS = BENCH_DIR / "results" / "samplers-runs.jsonl"

#: asktell sampler -> (Optuna sampler class, its keyword arguments) or None when Optuna has none.
COUNTERPARTS: dict[str, tuple[str, dict] | None] = {
    "random": ("RandomSampler", {}),
    "tpe": ("TPESampler", {"multivariate": True}),
    "gp": ("GPSampler", {}),
    "cmaes": ("CmaEsSampler", {}),
    "qmc": ("QMCSampler", {}),
    "de": None,
}
#: BBOB function index -> short name.
FUNCTIONS = {1: "sphere", 2: "ellipsoid", 10: "ellipsoid-rot", 3: "rastrigin", 15: "rastrigin-rot",
             8: "rosenbrock", 9: "rosenbrock-rot", 21: "gallagher101", 22: "gallagher21"}
DIMENSIONS = (2, 5, 10)
BATCH = 8
RANDOM_REFERENCE_POINTS = 256


@dataclass
class Problem:
    name: str
    space: dict                       # asktell space spec
    evaluate: Callable[[dict], float]
    reference: float = math.inf       # best value known (lowered as runs find better)
    typical: float = math.nan         # median value of random points


def bbob_problems(function_ids: Sequence[int], dims: Sequence[int]) -> list[Problem]:
    import cocoex
    from scipy.optimize import differential_evolution

    cocoex.log_level("warning")
    suite = cocoex.Suite("bbob", "instances: 1",
                         f"function_indices: {','.join(map(str, function_ids))} "
                         f"dimensions: {','.join(map(str, dims))}")
    problems = []
    for coco in (suite.get_problem(i) for i in suite.ids()):  # iterating a suite frees each problem
        d = coco.dimension
        names = [f"x{i}" for i in range(d)]
        space = {n: {"type": "float", "low": -5.0, "high": 5.0} for n in names}

        def evaluate(params: dict, coco=coco, names=names) -> float:
            return float(coco(np.array([params[n] for n in names])))

        found = differential_evolution(lambda x, coco=coco: float(coco(x)), [(-5, 5)] * d, seed=0,
                                       maxiter=300, tol=1e-12, polish=True)
        problems.append(Problem(f"{FUNCTIONS[coco.id_function]}-{d}d", space, evaluate, float(found.fun)))
    _SUITES.append(suite)  # the problems live as long as their suite
    return problems


_SUITES: list = []


def digits_problem() -> Problem:
    """Validation error of a classifier on sklearn's bundled 8x8 digits: categorical, conditional, log."""
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # a low C is a valid suggestion
    X, y = load_digits(return_X_y=True)
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.4, random_state=0, stratify=y)
    space = {
        "model": {"type": "categorical", "choices": ["svc", "logreg"]},
        "C": {"type": "float", "low": 1e-3, "high": 1e3, "log": True},
        "gamma": {"type": "float", "low": 1e-5, "high": 1.0, "log": True, "when": "model == svc"},
        "components": {"type": "int", "low": 4, "high": 64, "log": True},
        "scale": {"type": "categorical", "choices": [True, False]},
    }

    def evaluate(params: dict) -> float:
        model = (SVC(C=params["C"], gamma=params["gamma"]) if params["model"] == "svc"
                 else LogisticRegression(C=params["C"], max_iter=300))
        steps = [StandardScaler()] if params["scale"] else []
        pipeline = make_pipeline(*steps, PCA(n_components=params["components"], random_state=0), model)
        return 1.0 - float(pipeline.fit(X_train, y_train).score(X_valid, y_valid))

    return Problem("digits-mixed", space, evaluate)


# ---------------------------------------------------------------------- the two ways of asking


class AsktellRunner:
    """Suggestions exactly as ``asktell ask`` makes them, without the files."""

    def __init__(self, sampler: str) -> None:
        self.sampler = sampler
        self.label = f"asktell-{sampler}"

    def run(self, problem: Problem, budget: int, batch: int, seed: int) -> tuple[list[float], list[float]]:
        from asktell.config import Objective
        from asktell.samplers import derive_seed, make_sampler
        from asktell.space import Space
        from asktell.trial import COMPLETE, TrialRecord

        space = Space.from_spec(problem.space)
        sampler = make_sampler(self.sampler, {}, seed, (Objective("loss", "minimize"),))
        history: list[TrialRecord] = []
        values, ask_times = [], []
        while len(history) < budget:
            pending: list[TrialRecord] = []
            for number in range(len(history), min(len(history) + batch, budget)):
                start = time.perf_counter()
                params = sampler.suggest(space, history, pending, derive_seed(seed, number))
                ask_times.append(time.perf_counter() - start)
                pending.append(TrialRecord(number, json.loads(json.dumps(params)), ""))
            for record in pending:
                value = problem.evaluate(record.params)
                record.state, record.values = COMPLETE, {"loss": value}
                values.append(value)
            history.extend(pending)
        return values, ask_times


class OptunaRunner:
    """The same loop through Optuna's ask-and-tell API, define-by-run for conditional parameters."""

    def __init__(self, sampler: str) -> None:
        self.class_name, self.options = COUNTERPARTS[sampler]
        self.label = f"optuna-{self.class_name}"

    def run(self, problem: Problem, budget: int, batch: int, seed: int) -> tuple[list[float], list[float]]:
        import optuna

        from asktell.space import Space

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        space = Space.from_spec(problem.space)
        sampler = getattr(optuna.samplers, self.class_name)(seed=seed, **self.options)
        study = optuna.create_study(sampler=sampler, direction="minimize")
        values, ask_times = [], []
        while len(values) < budget:
            asked = []
            for _ in range(min(batch, budget - len(values))):
                start = time.perf_counter()
                trial = study.ask()
                params = space.build(lambda param, _partial, trial=trial: suggest(trial, param))
                ask_times.append(time.perf_counter() - start)
                asked.append((trial, params))
            for trial, params in asked:
                value = problem.evaluate(params)
                study.tell(trial, value)
                values.append(value)
        return values, ask_times


def suggest(trial, param):
    """One asktell parameter as the matching ``trial.suggest_*`` call."""
    from asktell.space import CategoricalParam, IntParam

    if isinstance(param, CategoricalParam):
        return trial.suggest_categorical(param.name, list(param.choices))
    if isinstance(param, IntParam):
        return trial.suggest_int(param.name, param.low, param.high, step=param.step or 1, log=param.log)
    return trial.suggest_float(param.name, param.low, param.high, step=param.step, log=param.log)


# ---------------------------------------------------------------------- scoring


@dataclass
class Run:
    runner: str
    problem: str
    setting: str
    seed: int
    budget: int
    values: list[float] = field(repr=False)
    ask_times: list[float] = field(repr=False)

    @property
    def key(self) -> tuple:
        return self.runner, self.problem, self.setting, self.seed, self.budget

    @property
    def best_so_far(self) -> list[float]:
        return best_so_far(self.values)


def load_runs(path: Path) -> dict[tuple, Run]:
    """The runs recorded by earlier invocations, by what identifies them (a torn last line is skipped)."""
    runs = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                run = Run(**json.loads(line))
            except (ValueError, TypeError):
                continue
            runs[run.key] = run
    return runs


def record_run(path: Path, run: Run) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(vars(run)) + "\n")


def best_so_far(values: Sequence[float]) -> list[float]:
    return list(np.minimum.accumulate(np.asarray(values, dtype=float)))


def typical_value(problem: Problem, seed: int = 12345) -> float:
    """The median value of random points: what normalised regret 1.0 means."""
    from asktell.samplers import make_sampler
    from asktell.space import Space

    space = Space.from_spec(problem.space)
    sampler = make_sampler("random", {}, seed)
    return statistics.median(problem.evaluate(sampler.suggest(space, [], [], seed + i))
                             for i in range(RANDOM_REFERENCE_POINTS))


def regret(problem: Problem, value: float) -> float:
    return (value - problem.reference) / max(problem.typical - problem.reference, 1e-12)


def summarise(runs: list[Run], problems: dict[str, Problem], checkpoints: Sequence[int]) -> dict:
    """Median normalised regret per checkpoint and mean rank, per setting and runner."""
    from asktell.pruners.signed_rank import doubled_ranks

    out: dict = {}
    for setting in sorted({r.setting for r in runs}):
        chosen = [r for r in runs if r.setting == setting]
        runners = sorted({r.runner for r in chosen})
        table = {}
        for runner in runners:
            mine = [r for r in chosen if r.runner == runner]
            table[runner] = {
                "median_regret": {str(c): statistics.median(regret(problems[r.problem], r.best_so_far[c - 1])
                                                            for r in mine if len(r.best_so_far) >= c)
                                  for c in checkpoints if any(len(r.best_so_far) >= c for r in mine)},
                "median_ask_ms": 1000 * statistics.median(t for r in mine for t in r.ask_times),
            }
        ranks: dict[str, list[float]] = {runner: [] for runner in runners}
        for key in {(r.problem, r.seed) for r in chosen}:
            group = [r for r in chosen if (r.problem, r.seed) == key]
            finals = [r.best_so_far[-1] for r in group]
            for r, doubled in zip(group, doubled_ranks(finals)):  # 1 for the lowest; ties share their mean
                ranks[r.runner].append(doubled / 2)
        for runner in runners:
            table[runner]["mean_rank"] = statistics.fmean(ranks[runner])
        out[setting] = table
    return out



def render_markdown(summary: dict, checkpoints: Sequence[int]) -> str:
    lines = []
    for setting, table in summary.items():
        lines += [f"\n{setting}: median normalised regret (0 = best known, 1 = a typical random point), "
                  "mean rank over problems and seeds, median time of one ask\n",
                  "| sampler | " + " | ".join(f"regret @{c}" for c in checkpoints) + " | mean rank | ask ms |",
                  "|---|" + "---:|" * (len(checkpoints) + 2)]
        for runner, row in sorted(table.items(), key=lambda kv: kv[1]["mean_rank"]):
            cells = [f"{row['median_regret'][str(c)]:.3g}" if str(c) in row["median_regret"] else "–"
                     for c in checkpoints]
            lines.append(f"| {runner} | " + " | ".join(cells) + f" | {row['mean_rank']:.2f} | "
                         f"{row['median_ask_ms']:.1f} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------- command line


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    from asktell.samplers import SAMPLERS

    usable = [name for name in COUNTERPARTS if name in SAMPLERS]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samplers", default=",".join(usable),
                        help=f"asktell samplers, each beside Optuna's counterpart (default {','.join(usable)})")
    parser.add_argument("--functions", default=",".join(map(str, FUNCTIONS)), help="BBOB function indices")
    parser.add_argument("--dims", default=",".join(map(str, DIMENSIONS)), help="BBOB dimensions")
    parser.add_argument("--no-digits", action="store_true", help="leave out the digits task")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=80, help="trials per run")
    parser.add_argument("--checkpoints", default="25,50,80", help="budgets at which regret is reported")
    parser.add_argument("--settings", default="sequential,batch", help="sequential, batch (8 asked at once)")
    parser.add_argument("--no-optuna", action="store_true")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--runs", type=Path, default=DEFAULT_RUNS,
                        help="JSON lines of finished runs: reused, and appended to (default %(default)s)")
    parser.add_argument("--fresh", action="store_true", help="ignore the runs recorded in --runs")
    args = parser.parse_args(argv)
    unknown = [s for s in args.samplers.split(",") if s not in SAMPLERS or s not in COUNTERPARTS]
    if unknown:
        parser.error(f"not an asktell sampler this bench knows: {', '.join(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    samplers = args.samplers.split(",")
    checkpoints = [int(c) for c in args.checkpoints.split(",") if int(c) <= args.budget]
    runners = [AsktellRunner(s) for s in samplers]
    if not args.no_optuna:
        runners += [OptunaRunner(s) for s in samplers if COUNTERPARTS[s] is not None]
    problems = bbob_problems([int(f) for f in args.functions.split(",") if f],
                             [int(d) for d in args.dims.split(",") if d]) if args.functions else []
    if not args.no_digits:
        problems.append(digits_problem())
    for problem in problems:
        problem.typical = typical_value(problem)
    settings = {"sequential": 1, "batch": BATCH}
    recorded = {} if args.fresh else load_runs(args.runs)
    for run in recorded.values():  # earlier runs may have found better values
        for problem in problems:
            if run.problem == problem.name:
                problem.reference = min(problem.reference, min(run.values))
    runs: list[Run] = []
    started = time.perf_counter()
    for problem in problems:
        for setting in args.settings.split(","):
            for seed in range(args.seeds):
                for runner in runners:
                    key = (runner.label, problem.name, setting, seed, args.budget)
                    if key not in recorded:
                        values, ask_times = runner.run(problem, args.budget, settings[setting], seed)
                        recorded[key] = Run(*key, values, ask_times)
                        record_run(args.runs, recorded[key])
                    runs.append(recorded[key])
                    problem.reference = min(problem.reference, min(recorded[key].values))
        log(f"{problem.name} done ({time.perf_counter() - started:.0f} s)")
    by_name = {p.name: p for p in problems}
    summary = summarise(runs, by_name, checkpoints)
    result = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "settings": {k: v for k, v in vars(args).items() if k not in ("output", "runs")},
        "problems": {p.name: {"reference": p.reference, "typical": p.typical} for p in problems},
        "summary": summary,
        "runs": [{"runner": r.runner, "problem": r.problem, "setting": r.setting, "seed": r.seed,
                  "best": r.best_so_far[-1], "regret": regret(by_name[r.problem], r.best_so_far[-1])} for r in runs],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(render_markdown(summary, checkpoints))
    log(f"every figure in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
