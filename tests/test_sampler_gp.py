"""The GP sampler: its numerics checked against references, then what it promises as a whole.

Budgets and thresholds of the optimisation tests are stated where they are
used; every test drives ``suggest`` the way a study does (tell = append a
finished ``TrialRecord`` to the history).
"""

from __future__ import annotations

import math
import statistics
from decimal import Decimal, getcontext
from pathlib import Path

import numpy as np
import pytest

from asktell.config import Objective
from asktell.errors import InvalidInput
from asktell.samplers import derive_seed, make_sampler
from asktell.samplers.acquisition import ASYMPTOTIC, log_expected_improvement_gradient, log_h
from asktell.samplers.gaussian_process import GaussianProcess, _log_posterior, squared_differences
from asktell.samplers.gp import GPSampler, best_and_newest, mid_ranks, warp
from asktell.samplers.projected_gradient import minimize_rows
from asktell.space import Space
from asktell.trial import FAILED, PRUNED, TrialRecord
from tests.conftest import run_asktell
from tests.support.drive import cells_of_pending_asks_on_a_small_grid, cli_loop, pending_spread
from tests.support.loss import (ASKED_AT, LOSS, SPREAD_SPACES, best, conditional, distance_to_point_three,
                                mixed, optimise_in_batches, quadratic, told)


def gp(options: dict | None = None, study_seed: int = 0) -> GPSampler:
    return make_sampler("gp", dict(options or {}), study_seed, LOSS)  # type: ignore[return-value]


# --------------------------------------------------------------------- options


@pytest.mark.parametrize("option, value", [
    ("n_startup", -1), ("n_startup", 2.5), ("n_startup", True), ("n_candidates", 0), ("n_candidates", "many"),
    ("max_points", 1), ("max_points", None),
])
def test_bad_option_values_are_rejected(option: str, value) -> None:
    with pytest.raises(InvalidInput) as error:
        gp({option: value})
    assert error.value.field == f"sampler.options.{option}"
    assert f"(got {value!r})" in str(error.value)


def test_several_objectives_are_rejected_with_a_pointer_to_nsga2() -> None:
    with pytest.raises(InvalidInput) as error:
        make_sampler("gp", {}, 0, (Objective("f", "minimize"), Objective("g", "maximize")))
    assert error.value.field == "objectives" and "nsga2" in str(error.value)


# --------------------------------------------------------------------- log expected improvement


def reference_log_h(z: float) -> float:
    """log h(z) to ~30 digits: Laplace's continued fraction of the Mills ratio in Decimal (z <= -1)."""
    getcontext().prec = 50
    a, tail = Decimal(-z), Decimal(0)
    for k in range(3000, 0, -1):
        tail = Decimal(k) / (a + tail)
    mills = 1 / (a + tail)
    return float(-a * a / 2 - (2 * Decimal(math.pi)).sqrt().ln() + (1 - a * mills).ln())


@pytest.mark.parametrize("z", [-1.0, -1.7, -4.0, -9.5, -19.99, ASYMPTOTIC, -20.01, -35.0, -300.0, -1000.0])
def test_log_h_matches_a_high_precision_reference(z: float) -> None:
    """Both branches agree with 50-digit arithmetic: h to a relative 1e-10 (erfc's error, times z^2 by cancellation)."""
    assert log_h(np.array([z]))[0][0] == pytest.approx(reference_log_h(z), rel=1e-15, abs=1e-10)


@pytest.mark.parametrize("z", [-0.99, -0.5, 0.0, 0.7, 3.0, 12.0])
def test_log_h_matches_the_direct_formula_where_that_is_accurate(z: float) -> None:
    """For z > -1, phi(z) + z Phi(z) loses no digits."""
    direct = math.exp(-z * z / 2) / math.sqrt(2 * math.pi) + z * 0.5 * math.erfc(-z / math.sqrt(2))
    assert log_h(np.array([z]))[0][0] == pytest.approx(math.log(direct), rel=1e-14)


