"""The ``asktell`` command's typer app: parse arguments, call the Study API, print.

No logic lives here.  ``asktell.entry`` runs this app and maps errors to exit
codes; argument errors become ``ArgumentError`` here so that they too are one
line.  The bodies of ``ask``, ``tell`` and ``params`` live in
``asktell.commands``, reachable without typer.  Start-up time is paid by every
pipeline step, so this module imports only typer at load time; each command
imports what it needs when it runs.
"""


from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperCommand

from . import commands
from .config import DEFAULT_PRUNER, DEFAULT_SAMPLER
from .errors import EXIT_FAILURE, EXIT_INVALID, AsktellError, InvalidInput
from .plots import KINDS as PLOT_KINDS
from .pruners import PRUNERS
from .samplers import SAMPLERS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Ask-and-tell optimization for pipelines that are not one Python process.\n\n"
         "A study is a folder: `ask` writes trials/NNNNNN/params.yaml, your pipeline reads it "
         "and writes result.yaml, `tell` records it. Exit codes: 0 ok, 1 failure, 2 invalid input, "
         "3 the trial should be pruned (report, should-prune), 4 nothing left to ask.",
)

StudyArg = Annotated[Path, typer.Argument(help="The study folder.", show_default=False)]


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """An Enum for typer's choice checking and help, from the plain tuple the commands use."""
    return Enum(name, {v: v for v in values}, type=str)


AskFormat = _choices("AskFormat", commands.ASK_FORMATS)
ParamsFormat = _choices("ParamsFormat", commands.PARAMS_FORMATS)
TellState = _choices("TellState", commands.TELL_STATES)


class TrialsFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


PlotKind = _choices("PlotKind", tuple(PLOT_KINDS))


class BestFormat(str, Enum):
    yaml = "yaml"
    json = "json"
    env = "env"


class LockKind(str, Enum):
    mkdir = "mkdir"
    flock = "flock"


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False) -> None:
    """Declared for the help and the parser; ``asktell.entry`` reads ``--debug`` itself."""


def _study(path: Path):
    from .study import Study

    return Study.open(path)


def _duration(text: Optional[str], flag: str) -> Optional[float]:
    from .output import parse_duration

    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise InvalidInput(str(exc), field=flag, value=text) from None


# ---------------------------------------------------------------------- create


