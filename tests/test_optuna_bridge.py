"""``import-optuna`` and ``export-optuna``: users can come from Optuna and go back to it."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from asktell import Study
from asktell.errors import InvalidInput
from asktell.optuna_bridge import plan_import
from tests.conftest import run_asktell
from tests.test_startup import imported_modules

optuna = pytest.importorskip("optuna")
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution  # noqa: E402
from optuna.storages import JournalStorage  # noqa: E402
from optuna.storages.journal import JournalFileBackend  # noqa: E402
from optuna.trial import TrialState, create_trial  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


def journal_storage(path: Path) -> JournalStorage:
    return JournalStorage(JournalFileBackend(str(path)))


def training(trial) -> float:
    """A model-tuning objective with conditional parameters (nested: warmup only with a cosine schedule) and pruning."""
    optimizer = trial.suggest_categorical("optimizer", ["adam", "sgd", "rmsprop"])
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    layers = trial.suggest_int("n_layers", 1, 4)
    dropout = trial.suggest_float("dropout", 0.0, 0.5, step=0.1)
    trial.suggest_int("units", 16, 256, log=True)
    momentum = 0.0
    if optimizer == "sgd":
        momentum = trial.suggest_float("momentum", 0.0, 0.9)
        if trial.suggest_categorical("schedule", ["constant", "cosine"]) == "cosine":
            trial.suggest_int("warmup", 0, 10, step=2)
    loss = math.inf
    for step in range(8):
        loss = (math.log10(lr) + 3) ** 2 + (layers - 2) ** 2 + dropout + (momentum + 1) / (step + 1)
        trial.report(loss, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return loss


@pytest.fixture(scope="module")
def tuned(tmp_path_factory) -> Path:
    """An Optuna journal: TPE, 50 trials, a median pruner, conditional parameters."""
    path = tmp_path_factory.mktemp("optuna") / "optuna.log"
    study = optuna.create_study(storage=journal_storage(path), study_name="tuning",
                                sampler=optuna.samplers.TPESampler(seed=3),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2))
    study.optimize(training, n_trials=50)
    states = {t.state for t in study.trials}
    assert states == {TrialState.COMPLETE, TrialState.PRUNED}  # the fixture must exercise both
    assert any("warmup" in t.params for t in study.trials) and any("momentum" not in t.params for t in study.trials)
    return path


KOLKATA = {"TZ": "Asia/Kolkata"}


def assert_check_clean(study: Path) -> None:
    result = run_asktell("check", study)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr
    assert "0 errors, 0 warnings" in result.stderr


def assert_same_trial(original, exported) -> None:
    assert exported.state == original.state
    assert exported.params == original.params
    assert exported.distributions == original.distributions
    assert exported.values == original.values
    assert exported.intermediate_values == original.intermediate_values
    assert abs(exported.datetime_start - original.datetime_start).total_seconds() < 1e-3  # asktell keeps ms
    assert abs(exported.datetime_complete - original.datetime_complete).total_seconds() < 1e-3


def test_round_trip_optuna_asktell_optuna(tuned: Path, tmp_path: Path, valid_files) -> None:
    folder = tmp_path / "imported"
    # Optuna keeps naive local times: converting them must hold in any time zone (+05:30 here, UTC in pytest).
    result = run_asktell("import-optuna", tuned, "--study", "tuning", folder, "--seed", "5", env=KOLKATA)
    assert result.returncode == 0, result.stderr
    assert "note: parameter warmup: when schedule == cosine" in result.stderr
    space = yaml.safe_load((folder / "study.yaml").read_text())["space"]
    assert space["momentum"]["when"] == "optimizer == sgd" and space["schedule"]["when"] == "optimizer == sgd"
    assert space["dropout"] == {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1}
    assert space["units"] == {"type": "int", "low": 16, "high": 256, "log": True}
    assert "when" not in space["lr"]
    valid_files(folder)
    assert_check_clean(folder)

    study = Study.open(folder)
    for _ in range(10):  # asktell's TPE carries on from the imported trials
        trial = study.ask()
        study.report(trial.number, 0, {"value": 2.0})
        study.tell(trial, 1.0 + trial.params["n_layers"])
    assert_check_clean(folder)

    exported = tmp_path / "back.log"
    result = run_asktell("export-optuna", folder, exported, env=KOLKATA)
    assert result.returncode == 0 and "Warning" not in result.stderr, result.stderr
    original = optuna.load_study(study_name="tuning", storage=journal_storage(tuned))
    loaded = optuna.load_study(study_name="tuning", storage=journal_storage(exported))
    assert loaded.directions == original.directions and loaded.metric_names == ["value"]
    assert len(loaded.trials) == 60
    for before, after in zip(original.trials, loaded.trials):
        assert_same_trial(before, after)
    for record, after in zip(study.trials[50:], loaded.trials[50:]):
        assert after.state == TrialState.COMPLETE and after.params == record.params
        assert after.values == [record.values["value"]] and after.intermediate_values == {0: 2.0}


def test_sqlite_import_reads_the_database_without_writing_to_it(tmp_path: Path) -> None:
    database = tmp_path / "optuna.db"
    source = optuna.create_study(storage=f"sqlite:///{database}", study_name="sql", direction="maximize")
    source.optimize(lambda t: t.suggest_int("n", 1, 9) * 1.5, n_trials=4)
    source.optimize(lambda t: t.suggest_int("n", 1, 9) / 0, n_trials=1, catch=(ZeroDivisionError,))
    running = source.ask()
    running.suggest_int("n", 1, 9)
    source.enqueue_trial({"n": 3})
    source.enqueue_trial({})  # a partial parameter set: Optuna fills it in, asktell cannot
    before = database.read_bytes()

    folder = tmp_path / "imported"
    result = run_asktell("import-optuna", f"sqlite:///{database}", folder)
    assert result.returncode == 0, result.stderr
    assert "4 complete, 1 failed, 1 running, 1 queued" in result.stderr
    assert "waiting trial 7 was not queued" in result.stderr
    assert database.read_bytes() == before
    study = Study.open(folder)
    assert study.config.objectives[0].direction == "maximize"
    assert [t.state for t in study.trials] == ["complete"] * 4 + ["failed", "running"]
    assert [t.values for t in study.trials[:4]] == [{"value": t.value} for t in source.trials[:4]]
    assert study.ask().params == {"n": 3}  # the waiting trial was queued, and goes out first
    assert_check_clean(folder)


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # set_metric_names
def test_two_objectives_with_names_and_constraints_go_both_ways(tmp_path: Path) -> None:
    source_path = tmp_path / "source.log"
    source = optuna.create_study(storage=journal_storage(source_path), study_name="pareto",
                                 directions=["minimize", "maximize"])
    source.set_metric_names(["loss", "accuracy"])
    x = FloatDistribution(0.0, 1.0)
    for i in range(6):
        source.add_trial(create_trial(params={"x": i / 5}, distributions={"x": x}, values=[i / 5, 1 - (i / 5) ** 2],
                                      constraints={"memory": i - 3.0}))
    folder = tmp_path / "imported"
    assert run_asktell("import-optuna", source_path, folder).returncode == 0
    study = Study.open(folder)
    assert [(o.name, o.direction) for o in study.config.objectives] == [("loss", "minimize"), ("accuracy", "maximize")]
    assert study.trials[5].values == {"loss": 1.0, "accuracy": 0.0} and study.trials[5].constraints == {"memory": 2.0}

    exported = tmp_path / "back.log"
    assert run_asktell("export-optuna", folder, exported).returncode == 0
    loaded = optuna.load_study(study_name="pareto", storage=journal_storage(exported))
    assert loaded.directions == source.directions and loaded.metric_names == ["loss", "accuracy"]
    assert [t.values for t in loaded.trials] == [t.values for t in source.trials]
    assert [t.constraints for t in loaded.trials] == [t.constraints for t in source.trials]
    assert {t.number for t in loaded.best_trials} == {t.number for t in source.best_trials}


@pytest.mark.parametrize(("storage", "message"), [
    ("{journal} --study nope", "field '--study': no study of this name in the storage (got 'nope'); studies: tuning"),
    ("{tmp}/missing.log", "no such Optuna journal file"),
    ("sqlite:///{tmp}/missing.db", "no such SQLite file"),
    ("{tmp}/not-optuna.log", "cannot be read as an Optuna storage"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tuned: Path, tmp_path: Path, storage, message) -> None:
    (tmp_path / "not-optuna.log").write_text('{"seq": 0, "event": "created"}\n')
    folder = tmp_path / "study"
    before = sorted(tmp_path.iterdir())
    result = run_asktell("import-optuna", *storage.format(journal=tuned, tmp=tmp_path).split(), folder)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert sorted(tmp_path.iterdir()) == before  # no study folder, no storage file created


def test_export_refuses_an_existing_file_unless_forced(study: Path, tmp_path: Path) -> None:
    target = tmp_path / "optuna.log"
    target.write_text("keep me\n")
    result = run_asktell("export-optuna", study, target)
    assert result.returncode == 2 and "--force replaces it" in result.stderr
    assert target.read_text() == "keep me\n"
    assert run_asktell("export-optuna", study, target, "--force").returncode == 0
    assert optuna.load_study(study_name="study", storage=journal_storage(target)).trials == []


def test_running_and_queued_trials_become_running_and_waiting_and_come_back(tmp_path: Path) -> None:
    study = Study.create(tmp_path / "study", {"opt": "adam,sgd", "momentum": "0.0..0.9 if opt == sgd"}, seed=2)
    study.enqueue([{"opt": "adam"}, {"opt": "sgd", "momentum": 0.1}, {"opt": "sgd", "momentum": 0.5}])
    for _ in range(2):
        study.tell(study.ask(), 1.0)
    running = study.ask()
    study.enqueue([{"opt": "adam"}])
    exported = tmp_path / "optuna.log"
    assert run_asktell("export-optuna", study.path, exported).returncode == 0
    loaded = optuna.load_study(study_name="study", storage=journal_storage(exported))
    assert [t.state for t in loaded.trials] == [TrialState.COMPLETE] * 2 + [TrialState.RUNNING, TrialState.WAITING]
    assert loaded.trials[2].params == running.params and loaded.trials[3].system_attrs["fixed_params"] == {"opt": "adam"}

    folder = tmp_path / "back"
    assert run_asktell("import-optuna", exported, folder).returncode == 0
    back = Study.open(folder)
    assert back.config.space.to_spec() == study.config.space.to_spec()
    assert back.trials[2].state == "running" and back.trials[2].params == running.params
    assert back.ask().params == {"opt": "adam"}


# ---------------------------------------------------------------------- the space from per-trial distributions

OPT = CategoricalDistribution(["adam", "sgd", "rmsprop"])
X = FloatDistribution(0.0, 1.0)


def trial(number: int, params: dict, distributions: dict, state: TrialState = TrialState.COMPLETE):
    made = create_trial(state=state, params=params, distributions=distributions,
                        values=[float(number)] if state == TrialState.COMPLETE else None)
    made.number = number
    return made


def plan(trials, **renames):
    return plan_import("s", trials, [optuna.study.StudyDirection.MINIMIZE], None, renames)


def test_a_parameter_present_exactly_with_some_choices_gets_an_in_condition() -> None:
    trials = [trial(i, {"opt": opt, **({"x": 0.5} if opt != "adam" else {})},
                    {"opt": OPT, **({"x": X} if opt != "adam" else {})})
              for i, opt in enumerate(["adam", "sgd", "rmsprop", "adam"])]
    # A failed trial may stop before suggesting everything: it is no evidence against the condition.
    trials.append(trial(4, {"opt": "sgd"}, {"opt": OPT}, TrialState.FAIL))
    made = plan(trials)
    assert str(made.space.params["x"].when[0]) == "opt in [sgd, rmsprop]"


def test_a_parameter_absent_without_a_rule_stays_unconditional_and_the_study_works(tmp_path: Path) -> None:
    trials = [trial(i, {"opt": "adam", "x": i / 12} if i % 2 else {"opt": "adam"},
                    {"opt": OPT, "x": X} if i % 2 else {"opt": OPT}) for i in range(12)]
    made = plan(trials)
    assert made.space.params["x"].when == ()
    assert any("parameter x is absent from 6 complete or pruned trials" in note for note in made.notes)
    source = optuna.create_study(storage=journal_storage(tmp_path / "s.log"), study_name="s")
    source.add_trials(trials)
    folder = tmp_path / "study"
    assert run_asktell("import-optuna", tmp_path / "s.log", folder).returncode == 0
    assert_check_clean(folder)
    assert set(Study.open(folder).ask().params) == {"opt", "x"}  # past TPE's start-up, on trials that lack x


def test_ranges_that_changed_between_trials_are_merged() -> None:
    made = plan([trial(0, {"x": 0.5, "n": 4, "s": 0.2}, {"x": X, "n": IntDistribution(2, 8, step=2),
                                                          "s": FloatDistribution(0.0, 1.0, step=0.1)}),
                 trial(1, {"x": 1.5, "n": 5, "s": 0.25}, {"x": FloatDistribution(0.5, 2.0), "n": IntDistribution(1, 9, step=2),
                                                           "s": FloatDistribution(0.05, 0.95, step=0.1)})])
    assert made.space.to_spec() == {"x": {"type": "float", "low": 0.0, "high": 2.0},
                                    "n": {"type": "int", "low": 1, "high": 9},
                                    "s": {"type": "float", "low": 0.0, "high": 1.0}}
    assert any("parameter s had step grids that do not line up" in note for note in made.notes)


def test_names_asktell_cannot_take_are_refused_with_a_hint_or_renamed() -> None:
    trials = [trial(0, {"lr/encoder": 0.5}, {"lr/encoder": X})]
    with pytest.raises(InvalidInput, match="--rename") as error:
        plan(trials)
    assert error.value.field == "space.lr/encoder"
    assert list(plan(trials, **{"lr/encoder": "lr_encoder"}).space.params) == ["lr_encoder"]
    with pytest.raises(InvalidInput, match="no parameter or objective"):
        plan([trial(0, {"x": 0.5}, {"x": X})], lr="rate")
    with pytest.raises(InvalidInput, match="would get one name"):
        plan([trial(0, {"x": 0.5, "y": 0.5}, {"x": X, "y": X})], x="y")


def test_a_study_without_parameters_has_no_space_to_import() -> None:
    with pytest.raises(InvalidInput, match="no space to import"):
        plan([])


def test_non_finite_values_do_not_reach_the_journal() -> None:
    complete = trial(0, {"x": 0.5}, {"x": X})
    complete.values = [math.inf]
    complete.intermediate_values = {0: math.nan, 1: 2.0}
    made = plan([complete])
    told = made.events[-1]
    assert told["state"] == "failed" and "values" not in told and "inf" in told["reason"]
    assert [e["step"] for e in made.events if e["event"] == "reported"] == [1]
    assert len(made.notes) == 2


# ---------------------------------------------------------------------- an optional extra


def test_without_optuna_the_commands_name_the_extra(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['optuna'] = None; sys.argv = ['asktell', 'import-optuna', 'x.log', 'out']; "
            "from asktell.entry import main; main()")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "pip install 'asktell[optuna]'" in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_help_does_not_import_optuna() -> None:
    assert "optuna" not in imported_modules("--help")