def test_log_h_is_finite_increasing_and_has_the_right_slope_far_out() -> None:
    """Down to z = -1e3 (where EI itself underflows at z < -38): finite, strictly increasing, slope Phi/h."""
    z = -np.logspace(3, -2, 4000)
    value, slope = log_h(z)
    assert np.isfinite(value).all() and np.isfinite(slope).all()
    assert (np.diff(value) > 0).all()
    numeric = np.gradient(value, z)
    assert np.allclose(slope[1:-1], numeric[1:-1], rtol=1e-3)
    leading = -0.5e6 - 0.5 * math.log(2 * math.pi) - 2 * math.log(1e3)  # log(phi(z) / z^2), next term -3 / z^2
    assert value[0] - leading == pytest.approx(-3e-6, rel=1e-3)
    assert np.isfinite(log_h(np.array([-1e10]))[0]).all()


def test_log_h_is_continuous_across_its_branches() -> None:
    for edge in (-1.0, ASYMPTOTIC):
        below, above = log_h(np.array([edge - 1e-9, edge + 1e-9]))[0]
        assert above - below == pytest.approx(0.0, abs=1e-7)


# --------------------------------------------------------------------- the Gaussian process

CUBE = np.random.default_rng(5).random((12, 2))
CONTINUOUS = np.array([False, False])


def bowl(points: np.ndarray) -> np.ndarray:
    return ((points - 0.3) ** 2).sum(axis=1)


def test_posterior_interpolates_noise_free_data() -> None:
    """With a tiny noise the mean passes through the targets and the deviation nearly vanishes there."""
    model = GaussianProcess(CUBE, bowl(CUBE), CONTINUOUS, lengthscales=np.array([0.5, 0.5]), signal=1.0, noise=1e-8)
    mean, std = model.predict(CUBE)
    assert mean == pytest.approx(bowl(CUBE), abs=1e-5)
    assert std.max() < 1e-3
    assert model.predict(np.array([[0.99, 0.01]]))[1][0] > 0.05  # away from the data it is unsure


def test_fitted_model_predicts_a_smooth_function_between_its_points() -> None:
    inputs = np.random.default_rng(0).random((30, 2))
    targets = bowl(inputs)
    model = GaussianProcess.fit(inputs, (targets - targets.mean()) / targets.std(), CONTINUOUS,
                                np.random.default_rng(1))
    probe = np.random.default_rng(2).random((50, 2))
    mean, _ = model.predict(probe)
    assert np.abs(mean * targets.std() + targets.mean() - bowl(probe)).max() < 0.01
    assert model.noise < 1e-3


def test_hyperparameter_gradient_matches_finite_differences() -> None:
    inputs = np.random.default_rng(3).random((15, 3))
    categorical = np.array([False, False, True])
    inputs[:, 2] = np.floor(inputs[:, 2] * 3)
    targets = np.sin(4 * inputs[:, 0]) + inputs[:, 2]
    squared = squared_differences(inputs, inputs, categorical)
    theta = np.array([[-0.5, 0.2, 0.1, 0.3, -3.0]])
    _, gradient = _log_posterior(theta, squared, targets, 1.0)
    for j in range(theta.shape[1]):
        step = np.zeros_like(theta)
        step[0, j] = 1e-6
        numeric = (_log_posterior(theta + step, squared, targets, 1.0)[0]
                   - _log_posterior(theta - step, squared, targets, 1.0)[0]) / 2e-6
        assert gradient[0, j] == pytest.approx(numeric[0], rel=1e-5, abs=1e-6)


def test_a_singular_start_does_not_spoil_the_others() -> None:
    """Three copies of a point and no noise: that row's covariance is singular; it gets -inf, the other its value."""
    inputs = np.array([[0.2], [0.2], [0.2], [0.7]])
    squared = squared_differences(inputs, inputs, np.array([False]))
    targets = np.array([0.0, 1.0, -1.0, 0.5])
    values, gradients = _log_posterior(np.array([[0.0, 0.0, -80.0], [0.0, 0.0, -3.0]]), squared, targets, 1.0)
    alone, alone_gradient = _log_posterior(np.array([[0.0, 0.0, -3.0]]), squared, targets, 1.0)
    assert values[0] == -np.inf and values[1] == pytest.approx(alone[0])
    assert gradients[1] == pytest.approx(alone_gradient[0])