@app.command(rich_help_panel="Set up")
def create(
    study: StudyArg,
    space: Annotated[Optional[Path], typer.Option("--space", help="YAML file with the search space.",
                                                  rich_help_panel="Space")] = None,
    param: Annotated[Optional[list[str]], typer.Option(
        "--param", "-p", help="NAME=SPEC: 1..8, 1e-5..1e-1:log, 0..0.5:0.1, adam,sgd; "
                              "append ' if OTHER == VALUE' for a conditional parameter.",
        rich_help_panel="Space")] = None,
    minimize: Annotated[Optional[list[str]], typer.Option(help="An objective to minimize (repeatable).",
                                                          rich_help_panel="Objectives")] = None,
    maximize: Annotated[Optional[list[str]], typer.Option(help="An objective to maximize (repeatable).",
                                                          rich_help_panel="Objectives")] = None,
    sampler: Annotated[str, typer.Option(help=f"One of: {', '.join(SAMPLERS)}.")] = DEFAULT_SAMPLER,
    sampler_option: Annotated[Optional[list[str]], typer.Option(
        "--sampler-option", help="KEY=VALUE passed to the sampler (e.g. order=sequential for grid).")] = None,
    pruner: Annotated[str, typer.Option(help=f"Which trials `report` stops early; one of: {', '.join(PRUNERS)}.",
                                        rich_help_panel="Pruning")] = DEFAULT_PRUNER,
    pruner_option: Annotated[Optional[list[str]], typer.Option(
        "--pruner-option", help="KEY=VALUE passed to the pruner (e.g. n_warmup_steps=5; metric=NAME picks the "
                                "objective to prune on when there are several).", rich_help_panel="Pruning")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of every suggestion (random if not given).")] = None,
    max_trials: Annotated[Optional[int], typer.Option(help="Stop handing out trials after this many.")] = None,
    lock: Annotated[LockKind, typer.Option(help="mkdir works on any shared filesystem; flock only on "
                                                "a local disk or NFS with working locks.")] = LockKind.mkdir,
    lock_lease: Annotated[float, typer.Option(help="Seconds after which another host may break the lock of a "
                                                   "holder it cannot see (the mkdir lock).")] = 60.0,
    name: Annotated[Optional[str], typer.Option(help="Study name (default: the folder's name).")] = None,
    exist_ok: Annotated[bool, typer.Option("--exist-ok", help="Accept an existing identical study.")] = False,
) -> None:
    """Create a study folder: its space, objectives, sampler and pruner."""
    from .space import Space, parse_scalar
    from .study import Study

    full_space = Space.from_options(space, param or [])
    if full_space is None:
        raise InvalidInput("give a search space with --space FILE or -p NAME=SPEC", field="space")
    objectives = [(n, "minimize") for n in minimize or []] + [(n, "maximize") for n in maximize or []]
    options = {k: parse_scalar(v) for k, v in commands.key_values(sampler_option or [], "--sampler-option").items()}
    pruning = {k: parse_scalar(v) for k, v in commands.key_values(pruner_option or [], "--pruner-option").items()}
    created = Study.create(study, full_space, objectives=objectives or None, sampler=sampler,
                           sampler_options=options, pruner=pruner, pruner_options=pruning, seed=seed,
                           max_trials=max_trials,
                           lock={"kind": lock.value, "lease_seconds": lock_lease},
                           name=name, exist_ok=exist_ok)
    goals = ", ".join(f"{o.direction} {o.name}" for o in created.config.objectives)
    typer.echo(f"study {created.config.name} in {study}: {len(created.config.space)} parameters, {goals}, "
               f"{created.config.sampler} sampler, {created.config.pruner} pruner, seed {created.config.seed}",
               err=True)


# ---------------------------------------------------------------------- ask / tell


@app.command(rich_help_panel="Ask and tell")
def ask(
    study: StudyArg,
    count: Annotated[int, typer.Option("--count", "-n", help="How many trials to ask for.")] = 1,
    fmt: Annotated[AskFormat, typer.Option("--format", "-f", help="path: the trial folder (T=$(asktell ask s)); "
                                           "yaml/json: trial, folder and params; env: NAME=value lines.")]
    = AskFormat.path,
    key: Annotated[Optional[str], typer.Option(help="Idempotency key: while its trial runs, the same key gets "
                                                    "the same trial back (e.g. $SLURM_ARRAY_JOB_ID-"
                                                    "$SLURM_ARRAY_TASK_ID).")] = None,
) -> None:
    """Suggest the next trial: write its params.yaml and print its folder. Exit 4 when nothing is left."""
    commands.ask(study, count, fmt.value, key)


@app.command(rich_help_panel="Ask and tell")
def tell(
    study: StudyArg,
    trial: Annotated[str, typer.Argument(help="Trial number or folder (as printed by ask).", show_default=False)],
    value: Annotated[Optional[float], typer.Option(help="The value of the study's single objective.",
                                                   rich_help_panel="Result")] = None,
    values: Annotated[Optional[list[str]], typer.Option(help="NAME=VALUE per objective (repeatable).",
                                                        rich_help_panel="Result")] = None,
    result: Annotated[Optional[Path], typer.Option(help="Result file (default: TRIAL/result.yaml).",
                                                   rich_help_panel="Result")] = None,
    state: Annotated[Optional[TellState], typer.Option(help="complete (default), failed or pruned.",
                                                       rich_help_panel="Result")] = None,
) -> None:
    """Record a trial's result, from TRIAL/result.yaml or from --value/--values."""
    commands.tell(study, trial, value, values, result, state.value if state else None)


@app.command(rich_help_panel="Pipeline steps")
def params(
    trial_dir: Annotated[Path, typer.Argument(help="The trial folder (as printed by ask).", show_default=False)],
    fmt: Annotated[ParamsFormat, typer.Option("--format", "-f", help="yaml, json, env (NAME=value lines), "
                                              "args (--lr 0.001 --n-layers 3) or make (LR=0.001 N_LAYERS=3).")]
    = ParamsFormat.yaml,
) -> None:
    """Print a trial's parameters for a pipeline step."""
    commands.params(trial_dir, fmt.value)


# ---------------------------------------------------------------------- pruning


@app.command(rich_help_panel="Pruning")
def report(
    study: StudyArg,
    trial: Annotated[str, typer.Argument(help="Trial number or folder.", show_default=False)],
    step: Annotated[int, typer.Option(help="The step (epoch, fold, ...) the values are for: an integer >= 0.",
                                      show_default=False)],
    value: Annotated[Optional[float], typer.Option(help="The value of the objective the pruner watches.")] = None,
    values: Annotated[Optional[list[str]], typer.Option(help="NAME=VALUE per metric (repeatable).")] = None,
) -> None:
    """Record an intermediate value of a running trial. Exit 3 when the pruner says it should stop."""
    code = commands.report(study, trial, step, value, values)
    if code:
        raise typer.Exit(code)


@app.command("should-prune", rich_help_panel="Pruning")
def should_prune(
    study: StudyArg,
    trial: Annotated[str, typer.Argument(help="Trial number or folder.", show_default=False)],
) -> None:
    """Exit 3 if the pruner says a running trial should stop now, 0 if it should go on. Records nothing."""
    code = commands.should_prune(study, trial)
    if code:
        raise typer.Exit(code)


# ---------------------------------------------------------------------- queue and leases


@app.command(rich_help_panel="Queue and leases")
def enqueue(
    study: StudyArg,
    param: Annotated[list[str], typer.Option("--param", "-p", help="NAME=VALUE, one per parameter "
                                             "(repeatable): one fixed parameter set.", show_default=False)],
) -> None:
    """Queue a fixed parameter set: the next ask hands it out before asking the sampler."""
    from .space import parse_scalar

    params = {name: parse_scalar(value) for name, value in commands.key_values(param, "--param").items()}
    [queued] = _study(study).enqueue([params])
    typer.echo(f"queued as {queued}")


@app.command(rich_help_panel="Queue and leases")
def heartbeat(
    study: StudyArg,
    trial: Annotated[str, typer.Argument(help="Trial number or folder.", show_default=False)],
) -> None:
    """Renew a running trial's lease, so that reap leaves it alone. Exit 2 if it is no longer running."""
    opened, number = _study(study), commands.trial_number(trial)
    if opened.heartbeat(number):
        record = opened.history().get(number)
        told = f" (it was told {record.state})" if record is not None else ""
        raise InvalidInput(f"not a running trial of this study{told}", file=opened.layout.journal, field="trial",
                           value=number)


@app.command(rich_help_panel="Queue and leases")
def reap(
    study: StudyArg,
    older_than: Annotated[str, typer.Option(help="Mark failed the running trials with no heartbeat (or ask) "
                                                 "for this long: 90s, 30m, 2h, 1d.")] = "1h",
    retry: Annotated[int, typer.Option(help="Enqueue a reaped trial's parameters again, as long as they "
                                            "have run at most this many times.", min=0)] = 0,
) -> None:
    """Fail the running trials whose workers went silent (killed jobs, lost hosts)."""
    for record, requeued in _study(study).reap(_duration(older_than, "--older-than"), retry):
        again = f", enqueued again as {requeued}" if requeued is not None else ""
        typer.echo(f"trial {record.number} failed: {record.reason}{again}")


# ---------------------------------------------------------------------- run

#: Where ``CommandAfterDashes`` leaves the command for ``run_trials``.
RUN_COMMAND = "asktell.run.command"


class CommandAfterDashes(TyperCommand):
    """Everything after the first ``--`` is the command to run, never an argument of asktell.

    click hands positional arguments out without regard to ``--``, so ``run
    -- make train`` would make ``make`` the STUDY; splitting the arguments
    before click parses them keeps STUDY optional and the command verbatim.
    """

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        split = args.index("--") if "--" in args else len(args)
        ctx.meta[RUN_COMMAND] = args[split + 1:]
        return super().parse_args(ctx, args[:split])

    def collect_usage_pieces(self, ctx) -> list[str]:
        return [*super().collect_usage_pieces(ctx), "-- COMMAND [ARGS]..."]


RUN_HELP = (
    "Run COMMAND for each trial, J at a time: ask, run, read its metrics, tell.\n\n"
    "COMMAND gets the parameters as {name} placeholders in its arguments, as environment variables "
    "(the parameter's name, and ASKTELL_TRIAL_DIR, ASKTELL_TRIAL, ASKTELL_STUDY) and, with --make, as NAME=value "
    "arguments. It reports a metric by printing a line {\"metric\": \"acc\", \"value\": 0.93}, or by writing "
    "result.yaml in $ASKTELL_TRIAL_DIR; its stdout and stderr go to the trial's logs/.\n\n"
    "STUDY comes before --. Without STUDY, a space (-p or --space) makes or reuses a study in .asktell/. "
    "Exit status: 0 when a trial completed, 1 when every one failed, 4 when nothing was left to run, "
    "130 on Ctrl-C (143 on SIGTERM)."
)


@app.command("run", help=RUN_HELP, rich_help_panel="Run", cls=CommandAfterDashes)
def run_trials(
    ctx: typer.Context,
    study: Annotated[Optional[Path], typer.Argument(
        help="The study folder. Left out, the study is .asktell/<command>-<hash>, made from -p/--space.",
        metavar="[STUDY]", show_default=False)] = None,
    trials: Annotated[Optional[int], typer.Option(
        "--trials", "-n", help="Trials this run starts (default: what is left of the study's grid or "
                               "--max-trials budget, else 50).", show_default=False)] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Commands running at once.")] = 1,
    timeout: Annotated[Optional[str], typer.Option(
        help="Stop a command running longer than this (90s, 30m, 2h): its trial fails with 'timeout'.",
        show_default=False)] = None,
    retries: Annotated[int, typer.Option(help="Run a failed command again, up to this many times, "
                                              "before telling its trial failed.")] = 0,
    make: Annotated[bool, typer.Option("--make", help="Append NAME=value for every parameter to the command "
                                                      "(make variables, the Hake way).")] = False,
    param: Annotated[Optional[list[str]], typer.Option(
        "--param", "-p", help="NAME=SPEC of a new study's space: 1..8, 1e-5..1e-1:log, adam,sgd.",
        rich_help_panel="New study")] = None,
    space: Annotated[Optional[Path], typer.Option("--space", help="YAML file with a new study's space.",
                                                  rich_help_panel="New study")] = None,
    minimize: Annotated[Optional[list[str]], typer.Option(help="A metric to minimize (repeatable).",
                                                          rich_help_panel="New study")] = None,
    maximize: Annotated[Optional[list[str]], typer.Option(help="A metric to maximize (repeatable). With no "
                                                               "objective the run is a sweep of the grid.",
                                                          rich_help_panel="New study")] = None,
    sampler: Annotated[Optional[str], typer.Option(help="Sampler of a new study (default: grid for a sweep, "
                                                        "else the create default).", show_default=False,
                                                   rich_help_panel="New study")] = None,
    max_trials: Annotated[Optional[int], typer.Option(help="A new study's budget, shared by every run of it.",
                                                      show_default=False, rich_help_panel="New study")] = None,
) -> None:
    """Parse; ``runstudy`` finds or makes the study, ``run`` runs it."""
    from .run import run_command
    from .runstudy import open_or_create

    command = ctx.meta[RUN_COMMAND]
    opened = open_or_create(study, command, params=param or [], space_file=space, minimize=minimize or [],
                            maximize=maximize or [], sampler=sampler, max_trials=max_trials, make=make)
    code = run_command(opened, command, trials=trials, jobs=jobs, timeout=_duration(timeout, "--timeout"),
                       retries=retries, make=make)
    raise typer.Exit(code)


# ---------------------------------------------------------------------- reading a study


@app.command(rich_help_panel="Inspect")
def status(study: StudyArg) -> None:
    """Counts per state, the best trial so far and the running trials with their age."""
    from .output import render_status
    from .trial import RUNNING

    opened = _study(study)
    history = opened.history(opened.best_scope)
    typer.echo(render_status(opened.config, history.counts, opened.best_trials(history),
                             history.in_state(RUNNING), queued=len(history.queue)), nl=False)


@app.command(rich_help_panel="Inspect")
def trials(
    study: StudyArg,
    fmt: Annotated[TrialsFormat, typer.Option("--format", "-f", help="table, csv (a column per parameter and "
                                              "objective), json or jsonl (one trial per line).")]
    = TrialsFormat.table,
    state: Annotated[Optional[list[str]], typer.Option(help="Only trials in this state (repeatable).")] = None,
) -> None:
    """List every trial with its parameters, values, state and duration."""
    from .output import render_trials

    opened = _study(study)
    records = opened.history().trials
    if state:
        records = [t for t in records if t.state in state]
    typer.echo(render_trials(records, opened.config, fmt.value), nl=False)


@app.command(rich_help_panel="Inspect")
def best(
    study: StudyArg,
    fmt: Annotated[BestFormat, typer.Option("--format", "-f", help="yaml, json or env.")] = BestFormat.yaml,
) -> None:
    """The best trial, or the Pareto front when the study has several objectives."""
    from .output import render_best

    opened = _study(study)
    found = opened.best_trials()
    if not found:
        raise AsktellError("no complete trial yet" if opened.config.objectives
                           else "the study has no objective, so no trial is best", file=study)
    try:
        typer.echo(render_best(found, fmt.value), nl=False)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="--format", value=fmt.value) from None


