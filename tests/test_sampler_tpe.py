"""The TPE sampler: its parts checked by hand, then what it promises as a whole.

Budgets and thresholds of the optimisation tests are stated where they are
used; every test drives ``suggest`` the way a study does (tell = append a
finished ``TrialRecord`` to the history).
"""

from __future__ import annotations

import random
import statistics
from pathlib import Path

import numpy as np
import pytest

from asktell.config import Objective
from asktell.errors import InvalidInput
from asktell.samplers import derive_seed, make_sampler
from asktell.samplers.parzen import Encoding, ParzenEstimator
from asktell.samplers.pareto import best_rows
from asktell.samplers.tpe import MAX_BAD, TPESampler
from asktell.space import Space
from asktell.trial import COMPLETE, FAILED, PRUNED, TrialRecord
from tests.conftest import run_asktell
from tests.support.drive import cells_of_pending_asks_on_a_small_grid, cli_loop, pending_spread
from tests.support.loss import (ASKED_AT, LOSS, SPREAD_SPACES, best, conditional, distance_to_point_three,
                                mixed, optimise_in_batches, quadratic, told)


def tpe(options: dict | None = None, study_seed: int = 0, objectives=LOSS) -> TPESampler:
    return make_sampler("tpe", dict(options or {}), study_seed, objectives)  # type: ignore[return-value]


# --------------------------------------------------------------------- options


@pytest.mark.parametrize("option, value", [
    ("n_startup", -1), ("n_startup", 2.5), ("n_candidates", 0), ("gamma", 0), ("gamma", 1.5), ("gamma", "x"),
    ("multivariate", "yes"), ("pending", "worst"), ("prior_weight", 0), ("prior_weight", True), ("liar_weight", 0), ("liar_weight", 1.5),
])
def test_bad_option_values_are_rejected(option: str, value) -> None:
    with pytest.raises(InvalidInput) as error:
        tpe({option: value})
    assert error.value.field == f"sampler.options.{option}"


# --------------------------------------------------------------------- start-up and the good/bad split


def test_start_up_is_the_random_sampler() -> None:
    """Before ``n_startup`` complete trials the suggestion is exactly the random sampler's."""
    space = Space.from_shorthands(["x=0.0..1.0", "opt=a,b"])
    history = [told(n, {"x": 0.1 * n, "opt": "a"}, 0.1 * n) for n in range(4)] + \
              [told(4, {"x": 0.9, "opt": "b"}, state=FAILED)]
    random = make_sampler("random", {}, 7, LOSS)
    for seed in range(5):
        assert tpe({"n_startup": 5}, 7).suggest(space, history, [], seed) == random.suggest(space, [], [], seed)
    assert tpe({"n_startup": 4}, 7).suggest(space, history, [], 0) != random.suggest(space, [], [], 0)


@pytest.mark.parametrize("n_complete, gamma, n_good", [(20, 0.1, 2), (11, 0.1, 2), (400, 0.1, 25), (20, 0.5, 10)])
def test_good_set_size_follows_gamma_with_a_cap(n_complete: int, gamma: float, n_good: int) -> None:
    history = [told(n, {"x": n / 1000}, loss=float(n_complete - n)) for n in range(n_complete)]
    history.append(told(n_complete, {"x": 0.5}, state=FAILED))
    good, bad = tpe({"gamma": gamma}).split([(t, (t.values["loss"],)) for t in history[:-1]], history)
    assert sorted(t.number for t in good) == list(range(n_complete - n_good, n_complete))  # lowest losses
    assert len(bad) == n_complete + 1 - n_good and bad[-1].state == FAILED


