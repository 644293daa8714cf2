"""End-to-end through the real ``asktell`` command, as a shell pipeline uses it.

Every command runs in its own process, like a pipeline step, and every test
ends by validating the files it left against ``schemas/``: what one process
writes is the only thing the next one can read.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ASKTELL, run_asktell
from tests.support.files import journal_events

EXIT_INVALID = 2
EXIT_EXHAUSTED = 4

#: A search space file using all three spellings: mappings, lists and shorthand strings.
SPACE_YAML = """\
lr: {type: float, low: 1.0e-4, high: 0.1, log: true}
n_layers: "1..4"
opt: [adam, sgd]
momentum: "0..0.9 if opt == sgd"
beta: {type: float, low: 0.5, high: 0.99, when: opt == adam}
"""


# ---------------------------------------------------------------------- helpers


def ok(*args: object) -> subprocess.CompletedProcess:
    """Run asktell and insist on exit 0."""
    result = run_asktell(*args)
    assert result.returncode == 0, f"asktell {' '.join(map(str, args))} exited {result.returncode}:\n" \
                                   f"{result.stderr}"
    return result


def bash(script: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a bash snippet in which ``asktell`` is the command under test and ``python`` this interpreter."""
    prelude = (f'asktell() {{ {shlex.join(ASKTELL)} "$@"; }}\n'
               f'python() {{ {shlex.quote(sys.executable)} "$@"; }}\n'
               "set -euo pipefail\n")
    result = subprocess.run(["bash", "-c", prelude + script], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, **(env or {})}, timeout=120)
    assert result.returncode == 0, f"bash exited {result.returncode}:\n{result.stderr}"
    return result


def read_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def trial_dir(study: Path, number: int) -> Path:
    return study / "trials" / f"{number:06d}"


def params_of(study: Path, number: int) -> dict:
    return read_yaml(trial_dir(study, number) / "params.yaml")["params"]


def trials_json(study: Path) -> list[dict]:
    return json.loads(ok("trials", study, "--format", "json").stdout)


def create(path: Path, *args: object) -> Path:
    ok("create", path, *args)
    return path


@pytest.fixture
def two_objectives(tmp_path: Path) -> Path:
    """A study minimizing ``loss`` and maximizing ``acc``."""
    return create(tmp_path / "multi", "-p", "x=0..1", "--minimize", "loss", "--maximize", "acc", "--seed", "5")


@pytest.fixture(scope="module")
def told_study(tmp_path_factory) -> Path:
    """Four trials: 0 complete (0.5), 1 complete (0.2, the best), 2 failed, 3 still running.

    Shared by the read-only commands (status, trials, best, check) to keep them fast.
    """
    path = create(tmp_path_factory.mktemp("told") / "study", "-p", "lr=1e-5..1e-1:log", "-p", "n_layers=1..4",
                  "-p", "opt=adam,sgd", "--minimize", "loss", "--seed", "7")
    ok("ask", path, "--count", "4")
    ok("tell", path, "0", "--value", "0.5")
    ok("tell", path, "1", "--value", "0.2")
    ok("tell", path, "2", "--state", "failed")
    return path


# ---------------------------------------------------------------------- create


@pytest.mark.parametrize("nested", [False, True], ids=["top-level", "under-space-key"])
def test_create_from_space_file_keeps_conditions_and_shorthands(tmp_path, valid_files, nested):
    """A space file mixes mappings, lists and shorthand strings; conditional params appear only when active."""
    space = tmp_path / "space.yaml"
    space.write_text("space:\n" + "".join(f"  {line}\n" for line in SPACE_YAML.splitlines())
                     if nested else SPACE_YAML)
    study = create(tmp_path / "study", "--space", space, "--minimize", "loss", "--seed", "1")

    spec = read_yaml(study / "study.yaml")["space"]
    assert list(spec) == ["lr", "n_layers", "opt", "momentum", "beta"]
    assert spec["lr"] == {"type": "float", "low": 1e-4, "high": 0.1, "log": True}
    assert spec["n_layers"] == {"type": "int", "low": 1, "high": 4}
    assert spec["momentum"] == {"type": "float", "low": 0.0, "high": 0.9, "when": "opt == sgd"}
    assert spec["beta"]["when"] == "opt == adam"

    asked = [json.loads(line) for line in ok("ask", study, "-n", "12", "--format", "json").stdout.splitlines()]
    assert {t["params"]["opt"] for t in asked} == {"adam", "sgd"}
    for trial in asked:
        params = trial["params"]
        assert ("momentum" in params) == (params["opt"] == "sgd"), params
        assert ("beta" in params) == (params["opt"] == "adam"), params
        assert 1e-4 <= params["lr"] <= 0.1 and params["n_layers"] in (1, 2, 3, 4)
    valid_files(study)


