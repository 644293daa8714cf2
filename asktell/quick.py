"""The plain forms of ``ask``, ``tell``, ``params``, ``report`` and ``should-prune``, parsed without typer.

typer and click take about 25 ms to import, more than an ``ask`` takes to
run, and every pipeline step pays it (a training loop, at every step).
``parse`` recognises these commands with their documented options and
returns ``None`` for anything else (help, an unknown option, a missing or
malformed value, a missing required option, a short option written ``-n3``),
which then goes to typer: every message about arguments comes from one place.  The rules follow click's: options may come between
arguments, ``--name=value`` and ``--name value`` both work, a value may
start with ``-``, the last of a repeated option wins, ``--`` ends options.
``tests/test_quick.py`` checks that whatever this accepts, typer parses to
the same values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional

from . import commands


class Option(NamedTuple):
    dest: str
    convert: Callable[[str], Any]  # raises ValueError: leave the arguments to typer
    repeatable: bool = False
    required: bool = False


class Command(NamedTuple):
    run: Callable[..., Optional[int]]
    arguments: tuple[tuple[str, Callable[[str], Any]], ...]
    options: dict[str, Option]


def _choice(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def convert(text: str) -> str:
        if text not in allowed:
            raise ValueError(text)
        return text
    return convert


def _path(text: str) -> Path:
    if not text:
        raise ValueError(text)
    return Path(text)


def _with_short(options: dict[str, Option], short: dict[str, str]) -> dict[str, Option]:
    return {**options, **{flag: options[long] for flag, long in short.items()}}


COMMANDS = {
    "ask": Command(commands.ask, (("study", _path),), _with_short({
        "--count": Option("count", int),
        "--format": Option("fmt", _choice(commands.ASK_FORMATS)),
        "--key": Option("key", str),
    }, {"-n": "--count", "-f": "--format"})),
    "tell": Command(commands.tell, (("study", _path), ("trial", str)), {
        "--value": Option("value", float),
        "--values": Option("values", str, repeatable=True),
        "--result": Option("result", _path),
        "--state": Option("state", _choice(commands.TELL_STATES)),
    }),
    "params": Command(commands.params, (("trial_dir", _path),), _with_short({
        "--format": Option("fmt", _choice(commands.PARAMS_FORMATS)),
    }, {"-f": "--format"})),
    "report": Command(commands.report, (("study", _path), ("trial", str)), {
        "--step": Option("step", int, required=True),
        "--value": Option("value", float),
        "--values": Option("values", str, repeatable=True),
    }),
    "should-prune": Command(commands.should_prune, (("study", _path), ("trial", str)), {}),
}


def parse(argv: list[str]) -> Optional[tuple[Callable[..., Optional[int]], dict[str, Any]]]:
    """The command to run and its keyword arguments, or ``None`` to let typer parse ``argv``."""
    if not argv or argv[0] not in COMMANDS:
        return None
    command = COMMANDS[argv[0]]
    positional: list[str] = []
    kwargs: dict[str, Any] = {}
    rest = argv[1:]
    try:
        while rest:
            token = rest.pop(0)
            if token == "--":
                positional.extend(rest)
                break
            if not token.startswith("-"):
                positional.append(token)
                continue
            flag, has_value, value = token.partition("=")
            if not flag.startswith("--"):
                flag, has_value, value = token, "", ""
            option = command.options.get(flag)
            if option is None or not (has_value or rest):
                return None
            converted = option.convert(value if has_value else rest.pop(0))
            if option.repeatable:
                kwargs.setdefault(option.dest, []).append(converted)
            else:
                kwargs[option.dest] = converted
        if len(positional) != len(command.arguments):
            return None
        if any(o.required and o.dest not in kwargs for o in command.options.values()):
            return None
        for (dest, convert), text in zip(command.arguments, positional):
            kwargs[dest] = convert(text)
    except ValueError:
        return None
    return command.run, kwargs
