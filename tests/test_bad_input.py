"""Bad input through the real CLI: exit 2, one line that says what to fix, nothing written.

Pipelines call ``asktell`` unattended and often in loops, so a rejected input
must be recognisable by its exit code alone (2, never 1 or 0), explain itself
in a single ``asktell: error:`` line naming the file (or flag), the field and
the offending value, and never leave a half-told trial, a new journal line or
a stray folder behind.  Every case below therefore hashes every file and
folder of the test's directory -- the study included -- before and after.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import run_asktell

EXIT_INVALID = 2


# ---------------------------------------------------------------------- helpers


def tree_state(root: Path) -> dict[str, str]:
    """Every folder and file under ``root`` with a hash of its bytes (folders as ``<dir>``)."""
    state = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        state[key] = "<dir>" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def assert_one_error_line(result, *expected: str) -> None:
    """Exit 2, nothing on stdout, exactly one ``asktell: error:`` line naming every expected piece."""
    lines = result.stderr.splitlines()
    assert result.returncode == EXIT_INVALID, (result.returncode, result.stderr)
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{result.stderr}"
    line = lines[0]
    assert line.startswith("asktell: error:"), line
    missing = [piece for piece in expected if piece not in line]
    assert not missing, f"{missing} not named in: {line}"
    assert result.stdout == "", result.stdout


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, Path]:
    """Two studies, each with one running trial: ``single`` (loss) and ``multi`` (loss, acc).

    Built once through the CLI and copied for every test, which keeps the
    many cases below fast without sharing mutable state between them.
    """
    root = tmp_path_factory.mktemp("templates")
    made = {}
    for name, objectives in (("single", ["--minimize", "loss"]),
                             ("multi", ["--minimize", "loss", "--maximize", "acc"])):
        path = root / name
        created = run_asktell("create", path, "-p", "lr=1e-5..1e-1:log", "-p", "n_layers=1..4",
                              "-p", "opt=adam,sgd", *objectives, "--seed", "3")
        assert created.returncode == 0, created.stderr
        asked = run_asktell("ask", path)
        assert asked.returncode == 0, asked.stderr
        made[name] = path
    return made


@dataclass(frozen=True)
class Case:
    """One bad input.

    ``args`` and ``expect`` may use ``{study}``, ``{trial}`` (the running
    trial's folder) and ``{tmp}`` (the test's own folder).  ``result`` is
    written to ``{trial}/result.yaml`` and the ``before`` commands run
    before anything is hashed.
    """

    id: str
    args: tuple[str, ...]
    expect: tuple[str, ...]
    study: str = "single"
    result: str | None = None
    before: tuple[tuple[str, ...], ...] = ()


TELL = ("tell", "{study}", "{trial}")
REPORT = ("report", "{study}", "{trial}", "--step")

CASES = [
    # --- result files -------------------------------------------------------------
    Case("result-malformed-yaml", TELL, ("{trial}/result.yaml", "malformed YAML", "line 2"),
         result="values: {loss: 0.1\n"),
    Case("result-unknown-field", TELL, ("{trial}/result.yaml", "'epochs'", "12"),
         result="values: {loss: 0.1}\nepochs: 12\n"),
    Case("result-missing-objective", TELL, ("{trial}/result.yaml", "values.loss", "missing"),
         study="multi", result="values: {acc: 0.9}\n"),
    Case("result-value-is-string", TELL, ("{trial}/result.yaml", "values.loss", "'abc'"),
         result="values: {loss: abc}\n"),
    Case("result-value-is-list", TELL, ("{trial}/result.yaml", "values.loss", "[1, 2]"),
         result="values: {loss: [1, 2]}\n"),
    Case("result-single-value-is-string", TELL, ("{trial}/result.yaml", "'abc'"),
         result="value: abc\n"),
    Case("result-nan", TELL, ("{trial}/result.yaml", "values.loss", "nan"),
         result="values: {loss: .nan}\n"),
    Case("result-inf", TELL, ("{trial}/result.yaml", "values.loss", "inf"),
         result="values: {loss: .inf}\n"),
    Case("result-single-value-minus-inf", TELL, ("{trial}/result.yaml", "-inf"),
         result="value: -.inf\n"),
    Case("result-unknown-objective", TELL, ("{trial}/result.yaml", "values.nope", "2"),
         result="values: {loss: 1, nope: 2}\n"),
    Case("result-empty", TELL, ("{trial}/result.yaml", "empty"), result=""),
    Case("result-missing", TELL, ("{trial}/result.yaml", "not found")),
    Case("result-file-option-missing", (*TELL, "--result", "{tmp}/nowhere.yaml"),
         ("{tmp}/nowhere.yaml", "not found")),
    # --- values on the command line -------------------------------------------------
    Case("value-nan", (*TELL, "--value", "nan"), ("--value", "values.loss", "nan")),
    Case("value-inf", (*TELL, "--value", "inf"), ("--value", "values.loss", "inf")),
    Case("value-not-a-number", (*TELL, "--value", "abc"), ("--value", "'abc'")),
    Case("values-nan", (*TELL, "--values", "loss=nan"), ("--values", "values.loss", "nan")),
    Case("values-not-a-number", (*TELL, "--values", "loss=abc"), ("--values", "values.loss", "'abc'")),
    Case("values-unknown-objective", (*TELL, "--values", "nope=1"), ("--values", "values.nope", "'1'")),
    Case("values-without-equals", (*TELL, "--values", "loss"), ("--values", "'loss'")),
    Case("values-missing-objective", (*TELL, "--values", "acc=0.5"), ("--values", "values.loss", "missing"),
         study="multi"),
    # --- trials and studies -----------------------------------------------------------
    Case("tell-unknown-trial-number", ("tell", "{study}", "99", "--value", "1"),
         ("{study}/journal.jsonl", "'trial'", "99")),
    Case("tell-unknown-trial-folder", ("tell", "{study}", "{study}/trials/000099", "--value", "1"),
         ("{study}/journal.jsonl", "'trial'", "99")),
    Case("tell-again-other-values", (*TELL, "--value", "2"), ("{study}/journal.jsonl", "'values'", "2.0"),
         before=((*TELL, "--value", "1"),)),
    Case("tell-again-other-state", (*TELL, "--state", "failed"), ("{study}/journal.jsonl", "'state'", "failed"),
         before=((*TELL, "--value", "1"),)),
    Case("ask-study-does-not-exist", ("ask", "{tmp}/nowhere"), ("{tmp}/nowhere", "no such study folder")),
    Case("tell-study-does-not-exist", ("tell", "{tmp}/nowhere", "0", "--value", "1"),
         ("{tmp}/nowhere", "no such study folder")),
    # --- the queue and leases ---------------------------------------------------------
    Case("enqueue-out-of-range", ("enqueue", "{study}", "-p", "lr=0.5", "-p", "n_layers=2", "-p", "opt=adam"),
         ("params.lr", "0.5")),
    Case("enqueue-unknown-param", ("enqueue", "{study}", "-p", "lr=0.01", "-p", "n_layers=2", "-p", "opt=adam",
                                   "-p", "depth=3"), ("params.depth", "3")),
    Case("enqueue-missing-param", ("enqueue", "{study}", "-p", "lr=0.01", "-p", "opt=adam"),
         ("params.n_layers", "missing")),
    Case("enqueue-not-a-choice", ("enqueue", "{study}", "-p", "lr=0.01", "-p", "n_layers=2", "-p", "opt=rmsprop"),
         ("params.opt", "'rmsprop'")),
    Case("heartbeat-told-trial", ("heartbeat", "{study}", "{trial}"), ("{study}/journal.jsonl", "'trial'", "told"),
         before=((*TELL, "--value", "1"),)),
    Case("heartbeat-unknown-trial", ("heartbeat", "{study}", "42"), ("{study}/journal.jsonl", "'trial'", "42")),
    Case("reap-bad-duration", ("reap", "{study}", "--older-than", "soon"), ("--older-than", "'soon'")),
    Case("ask-folder-is-not-a-study", ("ask", "{trial}"), ("{trial}", "study.yaml")),
    Case("tell-folder-is-not-a-study", ("tell", "{study}/trials", "0", "--value", "1"),
         ("{study}/trials", "study.yaml")),
    Case("ask-env-format-for-two-trials", ("ask", "{study}", "--format", "env", "--count", "2"),
         ("--format", "'env'", "--count")),
    # --- intermediate values ------------------------------------------------------------
    Case("report-negative-step", (*REPORT, "-1", "--value", "1"), ("'step'", "-1")),
    Case("report-step-not-an-integer", (*REPORT, "1.5", "--value", "1"), ("--step", "'1.5'")),
    Case("report-without-step", ("report", "{study}", "{trial}", "--value", "1"), ("--step",)),
    Case("report-value-nan", (*REPORT, "0", "--value", "nan"), ("--value", "values.loss", "nan")),
    Case("report-value-inf", (*REPORT, "0", "--value", "-inf"), ("--value", "values.loss", "-inf")),
    Case("report-value-not-a-number", (*REPORT, "0", "--value", "abc"), ("--value", "'abc'")),
    Case("report-values-not-a-number", (*REPORT, "0", "--values", "acc=abc"), ("--values", "values.acc", "'abc'")),
    Case("report-values-bad-metric-name", (*REPORT, "0", "--values", "a metric=1"), ("--values", "'a metric'")),
    Case("report-values-without-equals", (*REPORT, "0", "--values", "loss"), ("--values", "'loss'")),
    Case("report-value-and-values", (*REPORT, "0", "--value", "1", "--values", "loss=1"), ("--value", "not both")),
    Case("report-no-value", (*REPORT, "0"), ("--value", "--values")),
    Case("report-value-several-objectives", (*REPORT, "0", "--value", "1"), ("--value", "by name"), study="multi"),
    Case("report-unknown-trial", ("report", "{study}", "99", "--step", "0", "--value", "1"),
         ("{study}/journal.jsonl", "'trial'", "99")),
    Case("report-told-trial", (*REPORT, "0", "--value", "1"), ("{study}/journal.jsonl", "'trial'", "told complete"),
         before=((*TELL, "--value", "1"),)),
    Case("should-prune-told-trial", ("should-prune", "{study}", "{trial}"),
         ("{study}/journal.jsonl", "'trial'", "told failed"), before=((*TELL, "--state", "failed"),)),
    Case("should-prune-not-a-trial", ("should-prune", "{study}", "last"), ("TRIAL", "'last'")),
]


def _fill(text: str, names: dict[str, Path]) -> str:
    return text.format(**{k: str(v) for k, v in names.items()})


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_rejected_and_changes_nothing(case: Case, templates, tmp_path):
    """A pipeline gets exit 2 and one readable line, and the study stays exactly as it was."""
    study = tmp_path / "study"
    shutil.copytree(templates[case.study], study)
    names = {"study": study, "trial": study / "trials" / "000000", "tmp": tmp_path}
    for command in case.before:
        done = run_asktell(*(_fill(a, names) for a in command))
        assert done.returncode == 0, done.stderr
    if case.result is not None:
        (names["trial"] / "result.yaml").write_text(case.result)
    before = tree_state(tmp_path)

    result = run_asktell(*(_fill(a, names) for a in case.args))

    assert_one_error_line(result, *(_fill(e, names) for e in case.expect))
    assert tree_state(tmp_path) == before


# ---------------------------------------------------------------------- create


@dataclass(frozen=True)
class CreateCase:
    """A ``create`` with a bad space (from a space file, ``space``, or ``-p`` words) or pruner, in ``args``."""

    id: str
    expect: tuple[str, ...]
    space: str | None = None
    args: tuple[str, ...] = ()


CREATE_CASES = [
    CreateCase("space-malformed-yaml", ("{space}", "malformed YAML", "line 2"),
               space="lr: {type: float, low: 1\n"),
    CreateCase("space-empty", ("{space}", "empty"), space=""),
    CreateCase("space-unknown-key", ("{space}", "space.lr.colour", "'blue'"),
               space="lr: {type: float, low: 0.001, high: 0.1, colour: blue}\n"),
    CreateCase("space-missing-high", ("{space}", "space.lr", "'high'"),
               space="lr: {type: float, low: 0.001}\n"),
    CreateCase("space-low-not-a-number", ("{space}", "space.lr.low", "'abc'"),
               space="lr: {type: float, low: abc, high: 0.1}\n"),
    CreateCase("space-condition-on-unknown-param", ("{space}", "space.momentum.when", "optimizer == sgd"),
               space="opt: [adam, sgd]\nmomentum: {type: float, low: 0, high: 0.9, when: optimizer == sgd}\n"),
    CreateCase("space-shorthand-condition-on-later-param", ("{space}", "space.momentum.when", "opt == sgd"),
               space='momentum: "0..0.9 if opt == sgd"\nopt: [adam, sgd]\n'),
    CreateCase("p-without-equals", ("-p", "'lr'"), args=("-p", "lr")),
    CreateCase("p-missing-high", ("-p lr", "high", "''"), args=("-p", "lr=1..")),
    CreateCase("p-bad-modifier", ("-p lr", "'sometimes'"), args=("-p", "lr=1..8:sometimes")),
    CreateCase("p-condition-on-unknown-param", ("momentum.when", "'optimizer == sgd'"),
               args=("-p", "opt=adam,sgd", "-p", "momentum=0..0.9 if optimizer == sgd")),
    # --- pruners --------------------------------------------------------------------
    CreateCase("pruner-unknown", ("pruner.name", "'bogus'"), args=("-p", "x=0..1", "--pruner", "bogus")),
    CreateCase("pruner-unknown-option", ("pruner.options.n_warmup_step", "3"),
               args=("-p", "x=0..1", "--pruner", "median", "--pruner-option", "n_warmup_step=3")),
    CreateCase("pruner-option-out-of-range", ("pruner.options.percentile", "150"),
               args=("-p", "x=0..1", "--pruner", "percentile", "--pruner-option", "percentile=150")),
    CreateCase("pruner-option-missing", ("pruner.options.max_resource",),
               args=("-p", "x=0..1", "--pruner", "hyperband")),
    CreateCase("pruner-option-without-equals", ("--pruner-option", "'n_warmup_steps'"),
               args=("-p", "x=0..1", "--pruner", "median", "--pruner-option", "n_warmup_steps")),
    CreateCase("pruner-metric-not-an-objective", ("pruner.options.metric", "'acc'"),
               args=("-p", "x=0..1", "--pruner", "median", "--pruner-option", "metric=acc")),
    CreateCase("pruner-without-metric-of-two-objectives", ("pruner.options.metric", "2 objectives"),
               args=("-p", "x=0..1", "--pruner", "median", "--maximize", "acc")),
]


@pytest.mark.parametrize("target", ["new", "empty-folder", "existing-study"])
@pytest.mark.parametrize("case", CREATE_CASES, ids=[c.id for c in CREATE_CASES])
def test_create_with_bad_settings_creates_nothing(case: CreateCase, target: str, templates, tmp_path):
    """A rejected space or pruner leaves no half-made study: the folder stays absent, empty, or as it was."""
    folder = tmp_path / "study"
    if target == "empty-folder":
        folder.mkdir()
    elif target == "existing-study":
        shutil.copytree(templates["single"], folder)
    space = tmp_path / "space.yaml"
    args = list(case.args)
    if case.space is not None:
        space.write_text(case.space)
        args += ["--space", str(space)]
    before = tree_state(tmp_path)

    result = run_asktell("create", folder, *args, "--minimize", "loss", "--exist-ok")

    assert_one_error_line(result, *(e.format(space=space) for e in case.expect))
    assert tree_state(tmp_path) == before
    if target == "new":
        assert not folder.exists()