def test_create_with_p_shorthands(tmp_path, valid_files):
    """Each shorthand on the command line becomes the documented parameter spec."""
    study = create(tmp_path / "study", "-p", "lr=1e-5..1e-1:log", "-p", "n=1..8", "-p", "units=16..256:log",
                   "-p", "dropout=0..0.5:0.1", "-p", "opt=adam,sgd", "-p", "momentum=0..0.9 if opt == sgd",
                   "--minimize", "loss")
    spec = read_yaml(study / "study.yaml")["space"]
    assert spec == {
        "lr": {"type": "float", "low": 1e-5, "high": 0.1, "log": True},
        "n": {"type": "int", "low": 1, "high": 8},
        "units": {"type": "int", "low": 16, "high": 256, "log": True},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
        "opt": {"type": "categorical", "choices": ["adam", "sgd"]},
        "momentum": {"type": "float", "low": 0.0, "high": 0.9, "when": "opt == sgd"},
    }
    params = json.loads(ok("ask", study, "--format", "json").stdout)["params"]
    assert round(params["dropout"] * 10) == pytest.approx(params["dropout"] * 10)
    valid_files(study)


def test_create_combines_space_file_and_p(tmp_path, valid_files):
    """-p adds parameters after the file's (conditions may refer to them) and replaces one of the same name."""
    space = tmp_path / "space.yaml"
    space.write_text("lr: 1e-5..1e-1:log\nopt: [adam, sgd]\n")
    study = create(tmp_path / "study", "--space", space, "-p", "lr=0.001..0.01",
                   "-p", "momentum=0..0.9 if opt == sgd", "--minimize", "loss")
    spec = read_yaml(study / "study.yaml")["space"]
    assert list(spec) == ["lr", "opt", "momentum"]
    assert spec["lr"] == {"type": "float", "low": 0.001, "high": 0.01}
    assert spec["momentum"]["when"] == "opt == sgd"
    valid_files(study)


def test_create_with_several_objectives(tmp_path, valid_files):
    """Every --minimize and --maximize becomes an objective, and tell needs a value for each."""
    study = create(tmp_path / "study", "-p", "x=0..1", "--minimize", "loss", "--minimize", "time",
                   "--maximize", "acc", "--maximize", "f1")
    objectives = read_yaml(study / "study.yaml")["objectives"]
    assert [(o["name"], o["direction"]) for o in objectives] == [
        ("loss", "minimize"), ("time", "minimize"), ("acc", "maximize"), ("f1", "maximize")]
    ok("ask", study)
    ok("tell", study, "0", "--values", "loss=1", "--values", "time=2", "--values", "acc=0.5", "--values", "f1=0.4")
    assert trials_json(study)[0]["values"] == {"loss": 1.0, "time": 2.0, "acc": 0.5, "f1": 0.4}
    valid_files(study)


def test_seed_makes_suggestions_reproducible(tmp_path, valid_files):
    """Two studies with the same --seed suggest the same trials; another seed suggests others."""
    p = ["-p", "lr=1e-5..1e-1:log", "-p", "opt=adam,sgd", "--minimize", "loss"]
    studies = {name: create(tmp_path / name, *p, "--seed", seed)
               for name, seed in (("a", "11"), ("b", "11"), ("c", "12"))}
    asked = {name: ok("ask", path, "-n", "3", "--format", "json").stdout.splitlines()
             for name, path in studies.items()}
    params = {name: [json.loads(line)["params"] for line in lines] for name, lines in asked.items()}
    assert params["a"] == params["b"]
    assert params["a"] != params["c"]
    assert read_yaml(studies["a"] / "study.yaml")["seed"] == 11
    for path in studies.values():
        valid_files(path)