def test_log_ei_gradient_matches_finite_differences() -> None:
    """The chain through mean, deviation and log h, at points near and far from the data."""
    model = GaussianProcess(CUBE, bowl(CUBE), CONTINUOUS, lengthscales=np.array([0.3, 0.6]), signal=1.0, noise=1e-4)
    points = np.array([[0.31, 0.29], [0.9, 0.1], [0.5, 0.5]])
    best = float(bowl(CUBE).min())
    _, gradient = log_expected_improvement_gradient(*model.predict_with_gradient(points), best)
    for j in range(2):
        step = np.zeros_like(points)
        step[:, j] = 1e-6
        up = log_expected_improvement_gradient(*model.predict_with_gradient(points + step), best)[0]
        down = log_expected_improvement_gradient(*model.predict_with_gradient(points - step), best)[0]
        assert gradient[:, j] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-6)


def test_categorical_coordinates_compare_by_equality() -> None:
    """Choice 2 is as far from choice 0 as choice 1 is: Hamming, not the index difference."""
    points = np.array([[0.5, 0.0], [0.5, 1.0], [0.5, 2.0]])
    squared = squared_differences(points, points, np.array([False, True]))
    assert squared[0, 1, 1] == squared[0, 2, 1] == 1.0 and squared[0, 0, 1] == 0.0


def test_told_points_pull_the_mean_to_their_value_and_shrink_the_variance_there() -> None:
    """What a running trial does to the model: certain there, as low or high as the lie, unchanged far away."""
    model = GaussianProcess(CUBE, bowl(CUBE), CONTINUOUS, lengthscales=np.array([0.1, 0.1]), signal=1.0, noise=1e-6)
    running = np.array([[0.8, 0.8], [0.1, 0.9]])
    told_model = model.told(running, np.array([0.25, 0.25]))
    probe = np.vstack([running, CUBE[:3]])
    mean, std = model.predict(probe)
    mean_after, std_after = told_model.predict(probe)
    assert mean_after[:2] == pytest.approx([0.25, 0.25], abs=1e-3)
    assert (std_after[:2] < 1e-3).all() and (std[:2] > 0.1).all()
    assert mean_after[2:] == pytest.approx(mean[2:], abs=1e-3)