@app.command(rich_help_panel="Inspect")
def export(
    study: StudyArg,
    folder: Annotated[Path, typer.Argument(help="Folder to write into (created if missing).", show_default=False)],
) -> None:
    """Write every trial to FOLDER as trials.csv, trials.jsonl and trials.json (as `trials --format` prints them)."""
    from .export import export_trials

    opened = _study(study)
    for path in export_trials(opened.history().trials, opened.config, folder):
        typer.echo(str(path))


PlotOutput = Annotated[Path, typer.Option("--output", "-o", help="The file to write: .png or .svg.",
                                          show_default=False)]


@app.command(rich_help_panel="Look at a study")
def plot(
    study: StudyArg,
    kind: Annotated[PlotKind, typer.Argument(help="history, slice, parallel-coordinates, contour, importance, "
                                                  "intermediate, pareto or timeline.", show_default=False)],
    output: PlotOutput,
    objective: Annotated[Optional[str], typer.Option(help="The objective to plot (default: the first; importance "
                                                          "with several objectives: the Pareto front).")] = None,
    params: Annotated[Optional[str], typer.Option(help="Comma-separated parameters to show (slice, contour, "
                                                       "parallel-coordinates, importance).")] = None,
) -> None:
    """Draw one picture of the study into a PNG or SVG file (needs the plots extra: matplotlib)."""
    from .plots import plot as draw_plot
    from .plots.view import View

    opened = _study(study)
    names = [p.strip() for p in params.split(",")] if params is not None else None
    draw_plot(View.of(opened.config, opened.history().trials, objective, names), kind.value, output)
    typer.echo(str(output), err=True)


