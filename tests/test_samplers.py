"""Samplers: the contract every sampler keeps, then what random and grid promise.

The contract tests are parametrized over ``SAMPLERS``, so a sampler added
there is held to them without a new test.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asktell import Study
from asktell.errors import Exhausted, InvalidInput
from asktell.config import Objective
from asktell.samplers import SAMPLERS, derive_seed
from asktell.samplers import make_sampler as _make_sampler
from asktell.space import Space
from asktell.trial import COMPLETE, FAILED, TrialRecord
from tests.support.spaces import PROPERTY, cell_identity, drafts, typed, yaml_space

ASKED_AT = "2024-01-01T00:00:00.000Z"
LOSS = (Objective("loss", "minimize"),)
TOLD_AT = "2024-01-01T00:01:00.000Z"
#: Samplers that only work on some spaces get generated spaces they accept.
SPACES_FOR = {"grid": drafts(gridable=True)}


def make_sampler(name: str, options: dict, study_seed: int):
    """The sampler as a study minimizing ``loss`` builds it (the trials below report ``loss``)."""
    return _make_sampler(name, options, study_seed, LOSS)


def journal_copy(params: dict) -> dict:
    """Params as a later process reads them back from the journal (JSON)."""
    return json.loads(json.dumps(params))


def finished(number: int, params: dict, space: Space) -> TrialRecord:
    """A told trial: every third one failed, the others complete with a loss derived from the params."""
    if number % 3 == 2:
        return TrialRecord(number, journal_copy(params), ASKED_AT, state=FAILED, told_at=TOLD_AT)
    loss = sum(space.params[name].to_unit(value) for name, value in params.items())
    return TrialRecord(number, journal_copy(params), ASKED_AT, state=COMPLETE, values={"loss": loss},
                       told_at=TOLD_AT)


@dataclasses.dataclass
class Ask:
    """The inputs of one ``suggest`` call and what it returned."""

    history: list[TrialRecord]
    pending: list[TrialRecord]
    seed: int
    params: dict


def ask_sequence(name: str, space: Space, study_seed: int, steps: int, options: dict | None = None) -> list[Ask]:
    """Ask like a study does: each new trial is pending; after every second ask the oldest one is told.

    Stops early on ``Exhausted``, which a sampler may raise only when every grid cell is taken.
    """
    sampler = make_sampler(name, dict(options or {}), study_seed)
    history: list[TrialRecord] = []
    pending: list[TrialRecord] = []
    asks: list[Ask] = []
    for number in range(steps):
        seed = derive_seed(study_seed, number)
        before = copy.deepcopy((history, pending))
        try:
            params = sampler.suggest(space, list(history), list(pending), seed)
        except Exhausted:
            taken = {cell_identity(t.params) for t in history + pending}
            assert all(p.kind != "float" or p.step is not None for p in space), "exhausted an infinite space"
            assert len(taken) >= len(space.grid_cells()), "exhausted with grid cells left"
            break
        assert (history, pending) == before, "suggest must not change its inputs"
        asks.append(Ask(list(history), list(pending), seed, params))
        pending.append(TrialRecord(number, journal_copy(params), ASKED_AT))
        if number % 2:
            told = pending.pop(0)
            history.append(finished(told.number, told.params, space))
    return asks


# --------------------------------------------------------------------- the contract


@pytest.mark.parametrize("name", sorted(SAMPLERS))
@PROPERTY
@given(data=st.data(), study_seed=st.integers(0, 2**31 - 1))
def test_suggestions_lie_in_the_space(name: str, data: st.DataObject, study_seed: int) -> None:
    """Every suggestion is in range, on its step grid, of the right type, with exactly the active params."""
    space = yaml_space(data.draw(SPACES_FOR.get(name, drafts()), label="space"))
    make_sampler(name, {}, study_seed).check_space(space)
    for ask in ask_sequence(name, space, study_seed, steps=6):
        assert typed(space.validate(ask.params)) == typed(ask.params)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
@PROPERTY
@given(data=st.data(), study_seed=st.integers(0, 2**31 - 1))
def test_same_inputs_give_the_same_suggestion(name: str, data: st.DataObject, study_seed: int) -> None:
    """A sampler is a pure function of (space, history, pending, seed): fresh instances agree."""
    space = yaml_space(data.draw(SPACES_FOR.get(name, drafts()), label="space"))
    for ask in ask_sequence(name, space, study_seed, steps=4):
        again = make_sampler(name, {}, study_seed).suggest(space, ask.history, ask.pending, ask.seed)
        assert typed(again) == typed(ask.params)


#: Spaces for the cross-process check; the grid sampler skips those it cannot walk.
PROCESS_SPACES = [
    {"lr": "1e-5..1e-1:log", "n_layers": "1..4", "opt": "adam,sgd", "momentum": "0..0.9 if opt == sgd",
     "dropout": "0..0.5:0.1"},
    {"opt": "alpha,beta,gamma,delta,epsilon", "n": "1..3", "d": "0..0.2:0.1 if opt in [alpha, beta]",
     "flag": [True, False, 1, "1", None]},
    {"units": "16..256:log", "width": "0..100:5 if units >= 64"},
]

_SUGGEST_SCRIPT = """
import json, sys
from asktell.config import Objective
from asktell.samplers import make_sampler
from asktell.space import Space
from asktell.trial import TrialRecord
records = lambda items: [TrialRecord(**item) for item in items]
answers = []
for case in json.load(sys.stdin):
    sampler = make_sampler(case["sampler"], case["options"], case["study_seed"], [Objective("loss", "minimize")])
    answers.append(sampler.suggest(Space.from_spec(case["space"]), records(case["history"]),
                                   records(case["pending"]), case["seed"]))
