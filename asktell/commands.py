"""What ``ask``, ``tell``, ``params``, ``report`` and ``should-prune`` do once their arguments are parsed.

Every pipeline step runs one of these -- a training loop runs ``report`` at
every step -- so they must not wait for typer (about 25 ms of imports):
``asktell.quick`` parses their plain forms itself and ``asktell.cli``
declares them for typer; both call the functions here.  Each imports what it
needs when it runs, and returns the exit code (None for 0).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from .errors import EXIT_PRUNE, InvalidInput

ASK_FORMATS = ("path", "yaml", "json", "env")
PARAMS_FORMATS = ("yaml", "json", "env", "args", "make")
TELL_STATES = ("complete", "failed", "pruned")


def ask(study: Path, count: int = 1, fmt: str = "path", key: Optional[str] = None) -> None:
    """Suggest ``count`` trials and print each as ``fmt``."""
    from .study import Study

    if fmt == "env" and count != 1:
        raise InvalidInput("--format env shows one trial; ask with --count 1", field="--format", value="env")
    trials = Study.open(study).ask_many(count, key=key)
    for t in trials:
        if fmt == "path":
            print(t.path)
        elif fmt == "json":
            import json

            print(json.dumps({"trial": t.number, "path": str(t.path), "params": t.params}))
        elif fmt == "yaml":
            from .fileio import dump_yaml

            print("---\n" + dump_yaml({"trial": t.number, "path": str(t.path), "params": t.params}), end="")
        else:
            from .output import render_params  # csv, shlex: only this format needs them

            env = {"ASKTELL_STUDY": str(study), "ASKTELL_TRIAL": t.number, "ASKTELL_TRIAL_DIR": str(t.path)}
            print(render_params(t.params, "env", extra_env=env), end="")
    if len(trials) < count:
        print(f"asktell: only {len(trials)} of {count} trials were left to ask", file=sys.stderr)


def trial_number(trial: str) -> int:
    """A trial given as ``7``, ``000007`` or its folder ``study/trials/000007``."""
    name = Path(trial.rstrip("/")).name
    if name.isdigit():
        return int(name)
    raise InvalidInput("a trial is its number or its folder (as printed by ask)", field="TRIAL", value=trial)


def tell(study: Path, trial: str, value: Optional[float] = None, values: Optional[list[str]] = None,
         result: Optional[Path] = None, state: Optional[str] = None) -> None:
    """Record a trial's result from the command line or from its result file."""
    from .output import describe_values
    from .pipeline import save_result
    from .results import values_from
    from .study import Study

    opened = Study.open(study)
    number = trial_number(trial)
    folder = opened.trial_dir(number)
    if value is not None or values:
        if result is not None:
            raise InvalidInput("give --result or --value/--values, not both", field="--result", value=str(result))
        if value is not None and values:
            raise InvalidInput("give --value or --values, not both", field="--value", value=value)
        objectives = opened.config.objectives
        if value is None:
            told = key_values(values, "--values")
        elif len(objectives) == 1:  # checked by tell, which names the objective in its errors
            told = {objectives[0].name: value}
        else:
            told = values_from(value, None, objectives, "--value")  # raises: no objective, or several
        source: object = "--value" if value is not None else "--values"
        constraints = None
    else:
        told, constraints, source, state = _result_file(opened, result or folder / "result.yaml",
                                                        result is not None, state)
    outcome = opened.tell(number, told, state=state or "complete", constraints=constraints, source=source)
    record = outcome.record
    if source in ("--value", "--values") and folder.is_dir() and not (folder / "result.yaml").exists():
        save_result(record.values, path=folder, state=record.state)
    shown = f"trial {number} {record.state}" + (f": {describe_values(record.values)}" if record.values else "")
    note = " (already told with the same result; nothing changed)" if outcome.already_told else ""
    print(shown + note, file=sys.stderr)


def _result_file(opened, path: Path, named: bool, state: Optional[str]) -> tuple:
    """Values, constraints, source and state from a result file; a failed or pruned trial, or a sweep's, may have none."""
    from .results import read_result

    if (state in ("failed", "pruned") or not opened.config.objectives) and not named and not path.exists():
        return None, None, None, state
    parsed = read_result(path, opened.config.objectives)
    return parsed.values, parsed.constraints, path, state or parsed.state


def report(study: Path, trial: str, step: int, value: Optional[float] = None,
           values: Optional[list[str]] = None) -> int:
    """Record a running trial's intermediate values; exit 3, saying why on stderr, when it should stop.

    ``--value`` is the value of the objective the pruner watches (the study's
    only one, or the pruner's ``metric``); ``--values NAME=V`` names metrics.
    """
    from .study import Study

    opened = Study.open(study)
    number = trial_number(trial)
    if value is not None and values:
        raise InvalidInput("give --value or --values, not both", field="--value", value=value)
    if value is None and not values:
        raise InvalidInput("give the value with --value VALUE or --values NAME=VALUE", field="--value")
    reported, source = (value, "--value") if value is not None else (key_values(values, "--values"), "--values")
    _, history = opened.report(number, step, reported, source=source)
    return _verdict(number, opened.should_prune(number, history))


def should_prune(study: Path, trial: str) -> int:
    """Exit 3, saying why on stderr, when the pruner says a running trial should stop now; else 0."""
    from .study import Study

    number = trial_number(trial)
    return _verdict(number, Study.open(study).should_prune(number))


def _verdict(number: int, reason: Optional[str]) -> int:
    if reason is None:
        return 0
    print(f"asktell: trial {number} should be pruned ({reason})", file=sys.stderr)
    return EXIT_PRUNE


def params(trial_dir: Path, fmt: str = "yaml") -> None:
    """Print a trial's parameters in the shape a pipeline step consumes."""
    from .output import render_params
    from .pipeline import read_params_file

    document = read_params_file(trial_dir)
    extra = {"ASKTELL_TRIAL": document.get("trial"), "ASKTELL_TRIAL_DIR": str(trial_dir)}
    print(render_params(document["params"], fmt, extra_env=extra), end="")


def key_values(items: list[str], flag: str) -> dict[str, str]:
    """``NAME=VALUE`` arguments as a mapping; anything else is a one-line error naming ``flag``."""
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"write {flag} as NAME=VALUE", field=flag, value=item)
        pairs[key] = value
    return pairs