@app.command("report-html", rich_help_panel="Look at a study")
def report_html(
    study: StudyArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.", show_default=False)],
) -> None:
    """Write one self-contained HTML page: status, best trials and every plot that applies (needs matplotlib)."""
    from .fileio import write_atomic
    from .html_report import render_report
    from .plots.view import View

    opened = _study(study)
    history = opened.history()
    view = View.of(opened.config, history.trials)
    write_atomic(output, render_report(view, history.counts, len(history.queue), opened.best_trials(history)))
    typer.echo(str(output), err=True)


@app.command(rich_help_panel="Inspect")
def check(
    study: StudyArg,
    max_age: Annotated[Optional[str], typer.Option(help="Warn about trials running longer than this "
                                                        "(90s, 30m, 2h, 1d).")] = None,
) -> None:
    """Validate every file of the study. Exit 1 if anything is corrupt; warnings alone exit 0."""
    from .check import check_study

    findings = check_study(study, _duration(max_age, "--max-age"))
    for finding in findings:
        typer.echo(str(finding))
    errors = sum(f.level == "error" for f in findings)
    typer.echo(f"{study}: {errors} errors, {len(findings) - errors} warnings", err=True)
    if errors:
        raise typer.Exit(EXIT_FAILURE)


@app.command(rich_help_panel="Inspect")
def compact(
    study: StudyArg,
    rebuild: Annotated[bool, typer.Option(help="Replay the whole journal instead of continuing the snapshot.")]
    = False,
) -> None:
    """Bring the study's cache (cache/snapshot.jsonl, cache/segments/) up to date with its journal.

    Calls compact by themselves every 500 journal events; run this after a bulk import, or with
    --rebuild after deleting or damaging the cache. The journal is only read.
    """
    opened = _study(study)
    done = opened.compact(rebuild=rebuild)
    if done is None:
        typer.echo(f"{study}: another process is compacting; nothing done", err=True)
        return
    typer.echo(f"{study}: compacted up to journal seq {done.seq}: {done.added} trials added, "
               f"{done.segments} segments{' (rebuilt from the journal)' if done.rebuilt else ''}")