def assert_exhausted(study: Path, reason: str) -> None:
    """One more ask exits 4, prints no trial, names why, and leaves the journal as it was."""
    journal = (study / "journal.jsonl").read_bytes()
    exhausted = run_asktell("ask", study)
    assert exhausted.returncode == EXIT_EXHAUSTED, exhausted.stderr
    assert exhausted.stdout == ""
    assert reason in exhausted.stderr
    assert (study / "journal.jsonl").read_bytes() == journal


def test_grid_hands_out_every_cell_once_then_exits_4(tmp_path, valid_files):
    """A grid covers each cell exactly once (conditional params only branch where active), then stops."""
    study = create(tmp_path / "grid", "-p", "n=1..3", "-p", "opt=adam,sgd", "-p", "m=0..0.2:0.1 if opt == sgd",
                   "--sampler", "grid", "--minimize", "loss")
    asked = [json.loads(line)["params"] for line in ok("ask", study, "-n", "12", "-f", "json").stdout.splitlines()]
    expected = [{"n": n, "opt": "adam"} for n in (1, 2, 3)] + \
               [{"n": n, "opt": "sgd", "m": m} for n in (1, 2, 3) for m in (0.0, 0.1, 0.2)]
    assert sorted(map(json.dumps, asked)) == sorted(map(json.dumps, expected))
    assert_exhausted(study, "grid")
    assert not trial_dir(study, 12).exists()
    valid_files(study)


def test_max_trials_stops_asking_with_exit_4(tmp_path, valid_files):
    """--max-trials caps what ask hands out: a larger --count gets the rest, then ask exits 4."""
    study = create(tmp_path / "study", "-p", "x=0..1", "--minimize", "loss", "--max-trials", "3")
    partial = ok("ask", study, "--count", "5")
    assert partial.stdout.splitlines() == [str(trial_dir(study, n)) for n in range(3)]
    assert "only 3 of 5" in partial.stderr
    assert_exhausted(study, "max_trials")
    assert sorted(p.name for p in (study / "trials").iterdir()) == ["000000", "000001", "000002"]
    valid_files(study)


@pytest.mark.parametrize("seed", [["--seed", "3"], []], ids=["with-seed", "without-seed"])
def test_create_exist_ok_with_same_config_changes_nothing(tmp_path, valid_files, seed):
    """Every array task may run the same create --exist-ok; only the first writes anything."""
    args = ["-p", "x=0..1", "-p", "opt=adam,sgd", "--minimize", "loss", *seed]
    study = create(tmp_path / "study", *args)
    config, journal = (study / "study.yaml").read_bytes(), (study / "journal.jsonl").read_bytes()

    ok("create", study, *args, "--exist-ok")

    assert (study / "study.yaml").read_bytes() == config
    assert (study / "journal.jsonl").read_bytes() == journal
    valid_files(study)


DIFFERENT_CONFIGS = {
    "space.x.high": ["-p", "x=0..2", "-p", "opt=adam,sgd", "--minimize", "loss"],
    "space.opt.choices": ["-p", "x=0..1", "-p", "opt=adam,sgd,rmsprop", "--minimize", "loss"],
    "objectives[0].direction": ["-p", "x=0..1", "-p", "opt=adam,sgd", "--maximize", "loss"],
    "sampler.name": ["-p", "x=0..1", "-p", "opt=adam,sgd", "--minimize", "loss", "--sampler", "grid"],
    "max_trials": ["-p", "x=0..1", "-p", "opt=adam,sgd", "--minimize", "loss", "--max-trials", "9"],
    "seed": ["-p", "x=0..1", "-p", "opt=adam,sgd", "--minimize", "loss", "--seed", "4"],
}