def test_failed_pruned_and_running_trials_push_suggestions_away() -> None:
    """They all count as bad: with the same good trials, the suggestion leaves their region."""
    space = Space.from_shorthands(["x=0.0..1.0"])
    good_and_bad = [(0.3, 0.0), (0.7, 0.0)] + [((k + 0.5) / 18, 1.0) for k in range(18)]  # 2 good of 20
    history = [told(n, {"x": x}, loss) for n, (x, loss) in enumerate(good_and_bad)]
    sampler = tpe({"gamma": 0.1})

    def mean_suggestion(extra: list[TrialRecord], pending: list[TrialRecord]) -> float:
        return statistics.mean(sampler.suggest(space, history + extra, pending, seed)["x"] for seed in range(40))

    crowd_low = [{"x": 0.36 + k / 100} for k in range(10)]  # left of 0.5, where the good kernels overlap most
    baseline = mean_suggestion([], [])
    n = len(history)
    assert mean_suggestion([told(n + k, p, state=FAILED) for k, p in enumerate(crowd_low)], []) > baseline + 0.05
    assert mean_suggestion([told(n + k, p, state=PRUNED) for k, p in enumerate(crowd_low)], []) > baseline + 0.05
    running = [TrialRecord(n + k, p, ASKED_AT) for k, p in enumerate(crowd_low)]
    full_liar = tpe({"gamma": 0.1, "liar_weight": 1.0})
    assert statistics.mean(full_liar.suggest(space, history, running, s)["x"] for s in range(40)) > baseline + 0.05
    assert mean_suggestion([], running) > baseline + 0.02  # the default liar weighs a running trial 0.2
    ignoring = tpe({"gamma": 0.1, "pending": "ignore"})
    assert [ignoring.suggest(space, history, running, s) for s in range(5)] == \
           [ignoring.suggest(space, history, [], s) for s in range(5)]