# ---------------------------------------------------------------------- Optuna


@app.command("import-optuna", rich_help_panel="Optuna")
def import_optuna(
    storage: Annotated[str, typer.Argument(help="An Optuna journal file (JournalFileBackend) or an SQLAlchemy "
                                                "URL such as sqlite:///optuna.db; it is only read.",
                                           metavar="STORAGE", show_default=False)],
    folder: Annotated[Path, typer.Argument(help="The new study folder.", metavar="DIR", show_default=False)],
    study_name: Annotated[Optional[str], typer.Option("--study", help="The Optuna study (needed when the storage "
                                                                      "holds several).")] = None,
    rename: Annotated[Optional[list[str]], typer.Option(help="OLD=NEW: import a parameter or objective under "
                                                             "another name (repeatable).")] = None,
    sampler: Annotated[str, typer.Option(help=f"One of: {', '.join(SAMPLERS)}.")] = DEFAULT_SAMPLER,
    seed: Annotated[Optional[int], typer.Option(help="Seed of every suggestion (random if not given).")] = None,
) -> None:
    """Make a study folder from an Optuna study: space, objectives, trials, intermediate values. Needs the optuna extra."""
    from .optuna_bridge import import_study

    plan = import_study(storage, study_name, folder, renames=commands.key_values(rename or [], "--rename"),
                        sampler=sampler, seed=seed)
    counts = ", ".join(f"{n} {state}" for state, n in plan.counts.items()) or "no trials"
    typer.echo(f"study {plan.name} in {folder}: {len(plan.space)} parameters, "
               f"{', '.join(f'{o.direction} {o.name}' for o in plan.objectives)}; {counts}", err=True)
    for note in plan.notes:
        typer.echo(f"note: {note}", err=True)