@pytest.mark.parametrize("field, change", list(DIFFERENT_CONFIGS.items()), ids=list(DIFFERENT_CONFIGS))
def test_create_exist_ok_with_other_config_names_the_difference(tmp_path, valid_files, field, change):
    """A worker started with another config must not silently join the study: exit 2 names the field."""
    study = create(tmp_path / "study", "-p", "x=0..1", "-p", "opt=adam,sgd", "--minimize", "loss", "--seed", "3")
    config = (study / "study.yaml").read_bytes()

    result = run_asktell("create", study, *change, "--exist-ok")

    assert result.returncode == EXIT_INVALID, result.stderr
    assert result.stderr.startswith("asktell: error:") and field in result.stderr, result.stderr
    assert (study / "study.yaml").read_bytes() == config
    valid_files(study)


def test_create_over_existing_study_without_exist_ok_exits_2(study, valid_files):
    """Creating twice by mistake must not overwrite or reset a study."""
    config, journal = (study / "study.yaml").read_bytes(), (study / "journal.jsonl").read_bytes()
    result = run_asktell("create", study, "-p", "x=0..1", "--minimize", "loss")
    assert result.returncode == EXIT_INVALID
    assert "already exists" in result.stderr and "--exist-ok" in result.stderr
    assert (study / "study.yaml").read_bytes() == config
    assert (study / "journal.jsonl").read_bytes() == journal
    valid_files(study)


