"""Rendering for shells, Makefiles and people: what pipeline steps read back must be exact."""

from __future__ import annotations

import csv
import io
import json
import shlex
import subprocess

import pytest
import yaml

from asktell.config import Objective, StudyConfig
from asktell.output import format_duration, parse_duration, render_params, render_trials
from asktell.space import Space
from asktell.trial import COMPLETE, FAILED, RUNNING, TrialRecord

PARAMS = {"lr": 0.001, "n_layers": 3}
#: Values a shell must not split, expand or execute.
AWKWARD = {
    "msg": "it's a \"test\" with  two spaces",
    "cmd": "$(touch should-not-exist) `touch should-not-exist` $HOME ${PATH} \\ ; & | > <",
    "multi-line": "first\nsecond",
    "flag": True,
    "nothing": None,
    "tiny": 1e-05,
    "neg": -2,
    "unicode": "h\u00e9 \u2192 \u00fc",
}


@pytest.mark.parametrize("fmt, expected", [
    ("args", "--lr 0.001 --n-layers 3\n"),
    ("make", "LR=0.001 N_LAYERS=3\n"),
    ("env", "LR=0.001\nN_LAYERS=3\n"),
    ("json", '{"lr": 0.001, "n_layers": 3}\n'),
    ("yaml", "lr: 0.001\nn_layers: 3\n"),
])
def test_render_params_examples(fmt: str, expected: str) -> None:
    """The spellings the README promises for ``asktell params --format``."""
    assert render_params(PARAMS, fmt) == expected


@pytest.mark.parametrize("fmt, load", [("yaml", yaml.safe_load), ("json", json.loads)])
def test_structured_formats_read_back_exactly(fmt: str, load) -> None:
    """Types survive: true stays a boolean, 1e-05 a float, None null."""
    assert load(render_params(AWKWARD, fmt)) == AWKWARD
    assert {k: type(v) for k, v in load(render_params(AWKWARD, fmt)).items()} == \
        {k: type(v) for k, v in AWKWARD.items()}


