"""Parameter importance (PED-ANOVA): what decides the top trials comes first, noise comes last."""

from __future__ import annotations

import random

import numpy as np
import pytest

from asktell.config import Objective
from asktell.importance import _grid_density, cell_count, importances, ranked_complete
from asktell.space import Space
from asktell.trial import COMPLETE, FAILED, TrialRecord

ASKED_AT = "2024-01-01T00:00:00.000Z"
LOSS = (Objective("loss", "minimize"),)
SPACE = Space.from_spec({"x": "-5.0..5.0", "noise": "-5.0..5.0", "n": "1..8", "opt": ["a", "b", "c"],
                         "m": "0..1 if opt == b"})


def random_trials(loss, count: int, seed: int, objectives=("loss",)) -> list[TrialRecord]:
    """``count`` uniformly drawn complete trials valued by ``loss(params)`` (a number or a tuple)."""
    rng = random.Random(seed)
    trials = []
    for number in range(count):
        params = {"x": rng.uniform(-5, 5), "noise": rng.uniform(-5, 5), "n": rng.randint(1, 8),
                  "opt": rng.choice("abc")}
        if params["opt"] == "b":
            params["m"] = rng.random()
        value = loss(params)
        values = dict(zip(objectives, value if isinstance(value, tuple) else (value,)))
        trials.append(TrialRecord(number, params, ASKED_AT, state=COMPLETE, values=values))
    return trials


@pytest.mark.parametrize("seed", range(5))
def test_the_parameter_that_decides_the_loss_leads_and_one_that_does_not_trails(seed) -> None:
    """loss = x^2: 200 random trials (the budget); x holds over 60% of the importance, noise under 5%."""
    shares = importances(SPACE, random_trials(lambda p: p["x"] ** 2, 200, seed), LOSS)
    assert list(shares)[0] == "x" and shares["x"] > 0.6
    assert shares["noise"] < 0.05
    assert sum(shares.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("seed", range(3))
def test_importance_is_ordered_by_how_much_each_parameter_moves_the_loss(seed) -> None:
    """A strong numeric, a weaker categorical, then noise: the order holds (200 trials)."""
    loss = lambda p: p["x"] ** 2 + (4.0 if p["opt"] == "c" else 0.0)  # noqa: E731
    shares = importances(SPACE, random_trials(loss, 200, seed), LOSS)
    assert shares["x"] > shares["opt"] > 3 * max(shares["noise"], shares["n"])


def test_a_conditional_parameter_that_decides_the_loss_is_found() -> None:
    """Only trials with opt == b have m; the best of them are those with m near 0 (300 trials)."""
    loss = lambda p: p["m"] if "m" in p else 1.5  # noqa: E731
    shares = importances(SPACE, random_trials(loss, 300, 0), LOSS)
    assert list(shares)[:2] == ["m", "opt"] or list(shares)[:2] == ["opt", "m"]
    assert shares["noise"] < 0.05 and shares["x"] < 0.05


def test_maximized_objectives_count_their_largest_values_as_best() -> None:
    shares = importances(SPACE, random_trials(lambda p: -p["x"] ** 2, 200, 1), (Objective("loss", "maximize"),))
    assert list(shares)[0] == "x"


def test_several_objectives_rank_by_the_pareto_front() -> None:
    """x decides one objective, n the other: both matter for reaching the front, noise does not."""
    objectives = (Objective("a", "minimize"), Objective("b", "minimize"))
    trials = random_trials(lambda p: (p["x"] ** 2, float(p["n"])), 300, 2, objectives=("a", "b"))
    shares = importances(SPACE, trials, objectives)
    assert set(list(shares)[:2]) == {"x", "n"}
    assert shares["noise"] < 0.05


def test_only_complete_trials_with_values_count_and_feasible_ones_rank_first() -> None:
    trials = [TrialRecord(0, {"x": 0.0}, ASKED_AT, state=COMPLETE, values={"loss": 5.0}),
              TrialRecord(1, {"x": 1.0}, ASKED_AT, state=COMPLETE, values={"loss": 1.0}, constraints={"c": 2.0}),
              TrialRecord(2, {"x": 2.0}, ASKED_AT, state=FAILED),
              TrialRecord(3, {"x": 3.0}, ASKED_AT, state=COMPLETE, values={"loss": float("nan")}),
              TrialRecord(4, {"x": 4.0}, ASKED_AT, state=COMPLETE, values={"loss": 3.0})]
    assert [t.number for t in ranked_complete(trials, LOSS)] == [4, 0, 1]


def test_too_few_trials_give_no_importance() -> None:
    assert set(importances(SPACE, random_trials(lambda p: p["x"], 1, 0), LOSS).values()) == {0.0}


def test_grid_densities_are_distributions_over_the_cells() -> None:
    for cells, categorical in ((np.array([0, 0, 3, 49, 20]), False), (np.array([1, 1, 2]), True),
                               (np.array([7]), False)):
        density = _grid_density(cells, 50 if not categorical else 3, categorical)
        assert density.sum() == pytest.approx(1.0) and (density > 0).all()


@pytest.mark.parametrize("spec, cells", [("0.0..1.0", 50), ("1..4", 4), ("0..0.5:0.1", 6), ("1..1000", 50),
                                         ("16..256:log", 50), ("1..3:log", 3)])
def test_a_parameter_has_a_cell_per_value_up_to_the_limit(spec, cells) -> None:
    assert cell_count(Space.from_spec({"p": spec}).params["p"]) == cells