@app.command("export-optuna", rich_help_panel="Optuna")
def export_optuna(
    study: StudyArg,
    journal: Annotated[Path, typer.Argument(help="The Optuna journal file to write (optuna-dashboard JOURNAL "
                                                 "opens it).", show_default=False)],
    study_name: Annotated[Optional[str], typer.Option("--study", help="The Optuna study's name (default: the "
                                                                      "study's own).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace JOURNAL if it exists.")] = False,
) -> None:
    """Write the study as an Optuna journal file, for Optuna and optuna-dashboard. Needs the optuna extra."""
    from .optuna_bridge import export_study

    summary = export_study(study, journal, study_name=study_name, force=force)
    counts = ", ".join(f"{n} {state}" for state, n in summary.counts.items()) or "no trials"
    typer.echo(f"{journal}: Optuna study {summary.study_name}; {counts}", err=True)
    for note in summary.notes:
        typer.echo(f"note: {note}", err=True)


def _click_error_class() -> type:
    """click's ClickException, whether typer vendors click or depends on it."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class ArgumentError(AsktellError):
    """The command line itself is wrong (click's usage errors, exit 2)."""

    def __init__(self, message: str, exit_code: int = EXIT_INVALID) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def run(argv: list[str]) -> int:
    """Run the app on ``argv``; an argument error becomes a one-line ``ArgumentError``."""
    usage_error = _click_error_class()
    try:
        code = app(argv, standalone_mode=False)
    except usage_error as exc:  # bad arguments: typer's multi-line box would break "one line"
        message = exc.format_message().replace("\n", " ")
        if not message:  # no arguments at all: the help was printed
            return exc.exit_code
        command = exc.ctx.command_path if getattr(exc, "ctx", None) else "asktell"
        raise ArgumentError(f"{command}: {message}", exit_code=exc.exit_code) from None
    except typer.Abort:
        raise KeyboardInterrupt from None
    return code if isinstance(code, int) else 0