json.dump(answers, sys.stdout)
"""


def process_cases() -> tuple[list[dict], list[dict]]:
    """Every (sampler, option, space) that applies, asked a few times in this process."""
    cases, answers = [], []
    options_for = {"grid": [{"order": "shuffled"}, {"order": "sequential"}]}
    for name, spec in itertools.product(sorted(SAMPLERS), PROCESS_SPACES):
        space = Space.from_spec(spec)
        for options in options_for.get(name, [{}]):
            try:
                make_sampler(name, options, 11).check_space(space)
            except InvalidInput:
                continue
            for ask in ask_sequence(name, space, 11, steps=5, options=options):
                cases.append({"sampler": name, "options": options, "study_seed": 11, "space": spec,
                              "history": [dataclasses.asdict(t) for t in ask.history],
                              "pending": [dataclasses.asdict(t) for t in ask.pending], "seed": ask.seed})
                answers.append(journal_copy(ask.params))
    return cases, answers


@pytest.mark.parametrize("hash_seed", ["1", "2"])
def test_another_process_gives_the_same_suggestions(hash_seed: str) -> None:
    """``ask`` runs in a new process each time: nothing may depend on hash() or process state."""
    cases, expected = process_cases()
    assert {c["sampler"] for c in cases} == set(SAMPLERS)
    result = subprocess.run([sys.executable, "-c", _SUGGEST_SCRIPT], input=json.dumps(cases),
                            capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[1],
                            env={"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert typed(json.loads(result.stdout)) == typed(expected)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_unknown_option_is_rejected(name: str) -> None:
    """A typo in sampler.options must not be silently ignored."""
    with pytest.raises(InvalidInput) as error:
        make_sampler(name, {"no_such_option": 3}, 0)
    assert error.value.field == "sampler.options.no_such_option"
    assert "no_such_option" in str(error.value) and "(got 3)" in str(error.value)


def test_unknown_sampler_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        make_sampler("annealing", {}, 0)
    assert error.value.field == "sampler.name"
    assert "annealing" in str(error.value)


# --------------------------------------------------------------------- derive_seed


def test_derive_seed_is_pinned() -> None:
    """Changing the derivation would change every existing study's suggestions."""
    assert derive_seed(7, 0) == 2353704707365072781


def test_derive_seed_differs_across_trials_and_studies() -> None:
    seeds = [derive_seed(7, n) for n in range(1000)]
    assert len(set(seeds)) == len(seeds)
    assert all(0 <= s < 2**63 for s in seeds)
    assert all(derive_seed(8, n) != s for n, s in enumerate(seeds))


# --------------------------------------------------------------------- random

RANDOM_DRAWS = 400


@pytest.fixture(scope="module")
def random_draws() -> list[dict]:
    space = Space.from_shorthands(["opt=a,b,c,d", "n=1..8", "dropout=0..0.5:0.1", "lr=1e-5..1e-1:log",
                                   "x=0.0..1.0", "m=0..1 if opt in [a, b]"])
    sampler = make_sampler("random", {}, 2024)
    return [sampler.suggest(space, [], [], derive_seed(2024, n)) for n in range(RANDOM_DRAWS)]