def test_python_m_asktell_help_lists_the_commands():
    """``python -m asktell`` works where the console script is not on PATH."""
    result = subprocess.run([sys.executable, "-m", "asktell", "--help"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    for command in ("create", "ask", "tell", "params", "status", "trials", "best", "check"):
        assert command in result.stdout


# ---------------------------------------------------------------------- ask


def test_ask_output_is_the_trial_folder_for_shell_capture(study, valid_files):
    """``T=$(asktell ask s)`` gives a folder a step can use directly."""
    out = bash(f'T=$(asktell ask {shlex.quote(str(study))})\n'
               'test -f "$T/params.yaml"\n'
               'printf "%s" "$T"\n', cwd=study.parent).stdout
    assert out == str(trial_dir(study, 0))
    valid_files(study)


def test_ask_count_allocates_distinct_trials(study, valid_files):
    """--count N hands out N new trials, each with its own folder and journal event."""
    out = ok("ask", study, "--count", "3").stdout.splitlines()
    assert out == [str(trial_dir(study, n)) for n in range(3)]
    for n in range(3):
        assert read_yaml(trial_dir(study, n) / "params.yaml")["trial"] == n
    asked = [e for e in journal_events(study) if e["event"] == "asked"]
    assert [e["trial"] for e in asked] == [0, 1, 2]
    valid_files(study)


@pytest.mark.parametrize("fmt", ["path", "yaml", "json"])
def test_ask_formats_describe_the_same_trial(study, valid_files, fmt):
    """Each machine-readable format names the trial, its folder and exactly its params.yaml params."""
    out = ok("ask", study, "--count", "2", "--format", fmt).stdout
    if fmt == "path":
        shown = [{"trial": n, "path": line} for n, line in enumerate(out.splitlines())]
    elif fmt == "yaml":
        shown = list(yaml.safe_load_all(out))
    else:
        shown = [json.loads(line) for line in out.splitlines()]
    assert [t["trial"] for t in shown] == [0, 1]
    for t in shown:
        assert t["path"] == str(trial_dir(study, t["trial"]))
        if fmt != "path":
            assert t["params"] == params_of(study, t["trial"])
    valid_files(study)


def test_ask_env_format_can_be_evaluated_by_bash(study, valid_files):
    """``eval "$(asktell ask s --format env)"`` sets the trial folder and one variable per parameter."""
    out = bash(f'eval "$(asktell ask {shlex.quote(str(study))} --format env)"\n'
               'printf "%s|%s|%s|%s\\n" "$ASKTELL_TRIAL" "$ASKTELL_TRIAL_DIR" "$N_LAYERS" "$OPT"\n',
               cwd=study.parent).stdout
    trial, folder, n_layers, opt = out.strip().split("|")
    params = params_of(study, 0)
    assert (trial, folder) == ("0", str(trial_dir(study, 0)))
    assert (int(n_layers), opt) == (params["n_layers"], params["opt"])
    valid_files(study)


def test_ask_key_returns_the_running_trial_until_it_is_told(study, valid_files):
    """A requeued job asking with its key gets its trial back instead of leaking a new one."""
    first = ok("ask", study, "--key", "job-7").stdout
    journal = (study / "journal.jsonl").read_bytes()

    again = ok("ask", study, "--key", "job-7").stdout

    assert again == first == f"{trial_dir(study, 0)}\n"
    assert (study / "journal.jsonl").read_bytes() == journal
    assert ok("ask", study, "--key", "job-8").stdout == f"{trial_dir(study, 1)}\n"

    ok("tell", study, "0", "--value", "1")
    after = ok("ask", study, "--key", "job-7").stdout
    assert after == f"{trial_dir(study, 2)}\n"
    assert read_yaml(trial_dir(study, 2) / "params.yaml")["key"] == "job-7"
    valid_files(study)


# ---------------------------------------------------------------------- params


def test_params_formats_for_pipeline_steps(study, valid_files):
    """yaml/json round-trip the params, env evaluates in bash, args and make spell each parameter."""
    folder = Path(ok("ask", study).stdout.strip())
    params = params_of(study, 0)

    assert yaml.safe_load(ok("params", folder, "--format", "yaml").stdout) == params
    assert json.loads(ok("params", folder, "--format", "json").stdout) == params

    args = shlex.split(ok("params", folder, "--format", "args").stdout)
    assert dict(zip(args[::2], args[1::2])) == {
        "--lr": repr(params["lr"]), "--n-layers": str(params["n_layers"]), "--opt": params["opt"],
        "--dropout": repr(params["dropout"]),
        **({"--momentum": repr(params["momentum"])} if "momentum" in params else {})}

    make = dict(word.split("=", 1) for word in shlex.split(ok("params", folder, "--format", "make").stdout))
    assert make["N_LAYERS"] == str(params["n_layers"]) and make["OPT"] == params["opt"]
    assert float(make["LR"]) == params["lr"]

    env = bash(f'eval "$(asktell params {shlex.quote(str(folder))} --format env)"\n'
               'printf "%s|%s|%s\\n" "$ASKTELL_TRIAL_DIR" "$LR" "$DROPOUT"\n', cwd=study.parent).stdout
    shown_dir, lr, dropout = env.strip().split("|")
    assert shown_dir == str(folder)
    assert (float(lr), float(dropout)) == (params["lr"], params["dropout"])
    valid_files(study)


# ---------------------------------------------------------------------- tell


def test_tell_reads_result_saved_by_a_python_step(study, valid_files):
    """The documented pipeline: ask, a Python step reads params and saves a result, tell records it."""
    step = ("import asktell; p = asktell.load_params(); "
            "asktell.save_result(loss=p['n_layers'] + p['lr'], attrs={'epochs': 3})")
    bash(f'set -a; eval "$(asktell ask {shlex.quote(str(study))} --format env)"; set +a\n'
         f'python -c {shlex.quote(step)}\n'
         'asktell tell "$ASKTELL_STUDY" "$ASKTELL_TRIAL_DIR"\n', cwd=study.parent)

    params = params_of(study, 0)
    [trial] = trials_json(study)
    assert trial["state"] == "complete"
    assert trial["values"] == {"loss": pytest.approx(params["n_layers"] + params["lr"])}
    assert read_yaml(trial_dir(study, 0) / "result.yaml")["attrs"] == {"epochs": 3}
    assert read_yaml(trial_dir(study, 0) / "trial.yaml")["state"] == "complete"
    valid_files(study)


def test_constraints_travel_from_the_result_file_to_the_journal_and_trial_yaml(study, valid_files):
    """Samplers read constraints from the history: they must survive tell, the snapshot and a re-tell."""
    folder = Path(run_asktell("ask", study).stdout.strip())
    step = ("import asktell; asktell.save_result(0.5, constraints={'memory_gb': 1.5, 'latency_ms': -3})")
    subprocess.run([sys.executable, "-c", step], env={**os.environ, "ASKTELL_TRIAL_DIR": str(folder)}, check=True)
    assert run_asktell("tell", study, folder).returncode == 0

    expected = {"memory_gb": 1.5, "latency_ms": -3.0}
    assert [e["constraints"] for e in journal_events(study) if e["event"] == "told"] == [expected]
    assert read_yaml(folder / "trial.yaml")["constraints"] == expected
    assert trials_json(study)[0]["constraints"] == expected
    assert run_asktell("tell", study, folder).returncode == 0  # same result again: a no-op
    (folder / "result.yaml").write_text("value: 0.5\nconstraints: {memory_gb: 0.5}\n")
    other = run_asktell("tell", study, folder)
    assert other.returncode == 2 and "constraints" in other.stderr
    valid_files(study)


def test_tell_value_records_and_mirrors_the_result(study, valid_files):
    """--value records the single objective in the journal and in trial.yaml."""
    folder = ok("ask", study).stdout.strip()
    result = ok("tell", study, folder, "--value", "0.25")
    assert "trial 0 complete" in result.stderr
    [told] = [e for e in journal_events(study) if e["event"] == "told"]
    assert (told["trial"], told["state"], told["values"]) == (0, "complete", {"loss": 0.25})
    assert read_yaml(trial_dir(study, 0) / "trial.yaml")["values"] == {"loss": 0.25}
    valid_files(study)


def test_tell_values_by_name_for_two_objectives(two_objectives, valid_files):
    """--values NAME=V gives each objective its value."""
    ok("ask", two_objectives)
    ok("tell", two_objectives, "0", "--values", "acc=0.9", "--values", "loss=0.3")
    assert trials_json(two_objectives)[0]["values"] == {"loss": 0.3, "acc": 0.9}
    valid_files(two_objectives)


def test_tell_result_option_reads_another_file(study, tmp_path, valid_files):
    """--result FILE lets a step write its result anywhere, e.g. on local scratch."""
    ok("ask", study)
    elsewhere = tmp_path / "scratch" / "out.yaml"
    elsewhere.parent.mkdir()
    elsewhere.write_text("values: {loss: 0.125}\nattrs: {note: scratch}\n")
    ok("tell", study, "0", "--result", elsewhere)
    assert trials_json(study)[0]["values"] == {"loss": 0.125}
    valid_files(study)


@pytest.mark.parametrize("state", ["failed", "pruned"])
def test_tell_state_without_values(study, valid_files, state):
    """A crashed or stopped step is told by its state alone; it never becomes the best trial."""
    ok("ask", study)
    ok("tell", study, "0", "--state", state)
    [trial] = trials_json(study)
    assert trial["state"] == state and "values" not in trial
    assert f"1 {state}" in ok("status", study).stdout
    assert run_asktell("best", study).returncode != 0
    valid_files(study)


@pytest.mark.parametrize("how", ["value", "result-file"])
def test_telling_the_same_result_twice_is_a_no_op(study, valid_files, how):
    """A retried tell (e.g. the job was requeued) succeeds, says so, and adds no journal event."""
    folder = Path(ok("ask", study).stdout.strip())
    if how == "value":
        args = ["--value", "0.5"]
    else:
        (folder / "result.yaml").write_text("values: {loss: 0.5}\n")
        args = []
    ok("tell", study, folder, *args)
    journal = (study / "journal.jsonl").read_bytes()

    again = ok("tell", study, folder, *args)

    assert "already told" in again.stderr
    assert (study / "journal.jsonl").read_bytes() == journal
    valid_files(study)


# ---------------------------------------------------------------------- status, trials, best


def test_status_shows_counts_best_and_running(told_study, valid_files):
    """One look tells how far the study is, what is best so far and what is still running."""
    out = ok("status", told_study).stdout
    assert "trials: 4" in out
    for count in ("1 running", "2 complete", "0 pruned", "1 failed"):
        assert count in out
    assert "best: trial 1: loss=0.2" in out
    running = out.split("running:", 1)[1]
    assert "trial 3" in running and "trial 0" not in running
    valid_files(told_study)


def test_trials_table_lists_every_trial(told_study, valid_files):
    lines = ok("trials", told_study, "--format", "table").stdout.splitlines()
    assert lines[0].split()[:3] == ["trial", "state", "loss"]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["0", "complete"], ["1", "complete"], ["2", "failed"], ["3", "running"]]
    valid_files(told_study)


def test_trials_csv_parses(told_study, valid_files):
    rows = list(csv.DictReader(io.StringIO(ok("trials", told_study, "--format", "csv").stdout)))
    assert [(r["trial"], r["state"], r["loss"]) for r in rows] == [
        ("0", "complete", "0.5"), ("1", "complete", "0.2"), ("2", "failed", ""), ("3", "running", "")]
    assert {"lr", "n_layers", "opt"} <= set(rows[0])
    valid_files(told_study)


def test_trials_json_loads(told_study, valid_files):
    trials = trials_json(told_study)
    assert [(t["trial"], t["state"], t.get("values")) for t in trials] == [
        (0, "complete", {"loss": 0.5}), (1, "complete", {"loss": 0.2}), (2, "failed", None), (3, "running", None)]
    assert trials[1]["params"] == params_of(told_study, 1)
    valid_files(told_study)


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_best_shows_the_lowest_loss(told_study, valid_files, fmt):
    out = ok("best", told_study, "--format", fmt).stdout
    best = yaml.safe_load(out) if fmt == "yaml" else json.loads(out)
    assert (best["trial"], best["values"]) == (1, {"loss": 0.2})
    assert best["params"] == params_of(told_study, 1)
    valid_files(told_study)


def test_best_env_can_be_evaluated_by_bash(told_study, valid_files):
    """A final training job can ``eval`` the best parameters."""
    out = bash(f'eval "$(asktell best {shlex.quote(str(told_study))} --format env)"\n'
               'printf "%s|%s|%s\\n" "$ASKTELL_TRIAL" "$LOSS" "$N_LAYERS"\n', cwd=told_study.parent).stdout
    assert out.strip().split("|") == ["1", "0.2", str(params_of(told_study, 1)["n_layers"])]
    valid_files(told_study)


def test_best_with_two_objectives_is_the_pareto_front(two_objectives, valid_files):
    """With loss minimized and acc maximized, only the non-dominated trials are shown."""
    results = {0: (1.0, 0.5), 1: (2.0, 0.9), 2: (3.0, 0.4), 3: (0.5, 0.3), 4: (1.0, 0.5)}
    # 2 is dominated by 0 (lower loss, higher acc); 4 ties with 0, so neither dominates the other.
    ok("ask", two_objectives, "-n", str(len(results)))
    for number, (loss, acc) in results.items():
        ok("tell", two_objectives, number, "--values", f"loss={loss}", "--values", f"acc={acc}")

    front = json.loads(ok("best", two_objectives, "--format", "json").stdout)
    assert [t["trial"] for t in front] == [0, 1, 3, 4]
    shown = yaml.safe_load(ok("best", two_objectives, "--format", "yaml").stdout)
    assert [t["trial"] for t in shown] == [0, 1, 3, 4]
    env = run_asktell("best", two_objectives, "--format", "env")
    assert env.returncode == EXIT_INVALID and "Pareto" in env.stderr
    valid_files(two_objectives)


# ---------------------------------------------------------------------- check


def test_check_on_a_clean_study_exits_0(told_study, valid_files):
    result = ok("check", told_study)
    assert result.stdout == ""
    assert "0 errors, 0 warnings" in result.stderr
    valid_files(told_study)


def test_check_warns_about_an_orphan_folder(study, valid_files):
    """A folder nobody asked for (e.g. copied in by hand) is reported but is not corruption."""
    ok("ask", study)
    orphan = study / "trials" / "000042"
    orphan.mkdir()
    result = ok("check", study)
    assert f"warning: {orphan}: orphan" in result.stdout
    assert str(trial_dir(study, 0)) not in result.stdout
    valid_files(study)


def test_torn_final_journal_line_is_a_warning_and_the_study_keeps_working(study, valid_files):
    """A writer killed mid-line must not stop the study: check warns, ask and tell carry on."""
    ok("ask", study)
    ok("tell", study, "0", "--value", "0.5")
    with open(study / "journal.jsonl", "ab") as journal:
        journal.write(b'{"seq":3,"event":"asked","at":"2026-')

    torn = ok("check", study)
    assert "warning:" in torn.stdout and "journal.jsonl" in torn.stdout
    assert "0 errors" in torn.stderr

    folder = ok("ask", study).stdout.strip()
    assert folder == str(trial_dir(study, 1))
    ok("tell", study, folder, "--value", "0.25")
    assert [(t["trial"], t["state"]) for t in trials_json(study)] == [(0, "complete"), (1, "complete")]

    lines = (study / "journal.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""
    events = []
    for line in lines[:-1]:
        try:
            events.append(json.loads(line))
        except ValueError:
            assert line.startswith(b'{"seq":3,"event":"asked"'), line  # only the torn line itself
    assert [e["seq"] for e in events] == [0, 1, 2, 3, 4]
    after = ok("check", study)
    assert "torn line" in after.stdout and "0 errors" in after.stderr
    valid_files(study, allow_torn=True)


def test_check_reports_hand_edited_params_as_an_error(study, valid_files):
    """params.yaml that disagrees with the journal would make a step train the wrong thing: exit 1."""
    folder = Path(ok("ask", study).stdout.strip())
    document = read_yaml(folder / "params.yaml")
    document["params"]["n_layers"] = document["params"]["n_layers"] % 4 + 1
    (folder / "params.yaml").write_text(yaml.safe_dump(document, sort_keys=False))

    result = run_asktell("check", study)

    assert result.returncode == 1
    assert f"error: {folder / 'params.yaml'}: field 'params'" in result.stdout
    assert "1 errors" in result.stderr
    valid_files(study)


def test_check_max_age_lists_running_trials(study, valid_files):
    """--max-age finds trials whose worker may have died; finished trials are never listed."""
    ok("ask", study, "-n", "2")
    ok("tell", study, "0", "--value", "1")
    stale = ok("check", study, "--max-age", "0s")
    assert f"warning: {trial_dir(study, 1)}: no sign of life for" in stale.stdout
    assert str(trial_dir(study, 0)) not in stale.stdout
    assert str(trial_dir(study, 1)) not in ok("check", study, "--max-age", "1d").stdout
    valid_files(study)


# ---------------------------------------------------------------------- Python API


def test_python_api_round_trip(tmp_path, valid_files):
    """The driver API in one process: create, ask, tell, read back, reopen; the files match the CLI's."""
    from asktell import InvalidInput, Study

    path = tmp_path / "api"
    study = Study.create(path, {"lr": "1e-5..1e-1:log", "opt": ["adam", "sgd"]},
                         objectives={"loss": "minimize"}, seed=4)
    first, second = study.ask(), study.ask()
    assert (first.number, second.number) == (0, 1)
    assert first.path == trial_dir(path, 0) and set(first.params) == {"lr", "opt"}
    study.tell(first, 0.3)
    study.tell(second.number, {"loss": 0.1})
    assert study.tell(first, 0.3).already_told
    with pytest.raises(InvalidInput):
        study.tell(first, 0.4)

    reopened = Study.open(path)
    assert [(t.number, t.state, t.values) for t in reopened.trials] == [
        (0, "complete", {"loss": 0.3}), (1, "complete", {"loss": 0.1})]
    assert reopened.best_trial().number == 1
    assert [t.number for t in reopened.best_trials()] == [1]
    again = Study.create(path, {"lr": "1e-5..1e-1:log", "opt": ["adam", "sgd"]},
                         objectives={"loss": "minimize"}, seed=4, exist_ok=True)
    assert again.config.to_dict() == study.config.to_dict()
    assert "best: trial 1" in ok("status", path).stdout
    valid_files(path)


def test_python_api_pareto_front(tmp_path, valid_files):
    """Several objectives: best_trials() is the front, best_trial() refuses to pick one."""
    from asktell import InvalidInput, Study

    study = Study.create(tmp_path / "api", {"x": "0..1"}, objectives={"loss": "minimize", "acc": "maximize"})
    for loss, acc in ((1.0, 0.5), (2.0, 0.9), (3.0, 0.4)):
        study.tell(study.ask(), {"loss": loss, "acc": acc})
    assert [t.number for t in study.best_trials()] == [0, 1]
    with pytest.raises(InvalidInput):
        study.best_trial()
    valid_files(tmp_path / "api")