def test_bad_set_is_bounded_keeping_the_running_and_the_newest(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cost stays bounded: g sees at most MAX_BAD trials, the running ones always among them."""
    seen: list[int] = []
    original = ParzenEstimator.__init__

    def spy(self, encoding, values, active, **fit):
        seen.append(len(values))
        original(self, encoding, values, active, **fit)

    monkeypatch.setattr(ParzenEstimator, "__init__", spy)
    space = Space.from_shorthands(["x=0.0..1.0"])
    history = [told(n, {"x": (n % 97) / 97}, float(n)) for n in range(MAX_BAD + 300)]
    running = [TrialRecord(len(history) + k, {"x": 0.5}, ASKED_AT) for k in range(8)]
    tpe().suggest(space, history, running, 0)
    assert seen == [25, MAX_BAD]


# --------------------------------------------------------------------- ranking


def test_constraints_rank_infeasible_trials_after_feasible_ones() -> None:
    losses = np.array([[0.0], [5.0], [1.0], [3.0], [2.0]])
    violations = np.array([2.0, 0.0, 0.5, 0.0, 0.0])
    assert list(best_rows(losses, violations, 2)) == [4, 3]
    assert list(best_rows(losses, violations, 4)) == [4, 3, 1, 2]  # then the least violating one


def test_several_objectives_rank_by_front_then_crowding() -> None:
    losses = np.array([[1, 4], [2, 2], [4, 1], [3, 3], [2, 5], [2.1, 2.1], [5, 5]], dtype=float)
    assert sorted(best_rows(losses, np.zeros(7), 3)) == [0, 1, 2]  # the first front
    assert sorted(best_rows(losses, np.zeros(7), 2)) == [0, 2]  # its extremes, cut by crowding distance
    assert sorted(best_rows(losses, np.zeros(7), 4))[:3] == [0, 1, 2]


def test_two_objectives_spread_the_good_set_along_the_front() -> None:
    """Losses x^2 and (x-1)^2: the Pareto set is [0, 1]; suggestions stay on it and cover both ends."""
    objectives = (Objective("f", "minimize"), Objective("g", "minimize"))
    space = Space.from_shorthands(["x=-2.0..3.0"])
    sampler = tpe({}, 1, objectives)
    history: list[TrialRecord] = []
    for number in range(80):
        x = sampler.suggest(space, history, [], derive_seed(1, number))["x"]
        history.append(TrialRecord(number, {"x": x}, ASKED_AT, state=COMPLETE,
                                   values={"f": x ** 2, "g": (x - 1) ** 2}))
    late = [t.params["x"] for t in history[40:]]
    on_front = [x for x in late if 0 <= x <= 1]
    assert len(on_front) >= 0.6 * len(late)
    assert min(on_front) < 0.25 and max(on_front) > 0.75


def test_constrained_study_converges_to_the_feasible_boundary() -> None:
    """Minimize x subject to x >= 0.6 (constraint 0.6 - x <= 0): the best feasible x nears 0.6."""
    space = Space.from_shorthands(["x=0.0..1.0"])
    for seed in range(3):
        sampler = tpe({}, seed)
        history: list[TrialRecord] = []
        for number in range(50):
            x = sampler.suggest(space, history, [], derive_seed(seed, number))["x"]
            history.append(told(number, {"x": x}, x, constraints={"c": 0.6 - x}))
        assert min(t.params["x"] for t in history if t.params["x"] >= 0.6) < 0.62


# --------------------------------------------------------------------- the Parzen estimator


def fitted(space: Space, param_sets: list[dict], multivariate: bool = True) -> tuple[Encoding, ParzenEstimator]:
    encoding = Encoding(space)
    return encoding, ParzenEstimator(encoding, *encoding.encode(param_sets), prior_weight=1.0,
                                     multivariate=multivariate)


@pytest.mark.parametrize("multivariate", [True, False])
def test_density_integrates_to_one(multivariate: bool) -> None:
    """Truncated kernels are renormalised: the mass over the cube (and the choices) is 1."""
    space = Space.from_shorthands(["x=0.0..1.0", "opt=a,b,c"])
    _, model = fitted(space, [{"x": 0.02, "opt": "a"}, {"x": 0.5, "opt": "c"}, {"x": 0.97, "opt": "a"}],
                      multivariate)
    grid = (np.arange(2000) + 0.5) / 2000
    mass = 0.0
    for index in range(3):
        values = np.column_stack([grid, np.full(len(grid), float(index))])
        mass += np.exp(model.log_density(values, np.ones(values.shape, bool))).mean()
    assert mass == pytest.approx(1.0, abs=1e-3)


def test_kernel_widths_follow_the_gaps_between_trials() -> None:
    """Each kernel is as wide as its wider neighbour gap, clipped to [1 / (n + 2), 0.2 n^(-1/5)]."""
    crowded = [0.5 + k / 1000 for k in range(30)]
    spread = [0.05 * k for k in range(1, 8)]
    _, model = fitted(Space.from_shorthands(["x=0.0..1.0"]), [{"x": x} for x in crowded + spread + [0.95]])
    widths = model.bandwidth[:, 0]
    ceiling = 0.2 * 38 ** (-1 / 5)
    assert widths[1:29] == pytest.approx(np.full(28, 1 / 40))  # gaps of 0.001: the magic clip
    assert widths[30:36] == pytest.approx(np.full(6, 0.05))  # the gaps themselves (0.05 is outermost)
    assert widths[[0, 29, 36, 37]] == pytest.approx(np.full(4, ceiling))  # next to a wide gap: the ceiling


def test_multivariate_keeps_correlations_univariate_does_not() -> None:
    """Good trials on the diagonal: joint draws stay near it, independent draws mix the corners."""
    space = Space.from_shorthands(["x=0.0..1.0", "y=0.0..1.0"])
    good = [{"x": v, "y": v} for v in (0.05, 0.1, 0.9, 0.95)]

    def off_diagonal(multivariate: bool) -> float:
        _, model = fitted(space, good, multivariate)
        draws = model.sample(space, 4000, random.Random(0))
        return statistics.mean(abs(d["x"] - d["y"]) for d in draws)

    # about 0.18 (a fifth of the draws come from the uniform prior, at 1/3 on average) against about 0.39
    assert off_diagonal(True) < 0.25 < 0.33 < off_diagonal(False)

    def corner_contrast(multivariate: bool) -> float:
        """log l(diagonal corner) - log l(off-diagonal corner)."""
        _, model = fitted(space, good, multivariate)
        density = model.log_density(np.array([[0.07, 0.07], [0.07, 0.93]]), np.ones((2, 2), bool))
        return float(density[0] - density[1])

    assert corner_contrast(True) > 2.0 and abs(corner_contrast(False)) < 0.1


def test_conditional_parameter_is_modelled_only_where_active() -> None:
    """``m`` exists only with opt == b: the trials with opt == a say nothing about it."""
    space = Space.from_shorthands(["opt=a,b", "m=0.0..1.0 if opt == b"])
    _, model = fitted(space, [{"opt": "b", "m": 0.8}, {"opt": "b", "m": 0.82}] + [{"opt": "a"}] * 6)
    draws = [d["m"] for d in model.sample(space, 3000, random.Random(1)) if "m" in d]
    # m's mixture: a third uniform prior, two thirds kernels at 0.8 and 0.82, about 0.4 of it in [0.7, 0.9];
    # had the six opt == a trials counted (as prior mass), about 0.27 would be.
    near = sum(0.7 <= m <= 0.9 for m in draws) / len(draws)
    assert len(draws) > 300 and near > 0.33


def test_parameter_inactive_in_every_trial_comes_from_the_prior() -> None:
    space = Space.from_shorthands(["opt=a,b", "m=0.0..1.0 if opt == b"])
    _, model = fitted(space, [{"opt": "a"}] * 4)
    draws = [d["m"] for d in model.sample(space, 2000, random.Random(2)) if "m" in d]
    assert len(draws) > 100
    assert np.histogram(draws, bins=4, range=(0, 1))[0].min() > len(draws) / 4 * 0.6  # about uniform


# --------------------------------------------------------------------- pending awareness


@pytest.mark.parametrize("shorthands", SPREAD_SPACES)
@pytest.mark.parametrize("options", [{}, {"multivariate": False}])
def test_eight_pending_asks_spread_out(shorthands: list[str], options: dict) -> None:
    """The common criterion: median over 5 seeds >= 0.5 x the same figure for the random sampler."""
    space = Space.from_shorthands(shorthands)
    spread, reference = pending_spread("tpe", options, LOSS, space, distance_to_point_three(space))
    print(f"\n{shorthands} {options}: tpe {spread:.3f}, random {reference:.3f}, ratio {spread / reference:.2f}")
    assert spread >= 0.5 * reference


def test_ignoring_pending_trials_fails_the_spread_criterion() -> None:
    """The criterion can fail: without the liar, 8 asks crowd around the good trials."""
    space = Space.from_shorthands(SPREAD_SPACES[0])
    spread, reference = pending_spread("tpe", {"pending": "ignore"}, LOSS, space, distance_to_point_three(space))
    assert spread < 0.5 * reference


def test_pending_asks_on_a_small_grid_are_distinct() -> None:
    """9 cells, 20 finished trials, 8 asks in a row: a candidate equal to a running trial is passed over."""
    assert [cells_of_pending_asks_on_a_small_grid("tpe", seed) for seed in range(5)] == [8] * 5


# --------------------------------------------------------------------- optimisation


@pytest.mark.parametrize("batch", [1, 8])
def test_finds_the_minimum_of_a_quadratic(batch: int) -> None:
    """(x-0.3)^2+(y+0.2)^2 on [-1,1]^2, 64 trials: best < 0.01 for each of 5 seeds, and beats random on average.

    Random search reaches about 0.01 on average with this budget; TPE about 0.001.
    """
    space = Space.from_shorthands(["x=-1.0..1.0", "y=-1.0..1.0"])
    found = [best(optimise_in_batches(tpe({}, seed), space, quadratic, 64, seed, batch)) for seed in range(5)]
    blind = [best(optimise_in_batches(make_sampler("random", {}, seed, LOSS), space, quadratic, 64, seed)) for seed in range(5)]
    print(f"\nbatch {batch}: tpe {found}, random {blind}")
    assert max(found) < 0.01
    assert statistics.mean(found) < statistics.mean(blind) / 3


@pytest.mark.parametrize("multivariate", [True, False])
def test_finds_the_right_category_and_value(multivariate: bool) -> None:
    """opt in {a, b, c} (only b reaches 0) and x in [0, 1], 40 trials: best < 0.01 for each of 5 seeds."""
    space = Space.from_shorthands(["opt=a,b,c", "x=0.0..1.0"])
    for seed in range(5):
        history = optimise_in_batches(tpe({"multivariate": multivariate}, seed), space, mixed, 40, seed)
        assert best(history) < 0.01
        assert sum(t.params["opt"] == "b" for t in history[20:]) >= 10  # the model settles on b (random: 1/3)


def test_conditional_problem_is_optimised() -> None:
    """The best branch has its own parameter: opt == sgd with momentum near 0.9, 60 trials, best < 0.02."""
    space = Space.from_shorthands(["opt=adam,sgd", "momentum=0.0..1.0 if opt == sgd", "x=0.0..1.0"])
    for seed in range(3):
        assert best(optimise_in_batches(tpe({}, seed), space, conditional, 60, seed)) < 0.02


# --------------------------------------------------------------------- end to end


def test_cli_ask_tell_loop(tmp_path: Path) -> None:
    """create --sampler tpe, then 12 rounds of ask, result.yaml and tell through the command."""
    study = tmp_path / "s"
    created = run_asktell("create", study, "-p", "x=-1..1", "-p", "y=-1..1", "--minimize", "loss", "--sampler", "tpe",
                          "--sampler-option", "n_startup=4", "--seed", "3")
    assert created.returncode == 0, created.stderr
    trials = cli_loop(study, 12, lambda params: ({"loss": quadratic(params)}, None))
    assert [t["state"] for t in trials] == ["complete"] * 12
    assert all(-1 <= t["params"][name] <= 1 for t in trials for name in ("x", "y"))