def assert_even_spread(values: list, categories: list) -> None:
    """Each category gets its share within five binomial standard deviations (and nothing else appears)."""
    counts = Counter(values)
    assert set(counts) <= set(categories), counts
    p = 1 / len(categories)
    slack = 5 * math.sqrt(len(values) * p * (1 - p))
    for category in categories:
        assert abs(counts[category] - len(values) * p) <= slack, counts


@pytest.mark.parametrize("param, category_of, categories", [
    ("opt", str, ["a", "b", "c", "d"]),
    ("n", int, list(range(1, 9))),
    ("dropout", float, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]),
    ("lr", lambda v: min(math.floor(math.log10(v)), -2), [-5, -4, -3, -2]),  # one bin per decade
    ("x", lambda v: min(int(v * 4), 3), [0, 1, 2, 3]),
    ("m", lambda v: "present", ["present", "absent"]),
])
def test_random_covers_the_space_evenly(random_draws: list[dict], param: str,
                                        category_of: Callable[[Any], Any], categories: list) -> None:
    """Uniform over choices, integers and grid points; log-uniform over decades."""
    assert_even_spread([category_of(d[param]) if param in d else "absent" for d in random_draws], categories)


def test_random_draws_parameters_independently(random_draws: list[dict]) -> None:
    """One shared draw for all parameters would tie them together and leave most pairs unseen."""
    assert {(d["opt"], d["n"]) for d in random_draws} == set(itertools.product("abcd", range(1, 9)))


def test_random_draws_differ_across_trials(random_draws: list[dict]) -> None:
    """The trial-derived seed is used: continuous draws practically never repeat."""
    assert len({d["x"] for d in random_draws}) == RANDOM_DRAWS


# --------------------------------------------------------------------- grid

MIXED_GRID = {"opt": ["adam", "sgd"], "momentum": "0..0.9:0.3 if opt == sgd", "n": "1..2",
              "tag": [1, True, "1", 1.0]}


def hand_out_all(sampler, space: Space, limit: int = 1000) -> list[dict]:
    """Ask until Exhausted, telling every other trial, as concurrent workers would."""
    history: list[TrialRecord] = []
    pending: list[TrialRecord] = []
    handed: list[dict] = []
    for number in range(limit):
        try:
            params = sampler.suggest(space, history, pending, derive_seed(5, number))
        except Exhausted:
            return handed
        handed.append(params)
        record = TrialRecord(number, journal_copy(params), ASKED_AT)
        (history if number % 2 else pending).append(record)
    raise AssertionError(f"the grid was not exhausted after {limit} asks")


def identities(cells: list[dict]) -> list[tuple]:
    return [cell_identity(c) for c in cells]


@pytest.mark.parametrize("order", ["shuffled", "sequential"])
def test_grid_hands_out_each_cell_once_then_is_exhausted(order: str) -> None:
    """Taken cells (told or pending, 1 and True and '1' and 1.0 apart) are never handed out again."""
    space = Space.from_spec(MIXED_GRID)
    sampler = make_sampler("grid", {"order": order}, 3)
    handed = hand_out_all(sampler, space)
    assert len(handed) == (1 + 4) * 2 * 4
    assert len(set(identities(handed))) == len(handed)
    assert sorted(identities(handed)) == sorted(identities(space.grid_cells()))
    with pytest.raises(Exhausted):
        sampler.suggest(space, [TrialRecord(i, p, ASKED_AT) for i, p in enumerate(handed)], [], 0)


def test_grid_sequential_order_is_the_nested_loop() -> None:
    """The first parameter is the outermost loop, as Hake walked it."""
    space = Space.from_shorthands(["n=1..3", "opt=a,b", "d=0..0.2:0.1"])
    nested = [{"n": n, "opt": opt, "d": d}
              for n in (1, 2, 3) for opt in ("a", "b") for d in (0.0, 0.1, 0.2)]
    sampler = make_sampler("grid", {"order": "sequential"}, 3)
    assert typed(hand_out_all(sampler, space)) == typed(nested)