def test_projected_gradient_solves_boxed_problems_row_by_row() -> None:
    """min |x - c|^2 in [0, 1]^2 with c outside the box in row 0; row 1 keeps its second coordinate fixed."""
    centres = np.array([[1.5, 0.25], [0.4, 0.6]])

    def fun(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return ((x - centres) ** 2).sum(axis=1), 2 * (x - centres)

    start = np.array([[0.1, 0.9], [0.9, 0.2]])
    lower = np.array([[0.0, 0.0], [0.0, 0.2]])
    upper = np.array([[1.0, 1.0], [1.0, 0.2]])
    x, values = minimize_rows(fun, start, lower, upper, iterations=30, first_move=0.1)
    assert x == pytest.approx(np.array([[1.0, 0.25], [0.4, 0.2]]), abs=1e-6)
    assert values == pytest.approx([0.25, 0.16], abs=1e-6)


# --------------------------------------------------------------------- what the model is fed


def test_warp_keeps_the_better_half_and_compresses_the_worse() -> None:
    losses = np.array([0.0, 1.0, 2.0, 3.0, 1e6])
    warped = warp(losses)
    assert list(warped[:3]) == [-1.0, -0.5, 0.0]  # (loss - median) / (median - best)
    assert warped[3] == pytest.approx(math.log1p(0.5))
    assert warped[4] < 14  # a diverged run ends up a few units above, not a million
    assert (np.diff(warped) > 0).all()


def test_mid_ranks_share_ties() -> None:
    assert list(mid_ranks(np.array([3.0, 1.0, 3.0, 0.5]))) == [2.5, 1.0, 2.5, 0.0]


def test_targets_put_infeasible_then_failed_trials_above_every_feasible_one() -> None:
    history = [told(0, {"x": 0.1}, 5.0), told(1, {"x": 0.2}, 1.0),
               told(2, {"x": 0.3}, 0.0, constraints={"c": 2.0}), told(3, {"x": 0.4}, 0.0, constraints={"c": 0.5}),
               told(4, {"x": 0.5}, 9.0), told(5, {"x": 0.6}, state=FAILED), told(6, {"x": 0.7}, state=PRUNED)]
    targets = gp().targets(history)
    feasible_order = [1, 0, 4]
    assert list(np.argsort(targets[feasible_order])) == [0, 1, 2]
    assert targets[feasible_order].max() < targets[3] < targets[2]  # less violation looks better
    assert targets[5] == targets[6] == targets.max()
    assert targets.mean() == pytest.approx(0.0) and targets.std() == pytest.approx(1.0)


def test_start_up_is_the_random_sampler() -> None:
    """Before ``n_startup`` complete trials the suggestion is exactly the random sampler's."""
    space = Space.from_shorthands(["x=0.0..1.0", "opt=a,b"])
    history = [told(n, {"x": 0.1 * n, "opt": "a"}, 0.1 * n) for n in range(4)] + \
              [told(4, {"x": 0.9, "opt": "b"}, state=FAILED)]
    random = make_sampler("random", {}, 7, LOSS)
    for seed in range(5):
        assert gp({"n_startup": 5}, 7).suggest(space, history, [], seed) == random.suggest(space, [], [], seed)
    assert gp({"n_startup": 4}, 7).suggest(space, history, [], 0) != random.suggest(space, [], [], 0)


def test_best_and_newest_keeps_the_lowest_half_and_the_newest() -> None:
    keys = [5, 0, 9, 1, 8, 7, 2, 6]
    assert best_and_newest(keys, 8) == list(range(8))
    assert best_and_newest(keys, 4) == [1, 3, 6, 7]  # keys 0 and 1, then the newest two not already in
    assert best_and_newest(keys, 5) == [1, 3, 5, 6, 7]


def test_the_model_sees_at_most_max_points_finished_trials(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 1,000 trials the model holds 200 finished and the 8 running trials; 100 fit the hyperparameters."""
    sizes: list[tuple[int, int]] = []
    original_fit, original_told = GaussianProcess.fit.__func__, GaussianProcess.told

    def spy_fit(cls, inputs, targets, categorical, rng, rows):
        sizes.append((len(inputs), len(rows)))
        return original_fit(cls, inputs, targets, categorical, rng, rows)

    def spy_told(self, points, values):
        sizes.append((len(self.inputs), len(points)))
        return original_told(self, points, values)

    monkeypatch.setattr(GaussianProcess, "fit", classmethod(spy_fit))
    monkeypatch.setattr(GaussianProcess, "told", spy_told)
    space = Space.from_shorthands(["x=0.0..1.0"])
    history = [told(n, {"x": (n % 997) / 997}, float((n * 389) % 1000)) for n in range(1000)]
    running = [TrialRecord(1000 + k, {"x": 0.05 * k}, ASKED_AT) for k in range(8)]
    sampler = gp()
    chosen = {t.number for t in sampler.modelled(history)}
    best_hundred = {t.number for t in sorted(history, key=lambda t: t.values["loss"])[:100]}
    assert len(chosen) == 200 and best_hundred <= chosen
    assert chosen - best_hundred == set(sorted({t.number for t in history} - best_hundred)[-100:])
    sampler.suggest(space, history, running, 0)
    assert sizes == [(200, 100), (200, 8)]


# --------------------------------------------------------------------- pending awareness


@pytest.mark.parametrize("shorthands", SPREAD_SPACES)
def test_eight_pending_asks_spread_out(shorthands: list[str]) -> None:
    """The common criterion: median over 5 seeds >= 0.5 x the same figure for the random sampler."""
    space = Space.from_shorthands(shorthands)
    spread, reference = pending_spread("gp", {}, LOSS, space, distance_to_point_three(space))
    print(f"\n{shorthands}: gp {spread:.3f}, random {reference:.3f}, ratio {spread / reference:.2f}")
    assert spread >= 0.5 * reference


def test_pending_asks_on_a_small_grid_are_distinct() -> None:
    """9 cells, 20 finished trials, 8 asks in a row: no running or finished cell is handed out again."""
    assert [cells_of_pending_asks_on_a_small_grid("gp", seed) for seed in range(3)] == [8] * 3


# --------------------------------------------------------------------- optimisation


SQUARE = Space.from_shorthands(["x=-1.0..1.0", "y=-1.0..1.0"])


def test_finds_the_minimum_of_a_quadratic_within_30_trials() -> None:
    """(x-0.3)^2+(y+0.2)^2 on [-1,1]^2, 30 trials (10 random): best < 1e-4 for each of 5 seeds.

    Random search reaches about 0.03 (median) with this budget; the GP about 1e-6.
    """
    found = [best(optimise_in_batches(gp({}, seed), SQUARE, quadratic, 30, seed)) for seed in range(5)]
    blind = [best(optimise_in_batches(make_sampler("random", {}, seed, LOSS), SQUARE, quadratic, 30, seed))
             for seed in range(5)]
    print(f"\ngp {found}, random {blind}")
    assert max(found) < 1e-4
    assert statistics.median(found) < statistics.median(blind) / 100


def test_batches_of_eight_still_find_the_quadratic() -> None:
    """The same problem asked 8 at a time (each ask sees the others running), 40 trials: best < 1e-3."""
    found = [best(optimise_in_batches(gp({}, seed), SQUARE, quadratic, 40, seed, batch=8)) for seed in range(3)]
    print(f"\ngp, batches of 8: {found}")
    assert max(found) < 1e-3


def test_finds_the_right_category_and_value() -> None:
    """opt in {a, b, c} (only b reaches 0) and x in [0, 1], 25 trials: best < 1e-3 for each of 5 seeds."""
    space = Space.from_shorthands(["opt=a,b,c", "x=0.0..1.0"])
    for seed in range(5):
        history = optimise_in_batches(gp({}, seed), space, mixed, 25, seed)
        assert best(history) < 1e-3
        assert sum(t.params["opt"] == "b" for t in history[15:]) >= 8  # the model settles on b (random: 1/3)


def test_conditional_problem_is_optimised() -> None:
    """The best branch has its own parameter: opt == sgd with momentum near 0.9, 40 trials, best < 0.01."""
    space = Space.from_shorthands(["opt=adam,sgd", "momentum=0.0..1.0 if opt == sgd", "x=0.0..1.0"])
    for seed in range(3):
        assert best(optimise_in_batches(gp({}, seed), space, conditional, 40, seed)) < 0.01


def test_constrained_study_converges_to_the_feasible_boundary() -> None:
    """Minimize x subject to x >= 0.6 (constraint 0.6 - x <= 0), 30 trials: the best feasible x < 0.61.

    Infeasible trials rank above every feasible one, so the model sees a cliff
    at the boundary and approaches it in steps (0.62 to 0.635 after 25 trials
    for some seeds, 0.6003 to 0.6011 after 40).
    """
    space = Space.from_shorthands(["x=0.0..1.0"])
    for seed in range(3):
        sampler = gp({}, seed)
        history: list[TrialRecord] = []
        for number in range(30):
            x = sampler.suggest(space, history, [], derive_seed(seed, number))["x"]
            history.append(told(number, {"x": x}, x, constraints={"c": 0.6 - x}))
        assert min(t.params["x"] for t in history if t.params["x"] >= 0.6) < 0.61


# --------------------------------------------------------------------- end to end


def test_cli_ask_tell_loop(tmp_path: Path) -> None:
    """create --sampler gp, then 12 rounds of ask, result.yaml and tell through the command."""
    study = tmp_path / "s"
    created = run_asktell("create", study, "-p", "x=-1..1", "-p", "y=-1..1", "--minimize", "loss", "--sampler", "gp",
                          "--sampler-option", "n_startup=4", "--seed", "3")
    assert created.returncode == 0, created.stderr
    trials = cli_loop(study, 12, lambda params: ({"loss": quadratic(params)}, None))
    assert [t["state"] for t in trials] == ["complete"] * 12
    assert all(-1 <= t["params"][name] <= 1 for t in trials for name in ("x", "y"))