def shell_values(script: str, names: list[str]) -> list[str]:
    """Run ``script`` in bash, then print each variable NUL-separated."""
    show = " ".join(f'"${{{name}}}"' for name in names)
    result = subprocess.run(["bash", "-c", f"{script}\nprintf '%s\\0' {show}"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\0")[:-1]


EXPECTED_SHELL_TEXT = {
    "MSG": AWKWARD["msg"], "CMD": AWKWARD["cmd"], "MULTI_LINE": AWKWARD["multi-line"], "FLAG": "true",
    "NOTHING": "null", "TINY": "1e-05", "NEG": "-2", "UNICODE": AWKWARD["unicode"],
}


def test_env_lines_are_shell_safe(tmp_path) -> None:
    """``eval "$(asktell params T --format env)"`` sets each variable to the exact text, running nothing."""
    extra = {"ASKTELL_TRIAL": 4, "ASKTELL_TRIAL_DIR": str(tmp_path / "my study" / "000004")}
    text = render_params(AWKWARD, "env", extra_env=extra)
    names = [*EXPECTED_SHELL_TEXT, *extra]
    values = shell_values(f"cd {shlex.quote(str(tmp_path))}\neval {shlex.quote(text)}", names)
    assert values == [*EXPECTED_SHELL_TEXT.values(), "4", extra["ASKTELL_TRIAL_DIR"]]
    assert not (tmp_path / "should-not-exist").exists()


def test_args_split_back_into_options_and_values() -> None:
    """``train.py $(...)`` unquoted would split; ``eval`` or ``shlex.split`` must give one word per value."""
    words = shlex.split(render_params(AWKWARD, "args"))
    assert words[0::2] == ["--msg", "--cmd", "--multi-line", "--flag", "--nothing", "--tiny", "--neg", "--unicode"]
    assert words[1::2] == list(EXPECTED_SHELL_TEXT.values())


def test_make_assignments_split_back_into_variables() -> None:
    words = shlex.split(render_params(AWKWARD, "make"))
    assert words == [f"{k}={v}" for k, v in EXPECTED_SHELL_TEXT.items()]


@pytest.mark.parametrize("name, variable, option", [
    ("n_layers", "N_LAYERS", "--n-layers"),
    ("drop.out", "DROP_OUT", "--drop-out"),
    ("batch-size", "BATCH_SIZE", "--batch-size"),
    ("LR", "LR", "--lr"),
])
def test_names_become_variables_and_options(name: str, variable: str, option: str) -> None:
    assert render_params({name: 1}, "make") == f"{variable}=1\n"
    assert render_params({name: 1}, "args") == f"{option} 1\n"


def test_unknown_params_format_is_an_error() -> None:
    with pytest.raises(ValueError):
        render_params(PARAMS, "toml")


# --------------------------------------------------------------------- durations


@pytest.mark.parametrize("text, seconds", [
    ("90", 90), ("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400),
    ("1.5h", 5400), (" 45 m ", 2700), ("0", 0),
])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "2x", "-5s", "1h30m", "2 hours", "1e3s", "5ms"])
def test_parse_duration_rejects_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize("seconds, text", [
    (None, ""), (-3, "0.0s"), (0, "0.0s"), (12.34, "12.3s"), (60, "1m00s"), (90, "1m30s"),
    (3599, "59m59s"), (3600, "1h00m"), (3 * 3600 + 5 * 60 + 59, "3h05m"), (47 * 3600, "47h00m"),
    (48 * 3600, "2d00h"), (50 * 3600, "2d02h"),
])
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


# --------------------------------------------------------------------- trials


@pytest.fixture
def config() -> StudyConfig:
    space = Space.from_spec({"lr": "1e-5..1e-1:log", "opt": ["adam", "sgd", 'odd, "quoted"'],
                             "momentum": "0..0.9 if opt == sgd"})
    return StudyConfig(name="demo", objectives=(Objective("loss", "minimize"), Objective("acc", "maximize")),
                       space=space)


@pytest.fixture
def records() -> list[TrialRecord]:
    return [
        TrialRecord(0, {"lr": 0.001, "opt": "adam"}, "2024-05-01T10:00:00.000Z", host="node1", state=COMPLETE,
                    values={"loss": 0.25, "acc": 0.9}, told_at="2024-05-01T10:01:30.500Z"),
        TrialRecord(1, {"lr": 0.01, "opt": "sgd", "momentum": 0.5}, "2024-05-01T10:00:01.000Z", host="node2"),
        TrialRecord(2, {"lr": 1e-05, "opt": 'odd, "quoted"'}, "2024-05-01T10:00:02.000Z", state=FAILED,
                    told_at="2024-05-01T10:00:03.000Z"),
    ]


HEADER = ["trial", "state", "loss", "acc", "lr", "opt", "momentum", "duration_s", "host", "asked_at"]


def test_csv_reads_back_with_empty_cells_for_absent_values(config, records) -> None:
    rows = list(csv.reader(io.StringIO(render_trials(records, config, "csv"))))
    assert rows[0] == HEADER
    table = [dict(zip(HEADER, row)) for row in rows[1:]]
    assert [len(row) for row in rows[1:]] == [len(HEADER)] * 3
    assert [r["trial"] for r in table] == ["0", "1", "2"]
    assert [r["state"] for r in table] == [COMPLETE, RUNNING, FAILED]
    assert [r["momentum"] for r in table] == ["", "0.5", ""]
    assert [r["loss"] for r in table] == ["0.25", "", ""]
    assert [r["opt"] for r in table] == ["adam", "sgd", 'odd, "quoted"']
    assert [float(r["lr"]) for r in table] == [0.001, 0.01, 1e-05]
    assert [r["duration_s"] for r in table] == ["90.5", "", "1.0"]
    assert [r["host"] for r in table] == ["node1", "node2", ""]


def test_table_aligns_columns_and_leaves_absent_values_blank(config, records) -> None:
    lines = render_trials(records, config, "table").splitlines()
    assert lines[0].split() == HEADER
    assert len(lines) == 1 + len(records)
    start = lines[0].index("momentum")
    end = lines[0].index("duration_s")
    assert [line[start:end].strip() for line in lines[1:]] == ["", "0.5", ""]
    assert [line[:lines[0].index("state")].strip() for line in lines[1:]] == ["0", "1", "2"]
    assert all(line == line.rstrip() for line in lines)


def test_json_lists_every_trial_as_its_record(config, records) -> None:
    shown = json.loads(render_trials(records, config, "json"))
    assert [t["trial"] for t in shown] == [0, 1, 2]
    assert shown[0]["params"] == {"lr": 0.001, "opt": "adam"}
    assert shown[0]["values"] == {"loss": 0.25, "acc": 0.9}
    assert shown[0]["duration_s"] == 90.5
    assert "values" not in shown[1] and "told_at" not in shown[1]
    assert shown[2]["state"] == FAILED


def test_empty_study_renders_just_the_header(config) -> None:
    assert list(csv.reader(io.StringIO(render_trials([], config, "csv")))) == [HEADER]
    assert json.loads(render_trials([], config, "json")) == []


def test_unknown_trials_format_is_an_error(config, records) -> None:
    with pytest.raises(ValueError):
        render_trials(records, config, "xml")
