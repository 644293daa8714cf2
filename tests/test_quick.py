"""The typer-free parser of ask, tell and params must agree with typer wherever it answers.

``asktell.quick`` saves every pipeline step typer's start-up; it is only
safe if any command line it accepts means exactly what typer would make of
it.  Hypothesis builds command lines from the options' spellings, values
that click treats specially (leading dashes, ``=``, ``--``, bad choices) and
unknown flags; whenever ``quick.parse`` answers, typer must parse the same
line to the same values.
"""

from __future__ import annotations

import enum
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asktell import quick

FLAGS = sorted({flag for command in quick.COMMANDS.values() for flag in command.options}
               | {"--bogus", "-h", "--help", "-n3", "--count=2", "--format=json", "-f=json", "--value=-1",
                  "--values=loss=1", "--debug", "--"})
WORDS = ["s", "study/", "3", "000007", "trials/000003/", "-1", "-", "", "1.5", "nan", "1e-3", " 3", "1_0",
         "x", "path", "yaml", "json", "env", "args", "make", "bogus", "failed", "pruned", "complete",
         "loss=1", "=1", "a=b=c"]

flag_and_value = st.tuples(st.sampled_from(FLAGS), st.sampled_from(WORDS)).map(list)
lone_token = st.sampled_from(FLAGS + WORDS).map(lambda token: [token])
command_lines = st.tuples(
    st.sampled_from(sorted(quick.COMMANDS)),
    st.lists(st.one_of(flag_and_value, lone_token), max_size=5).map(lambda parts: sum(parts, [])),
)


def typer_params(name: str, args: list[str]) -> dict:
    """What typer's own parser makes of ``asktell NAME ARGS``."""
    import typer.main

    from asktell.cli import app

    group = typer.main.get_command(app)
    command = group.commands[name]
    return command.make_context(name, list(args)).params


def plain(value):
    """A parsed value as the command function receives it, comparable across the two parsers."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value] or None
    return None if value is None else str(value)


def as_typer_passes_it(value, like):
    """typer hands Path arguments to the function as ``Path(text)``."""
    return Path(value) if isinstance(like, Path) and value is not None else value


def with_defaults(run, kwargs: dict) -> dict:
    defaults = {name: p.default for name, p in inspect.signature(run).parameters.items()
                if p.default is not inspect.Parameter.empty}
    return {**defaults, **kwargs}


@settings(max_examples=600, deadline=None)
@given(command_lines)
def test_whatever_quick_accepts_typer_parses_the_same(line):
    name, args = line
    parsed = quick.parse([name, *args])
    if parsed is None:
        return
    run, kwargs = parsed
    assert run is quick.COMMANDS[name].run
    ours = with_defaults(run, kwargs)
    theirs = typer_params(name, args)
    assert sorted(ours) == sorted(theirs)
    assert {k: plain(v) for k, v in ours.items()} == {k: plain(as_typer_passes_it(v, ours[k])) for k, v in theirs.items()}


@pytest.mark.parametrize("argv", [
    ["ask", "s"],
    ["ask", "s", "--count", "4", "--format", "json", "--key", "job-7"],
    ["ask", "-n", "2", "s", "-f", "yaml"],
    ["tell", "s", "trials/000003/", "--value", "-0.5"],
    ["tell", "s", "3", "--values", "loss=1", "--values=acc=0.9"],
    ["tell", "s", "3", "--state", "failed"],
    ["tell", "s", "3", "--result", "r.yaml"],
    ["params", "s/trials/000000", "--format", "make"],
])
def test_the_plain_forms_pipelines_use_skip_typer(argv):
    assert quick.parse(argv) is not None


@pytest.mark.parametrize("argv", [
    [], ["--debug", "ask", "s"], ["ask"], ["ask", "s", "--help"], ["ask", "s", "-n3"],
    ["ask", "s", "--count", "two"], ["ask", "s", "--format", "xml"], ["tell", "s"], ["tell", "s", "3", "--value"],
    ["create", "s", "-p", "x=0..1"], ["status", "s"], ["params", "a", "b"],
])
def test_everything_else_goes_to_typer(argv):
    assert quick.parse(argv) is None


def test_a_plain_ask_does_not_import_typer(study):
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "asktell", "ask", str(study)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "typer" not in result.stderr


def test_argument_errors_still_come_from_typer_in_one_line(study):
    result = subprocess.run([sys.executable, "-m", "asktell", "ask", str(study), "--count", "two"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "asktell: error:" in result.stderr and "'two' is not a valid int" in result.stderr