def test_grid_shuffled_order_is_a_seeded_permutation() -> None:
    """Reproducible for a study seed, different across seeds, and covering the same cells."""
    space = Space.from_shorthands(["n=1..3", "opt=a,b", "d=0..0.2:0.1"])
    sequential = identities(space.grid_cells())

    def order(seed: int) -> list[tuple]:
        return identities(hand_out_all(make_sampler("grid", {}, seed), space))

    assert sorted(order(1)) == sorted(sequential)
    assert order(1) == order(1)
    assert order(1) != order(2)
    assert order(1) != sequential


@pytest.mark.parametrize("shorthand", ["lr=0.0..1.0", "lr=1e-5..1e-1:log"])
def test_grid_rejects_a_float_without_step(shorthand: str, tmp_path: Path) -> None:
    """Caught when the study is created, before anything is written."""
    space = Space.from_shorthands(["n=1..3", shorthand])
    with pytest.raises(InvalidInput) as error:
        make_sampler("grid", {}, 0).check_space(space)
    assert error.value.field == "space.lr"
    with pytest.raises(InvalidInput):
        Study.create(tmp_path / "study", space, sampler="grid", objectives={"loss": "minimize"})
    assert not (tmp_path / "study").exists()


def test_grid_accepts_int_log_and_categorical() -> None:
    make_sampler("grid", {}, 0).check_space(Space.from_shorthands(["units=16..20:log", "opt=a,b", "d=0..1:0.5"]))


def test_conditional_grid_hands_out_only_active_combinations() -> None:
    space = Space.from_shorthands(["opt=adam,sgd", "momentum=0..0.9:0.3 if opt == sgd"])
    handed = hand_out_all(make_sampler("grid", {"order": "sequential"}, 0), space)
    assert handed == [{"opt": "adam"}] + [{"opt": "sgd", "momentum": m} for m in (0.0, 0.3, 0.6, 0.9)]


def test_grid_rejects_an_unknown_order() -> None:
    with pytest.raises(InvalidInput) as error:
        make_sampler("grid", {"order": "random"}, 0)
    assert error.value.field == "sampler.options.order"
    assert "'random'" in str(error.value)


#: Samplers that start at random and then build on finished trials, with options that end the start early.
#: qmc has no start-up; it is listed for the property and cross-process checks all the same.
PAST_START_UP = {"cmaes": {"population": 2}, "de": {"population": 4}, "nsga2": {"population": 4},
                 "tpe": {"n_startup": 2}, "qmc": {}, "gp": {"n_startup": 2}}


@pytest.mark.parametrize("name", sorted(PAST_START_UP))
@PROPERTY
@given(data=st.data(), study_seed=st.integers(0, 2**31 - 1))
def test_past_the_start_up_suggestions_lie_in_the_space(name: str, data, study_seed: int) -> None:
    """Once the model is in use, conditional, stepped and log spaces still get valid, repeatable suggestions."""
    space = yaml_space(data.draw(drafts(), label="space"))
    for ask in ask_sequence(name, space, study_seed, steps=16, options=PAST_START_UP[name]):
        assert typed(space.validate(ask.params)) == typed(ask.params)
        again = make_sampler(name, PAST_START_UP[name], study_seed).suggest(space, ask.history, ask.pending, ask.seed)
        assert typed(again) == typed(ask.params)


@pytest.mark.parametrize("name", sorted(PAST_START_UP))
def test_past_the_start_up_another_process_gives_the_same_suggestions(name: str) -> None:
    spec = {"lr": "1e-5..1e-1:log", "opt": "adam,sgd", "momentum": "0..0.9 if opt == sgd", "n": "1..4"}
    options = PAST_START_UP[name]
    cases, expected = [], []
    for ask in ask_sequence(name, Space.from_spec(spec), 3, steps=14, options=options)[8:]:
        cases.append({"sampler": name, "options": options, "study_seed": 3, "space": spec,
                      "history": [dataclasses.asdict(t) for t in ask.history],
                      "pending": [dataclasses.asdict(t) for t in ask.pending], "seed": ask.seed})
        expected.append(json.loads(json.dumps(ask.params)))
    result = subprocess.run([sys.executable, "-c", _SUGGEST_SCRIPT], input=json.dumps(cases), capture_output=True,
                            text=True, timeout=120, cwd=Path(__file__).parents[1],
                            env={"PYTHONHASHSEED": "7", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert typed(json.loads(result.stdout)) == typed(expected)
