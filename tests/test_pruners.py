"""Pruners as pure functions: hand-computed cases, their guards, the signed-rank test, and Optuna's decisions.

Every case builds trial records by hand (``record``) and asks a pruner
directly; the CLI and the study around it are tested in test_pruning.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asktell.config import Objective
from asktell.errors import InvalidInput
from asktell.pruners import PRUNERS, make_pruner
from asktell.pruners.base import judged_at
from asktell.pruners.percentile import percentile
from asktell.pruners.signed_rank import EXACT_MAX_N, signed_rank_greater
from asktell.pruners.successive_halving import rung_value
from asktell.trial import COMPLETE, FAILED, PRUNED, RUNNING, TrialRecord
from tests.support.files import SCHEMAS

LOSS = (Objective("loss", "minimize"),)
ACC = (Objective("acc", "maximize"),)


def record(number: int, curve=None, state: str = RUNNING, final: float | None = None,
           metric: str = "loss") -> TrialRecord:
    """A trial that reported ``curve`` (a list: steps 0, 1, ...; or a dict step -> value) under ``metric``."""
    steps = dict(enumerate(curve)) if isinstance(curve, list) else dict(curve or {})
    return TrialRecord(number=number, params={}, asked_at="2026-01-01T00:00:00.000Z", state=state,
                       values={metric: final} if final is not None else None,
                       intermediate={metric: steps} if steps else None)


def complete(number: int, curve, metric: str = "loss") -> TrialRecord:
    steps = dict(enumerate(curve)) if isinstance(curve, list) else dict(curve)
    return record(number, steps, COMPLETE, steps[max(steps)], metric)


# ---------------------------------------------------------------------- median and percentile


#: Five complete trials; their values at step 3 are 0.5, 0.3, 0.9, 0.4, 0.7: the median is 0.5.
FIVE = [complete(n, [1.0, 0.9, 0.8, at_3, at_3]) for n, at_3 in enumerate([0.5, 0.3, 0.9, 0.4, 0.7])]


def test_median_with_five_complete_trials_at_step_3():
    median = make_pruner("median", {}, LOSS)
    worse = record(5, [1.0, 0.8, 0.6, 0.55])
    assert median.prune(FIVE, worse) == "median: 0.55 worse than 0.5 at step 3"
    # The trial's best value over its steps counts, not its latest one.
    dipped = record(5, [1.0, 0.8, 0.45, 0.52])
    assert median.prune(FIVE, dipped) is None
    assert median.prune(FIVE, record(5, [1.0, 0.8, 0.6, 0.5])) is None  # equal to the median: not worse


def test_median_counts_only_complete_trials_and_waits_for_n_startup_trials():
    median = make_pruner("median", {"n_startup_trials": 5}, LOSS)
    worse = record(9, [1.0, 0.8, 0.6, 0.55])
    others = [*FIVE[:4], record(4, [0.1, 0.1, 0.1, 0.1]), record(5, [0.1] * 4, PRUNED, 0.1),
              record(6, [0.1] * 4, FAILED)]
    assert median.prune(others, worse) is None  # 4 complete trials < n_startup_trials
    # the complete ones' values at step 3 are 0.5, 0.3, 0.9, 0.4: median 0.45; with one more it judges
    assert median.prune([*others, FIVE[4]], worse) == "median: 0.55 worse than 0.5 at step 3"
    assert make_pruner("median", {"n_startup_trials": 4}, LOSS).prune(others, worse) == \
        "median: 0.55 worse than 0.45 at step 3"


def test_median_on_a_maximized_objective_prunes_the_lower_values():
    trials = [complete(n, {3: acc}, "acc") for n, acc in enumerate([0.5, 0.3, 0.9, 0.4, 0.7])]
    median = make_pruner("median", {}, ACC)
    assert median.prune(trials, record(5, {2: 0.2, 3: 0.45}, metric="acc")) == "median: 0.45 worse than 0.5 at step 3"
    assert median.prune(trials, record(5, {2: 0.6, 3: 0.45}, metric="acc")) is None  # best so far 0.6


def test_percentile_25_keeps_the_best_quarter():
    values = [0.1, 0.2, 0.3, 0.4, 0.5]
    trials = [complete(n, {3: v}) for n, v in enumerate(values)]
    quarter = make_pruner("percentile", {"percentile": 25}, LOSS)
    assert quarter.prune(trials, record(5, {3: 0.25})) == "percentile 25: 0.25 worse than 0.2 at step 3"
    assert quarter.prune(trials, record(5, {3: 0.2})) is None
    # four values: position 0.75 between 0.1 and 0.2
    assert quarter.prune(trials[:4], record(5, {3: 0.18})) is None
    assert make_pruner("percentile", {"percentile": 25, "n_startup_trials": 4}, LOSS).prune(
        trials[:4], record(5, {3: 0.18})) == "percentile 25: 0.18 worse than 0.175 at step 3"
    # maximized: the best quarter is above the 75th percentile of the values (0.4)
    accs = [complete(n, {3: v}, "acc") for n, v in enumerate(values)]
    top = make_pruner("percentile", {"percentile": 25}, ACC)
    assert top.prune(accs, record(5, {3: 0.35}, metric="acc")) == "percentile 25: 0.35 worse than 0.4 at step 3"
    assert top.prune(accs, record(5, {3: 0.45}, metric="acc")) is None


@pytest.mark.parametrize("q", [0, 10, 25, 33.3, 50, 90, 100])
@pytest.mark.parametrize("values", [[3.0], [1.0, 2.0], [0.4, 0.1, 0.9, 0.3], [5.0, -1.0, 2.5, 2.5, 7.0, 0.0]])
def test_percentile_interpolates_as_numpy(values, q):
    numpy = pytest.importorskip("numpy")
    assert percentile(values, q) == pytest.approx(float(numpy.percentile(values, q)), abs=1e-12)


def test_n_min_trials_needs_that_many_values_at_the_step():
    trials = [complete(0, {3: 0.1}), complete(1, {3: 0.2}), complete(2, {2: 0.1, 4: 0.1})]
    at_least_3 = make_pruner("median", {"n_startup_trials": 0, "n_min_trials": 3}, LOSS)
    assert at_least_3.prune(trials, record(3, {3: 0.9})) is None  # two complete trials reported step 3
    assert make_pruner("median", {"n_startup_trials": 0, "n_min_trials": 2}, LOSS).prune(
        trials, record(3, {3: 0.9})) is not None


@pytest.mark.parametrize(("steps", "warmup", "interval", "judged"), [
    ([0, 1], 2, 1, False),          # before the warm-up
    ([0, 1, 2], 2, 1, True),        # the warm-up step itself is the first judged
    ([0, 1, 2, 3], 2, 3, False),    # judged at 2, 5, 8, ...
    ([0, 1, 2, 3, 4, 5], 2, 3, True),
    ([0, 1, 3], 2, 3, True),        # step 2 was skipped: judged at the first report after it
    ([0, 1, 3, 4], 2, 3, False),    # ... and only there
    ([6], 2, 3, True),              # a first report past a boundary
    ([2, 5, 4], 2, 3, True),        # report order does not matter: the latest step is 5
])
def test_judged_at_warmup_and_interval_steps(steps, warmup, interval, judged):
    assert judged_at(max(steps), steps, warmup, interval) is judged


# ---------------------------------------------------------------------- successive halving and hyperband


def test_rung_value_is_the_value_at_the_first_step_at_or_past_the_rung():
    assert rung_value({0: 0.9, 3: 0.5, 5: 0.4}, 2) == 0.5
    assert rung_value({0: 0.9, 3: 0.5}, 3) == 0.5
    assert rung_value({0: 0.9, 1: 0.5}, 2) is None


def test_successive_halving_keeps_the_best_half_at_each_rung():
    """Rungs at steps 1, 2, 4, 8 (min_resource 1, reduction_factor 2)."""
    sha = make_pruner("successive_halving", {"reduction_factor": 2}, LOSS)
    others = [record(0, [0.9, 0.2, 0.2], COMPLETE, 0.2), record(1, [0.9, 0.4]), record(2, {0: 0.9, 3: 0.6})]
    # at rung 0 (step 1) the values are 0.2, 0.4, 0.6 (trial 2 got there at step 3) and this trial's 0.5:
    # the best 4 // 2 = 2 go on, the cut is 0.4
    assert sha.prune(others, record(3, [0.9, 0.5])) == \
        "successive halving: 0.5 not among the best 2 of 4 at rung 0 (step 1; the cut is 0.4)"
    assert sha.prune(others, record(3, [0.9, 0.3])) is None
    # judged only at the report that reaches a rung: step 3 is past rung 1 (step 2) and short of rung 2 (step 4)
    assert sha.prune(others, record(3, [0.9, 0.3, 0.3, 0.99])) is None
    # at rung 1 (step 2) the values are 0.2 (trial 0) and 0.6 (trial 2, at step 3): 0.5 is not the best of 3
    assert sha.prune(others, record(3, [0.9, 0.3, 0.5])) == \
        "successive halving: 0.5 not among the best 1 of 3 at rung 1 (step 2; the cut is 0.2)"


def test_successive_halving_judges_each_rung_a_report_jumps_over():
    sha = make_pruner("successive_halving", {"reduction_factor": 2}, LOSS)
    others = [record(0, [0.9, 0.8, 0.1]), record(1, [0.9, 0.7, 0.7])]
    # from step 0 to step 2 with 0.5: rung 0 keeps it (0.5 best of 0.8, 0.7, 0.5), rung 1 does not (0.1, 0.7, 0.5)
    assert sha.prune(others, record(2, {0: 0.9, 2: 0.5})) == \
        "successive halving: 0.5 not among the best 1 of 3 at rung 1 (step 2; the cut is 0.1)"


def test_successive_halving_waits_for_its_first_rung_and_for_company():
    late = make_pruner("successive_halving", {"reduction_factor": 2, "min_early_stopping_rate": 1}, LOSS)
    others = [record(0, [0.1, 0.1, 0.1])]
    assert late.prune(others, record(1, [0.9, 0.9])) is None  # first rung at step 2
    assert late.prune(others, record(1, [0.9, 0.9, 0.9])) is not None
    alone = make_pruner("successive_halving", {"reduction_factor": 2}, LOSS)
    assert alone.prune([record(0, [0.1])], record(1, [0.9, 0.9, 0.9, 0.9, 0.9])) is None  # nobody got to step 1
    bootstrap = make_pruner("successive_halving", {"reduction_factor": 2, "bootstrap_count": 3}, LOSS)
    two = [record(0, [0.1, 0.1]), record(1, [0.2, 0.2])]
    assert bootstrap.prune(two, record(2, [0.9, 0.9])) is None
    assert bootstrap.prune([*two, record(3, [0.3, 0.3])], record(2, [0.9, 0.9])) is not None


def test_hyperband_brackets_are_fixed_by_the_trial_number():
    """min 1, max 27, eta 3: four brackets with Hyperband's budgets ceil(4 * 3^s / (s + 1)), s = 3..0."""
    hyperband = make_pruner("hyperband", {"max_resource": 27}, LOSS)
    assert hyperband.budgets == [27, 12, 6, 4]
    # CRC-32 of "0".."15" modulo 49: 18 2 7 20 15 41 44 11 36 7 41 16 15 23 10 5
    expected = [0, 0, 0, 0, 0, 2, 2, 0, 1, 0, 2, 0, 0, 0, 0, 0]
    assert [hyperband.bracket(n) for n in range(16)] == expected
    shares = [0] * 4
    for n in range(49_000):
        shares[hyperband.bracket(n)] += 1
    assert [round(s / 1000) for s in shares] == [27, 12, 6, 4]
    code = ("from asktell.pruners import make_pruner; import json; "
            "print(json.dumps([make_pruner('hyperband', {'max_resource': 27}).bracket(n) for n in range(16)]))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(other.stdout) == expected


def test_hyperband_trials_compete_only_within_their_bracket():
    hyperband = make_pruner("hyperband", {"max_resource": 27}, LOSS)
    bracket_0 = [n for n in range(16) if hyperband.bracket(n) == 0]
    bracket_2 = [n for n in range(16) if hyperband.bracket(n) == 2]
    # bracket 0 judges first at step 1 (rate 0), bracket 2 at step 9 (rate 2)
    good = [record(n, [0.1] * 10) for n in bracket_0[:3]]
    assert hyperband.prune(good, record(bracket_0[3], [0.9, 0.9])) == \
        "hyperband bracket 0: 0.9 not among the best 1 of 4 at rung 0 (step 1; the cut is 0.1)"
    assert hyperband.prune(good, record(bracket_2[0], [0.9] * 10)) is None  # nobody of bracket 2 got to step 9
    assert hyperband.brackets[2].rung_step(0) == 9


# ---------------------------------------------------------------------- threshold and patient


def test_threshold_bounds_the_reported_values_whatever_the_direction():
    upper = make_pruner("threshold", {"upper": 1.0, "n_warmup_steps": 2}, LOSS)
    assert upper.prune([], record(0, [0.5, 1.5])) is None  # warm-up
    assert upper.prune([], record(0, [0.5, 0.5, 1.2])) == "threshold: 1.2 above the upper bound 1 at step 2"
    assert upper.prune([], record(0, [0.5, 0.5, 1.0])) is None
    lower = make_pruner("threshold", {"lower": 0.2}, ACC)
    assert lower.prune([], record(0, [0.3, 0.1], metric="acc")) == "threshold: 0.1 below the lower bound 0.2 at step 1"
    assert lower.prune([], record(0, [0.1, 0.3], metric="acc")) is None  # the latest value counts


def test_patient_prunes_a_trial_that_stopped_improving():
    patient = make_pruner("patient", {"patience": 2}, LOSS)
    # the last 3 steps reach 0.71 at best, the steps before them 0.7
    stalled = record(0, [1.0, 0.8, 0.7, 0.75, 0.72, 0.71])
    assert patient.prune([], stalled) == "patient: the last 3 steps reached 0.71 at best, worse than 0.7 before them"
    assert patient.prune([], record(0, [1.0, 0.8, 0.7, 0.75, 0.72, 0.69])) is None  # still improving
    assert patient.prune([], record(0, [1.0, 0.75, 0.72])) is None  # needs more than patience + 1 steps
    assert make_pruner("patient", {"patience": 2, "min_delta": 0.02}, LOSS).prune([], stalled) is None
    accuracy = make_pruner("patient", {"patience": 1}, ACC)
    assert accuracy.prune([], record(0, [0.5, 0.8, 0.7, 0.75], metric="acc")) is not None


def test_patient_asks_the_wrapped_pruner_once_patience_runs_out():
    patient = make_pruner("patient", {"patience": 1, "wrapped": "median", "n_startup_trials": 1}, LOSS)
    trials = [complete(0, [0.5, 0.5, 0.5, 0.5])]
    assert patient.prune(trials, record(1, [0.9, 0.6, 0.7, 0.65])) == \
        "patient: the last 2 steps reached 0.65 at best, worse than 0.6 before them; median: 0.6 worse than 0.5 at step 3"
    assert patient.prune(trials, record(1, [0.9, 0.4, 0.7, 0.65])) is None  # stalled, but better than the median
    assert patient.prune(trials, record(1, [0.9, 0.8, 0.7, 0.6])) is None  # improving


# ---------------------------------------------------------------------- wilcoxon


def test_wilcoxon_prunes_a_trial_worse_than_the_best_on_the_shared_steps():
    best = complete(0, [0.3, 0.5, 0.2, 0.6, 0.4, 0.1, 0.5, 0.3])
    other = complete(1, [0.9] * 8)
    wilcoxon = make_pruner("wilcoxon", {}, LOSS)
    # worse at each of 6 shared steps: exact p = 1/64 (every difference positive)
    worse = record(2, {s: v + 0.1 for s, v in best.intermediate["loss"].items() if s < 6})
    assert wilcoxon.prune([best, other], worse) == "wilcoxon: worse than trial 0 over 6 shared steps (p = 0.0156 < 0.1)"
    assert wilcoxon.prune([best, other], record(2, {s: worse.intermediate["loss"][s] for s in range(3)})) is None  # 1/8
    assert make_pruner("wilcoxon", {"n_startup_steps": 7}, LOSS).prune([best, other], worse) is None
    assert make_pruner("wilcoxon", {"p_threshold": 0.01}, LOSS).prune([best, other], worse) is None


def test_wilcoxon_spares_a_trial_as_good_as_the_best_on_average():
    """Worse on the steps both ran, but the best trial's own mean is no better: the instances differ."""
    best = complete(0, {0: 0.1, 1: 0.1, 2: 0.1, 3: 0.1, 4: 0.1, 5: 0.1, 6: 2.0, 7: 2.0})
    trial = record(1, {0: 0.2, 1: 0.2, 2: 0.2, 3: 0.2, 4: 0.2, 5: 0.2, 8: 0.1, 9: 0.1})
    assert make_pruner("wilcoxon", {}, LOSS).prune([best], trial) is None  # mean 0.175 against 0.575
    hard = record(1, {**trial.intermediate["loss"], 8: 3.0, 9: 3.0})  # mean 0.9: no longer spared
    assert make_pruner("wilcoxon", {}, LOSS).prune([best], hard) is not None


def _differences(n: int, kind: str, seed: int) -> list[float]:
    import random

    rng = random.Random(seed * 1000 + n)
    if kind == "continuous":
        return [rng.gauss(0.3, 1.0) for _ in range(n)]
    if kind == "ties-and-zeros":
        return [float(rng.choice([-2, -1, 0, 1, 2, 3])) for _ in range(n)]
    return [round(rng.gauss(0.2, 1.0), 1) for _ in range(n)]  # rounded: some ties


@pytest.mark.parametrize("kind", ["continuous", "ties-and-zeros", "rounded"])
@pytest.mark.parametrize("n", [2, 3, 5, 8, 10, 13, 20, 21, 30, 60])
def test_signed_rank_p_values_match_scipy(n, kind):
    """Exactly scipy's test: ``exact`` without ties, the exhaustive permutation test with them, else asymptotic."""
    numpy = pytest.importorskip("numpy")
    stats = pytest.importorskip("scipy.stats")
    for seed in range(4):
        d = _differences(n, kind, seed)
        if not any(d):
            continue
        ties = len({abs(x) for x in d}) < n or 0 in d
        if n > EXACT_MAX_N:
            method = "asymptotic"
        elif not ties:
            method = "exact"
        elif n <= 10:
            method = stats.PermutationMethod(n_resamples=numpy.inf)
        else:
            continue  # scipy's permutation test takes seconds here; see the enumeration below
        expected = stats.wilcoxon(numpy.array(d), alternative="greater", zero_method="zsplit", method=method)
        statistic, p = signed_rank_greater(d)
        assert statistic == pytest.approx(float(expected.statistic), abs=1e-9)
        assert p == pytest.approx(float(expected.pvalue), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("n", [11, 13])
def test_signed_rank_exact_p_with_ties_counts_every_sign_pattern(n):
    """With ties and zeros the exact p-value is the share of the 2^n sign patterns reaching T+."""
    from itertools import product

    d = _differences(n, "ties-and-zeros", 7)
    observed, p = signed_rank_greater(d)
    reached = sum(signed_rank_greater([s * abs(x) for s, x in zip(signs, d)])[0] >= observed
                  for signs in product((1, -1), repeat=n))
    assert p == reached / 2 ** n


def test_signed_rank_exact_counts_by_hand():
    # n = 3, all positive: T+ = 6, only 1 of the 8 sign patterns reaches it
    assert signed_rank_greater([0.1, 0.2, 0.3]) == (6.0, 1 / 8)
    # ranks 1, 2, 3 with signs -, +, +: T+ = 5; T+ >= 5 for {2,3} and {1,2,3}: 2 of 8
    assert signed_rank_greater([-0.1, 0.2, 0.3]) == (5.0, 2 / 8)
    # a zero takes rank 1 and gives half of it to T+: T+ = 0.5 + 2 + 3; the signs of 2 and 3 decide: 1 of 4
    assert signed_rank_greater([0.0, 0.2, 0.3]) == (5.5, 1 / 4)


# ---------------------------------------------------------------------- options


@pytest.mark.parametrize(("name", "options", "objectives", "field"), [
    ("bogus", {}, LOSS, "pruner.name"),
    ("median", {"n_warmup_step": 3}, LOSS, "pruner.options.n_warmup_step"),
    ("median", {"percentile": 30}, LOSS, "pruner.options.percentile"),
    ("median", {"n_startup_trials": -1}, LOSS, "pruner.options.n_startup_trials"),
    ("median", {"interval_steps": 0}, LOSS, "pruner.options.interval_steps"),
    ("median", {"n_warmup_steps": 1.5}, LOSS, "pruner.options.n_warmup_steps"),
    ("median", {}, (*LOSS, *ACC), "pruner.options.metric"),
    ("median", {"metric": "nope"}, (*LOSS, *ACC), "pruner.options.metric"),
    ("percentile", {}, LOSS, "pruner.options.percentile"),
    ("percentile", {"percentile": 101}, LOSS, "pruner.options.percentile"),
    ("successive_halving", {"reduction_factor": 1}, LOSS, "pruner.options.reduction_factor"),
    ("successive_halving", {"min_resource": "auto"}, LOSS, "pruner.options.min_resource"),
    ("hyperband", {}, LOSS, "pruner.options.max_resource"),
    ("hyperband", {"max_resource": 3, "min_resource": 4}, LOSS, "pruner.options.max_resource"),
    ("threshold", {}, LOSS, "pruner.options.upper"),
    ("threshold", {"lower": 2, "upper": 1}, LOSS, "pruner.options.lower"),
    ("threshold", {"upper": "high"}, LOSS, "pruner.options.upper"),
    ("patient", {}, LOSS, "pruner.options.patience"),
    ("patient", {"patience": 2, "min_delta": -1}, LOSS, "pruner.options.min_delta"),
    ("patient", {"patience": 2, "wrapped": "patient"}, LOSS, "pruner.options.wrapped"),
    ("patient", {"patience": 2, "wrapped": "nope"}, LOSS, "pruner.options.wrapped"),
    ("patient", {"patience": 2, "n_warmup_steps": 3}, LOSS, "pruner.options.n_warmup_steps"),  # no wrapped pruner
    ("patient", {"patience": 2, "wrapped": "median", "n_warmup_stepz": 3}, LOSS, "pruner.options.n_warmup_stepz"),
    ("wilcoxon", {"p_threshold": 1.5}, LOSS, "pruner.options.p_threshold"),
])
def test_bad_options_name_the_field(name, options, objectives, field):
    with pytest.raises(InvalidInput) as error:
        make_pruner(name, options, objectives)
    assert error.value.field == field


def test_the_metric_option_picks_the_objective_to_watch():
    both = (*LOSS, *ACC)
    assert make_pruner("median", {"metric": "acc"}, both).objective == ACC[0]
    assert make_pruner("nop", {}, both).objective is None  # nop compares nothing: no metric needed
    patient = make_pruner("patient", {"patience": 1, "wrapped": "median", "metric": "acc"}, both)
    assert patient.objective == patient.wrapped.objective == ACC[0]


def test_the_schema_lists_every_pruner():
    schema = json.loads((SCHEMAS / "study.schema.json").read_text())
    assert schema["properties"]["pruner"]["properties"]["name"]["enum"] == list(PRUNERS)


# ---------------------------------------------------------------------- guards (property)


#: name, options, and when a trial is protected: (its reported steps, how many other trials) -> never pruned.
GUARDED = [
    ("nop", {}, lambda steps, others: True),
    ("median", {"n_startup_trials": 3, "n_warmup_steps": 4}, lambda steps, others: max(steps) < 4 or others < 3),
    ("percentile", {"percentile": 10, "n_startup_trials": 2, "n_warmup_steps": 3, "n_min_trials": 4},
     lambda steps, others: max(steps) < 3 or others < 4),
    # first rung at 2 * 3^1 = 6; a rung judges no one before 2 others reached it
    ("successive_halving", {"min_resource": 2, "reduction_factor": 3, "min_early_stopping_rate": 1,
                            "bootstrap_count": 2}, lambda steps, others: max(steps) < 6 or others < 2),
    ("hyperband", {"min_resource": 2, "max_resource": 18, "reduction_factor": 3},
     lambda steps, others: max(steps) < 2 or others < 1),
    ("threshold", {"upper": 0.5, "n_warmup_steps": 5}, lambda steps, others: max(steps) < 5),
    ("patient", {"patience": 3}, lambda steps, others: len(steps) <= 4),
    ("patient", {"patience": 1, "wrapped": "median", "n_startup_trials": 3, "n_warmup_steps": 5},
     lambda steps, others: len(steps) <= 2 or max(steps) < 5 or others < 3),
    ("wilcoxon", {"n_startup_steps": 4}, lambda steps, others: len(steps) < 4 or others < 1),
]

curves = st.dictionaries(st.integers(0, 12), st.floats(0, 1), min_size=1, max_size=10)
studies = st.tuples(
    st.lists(st.tuples(st.sampled_from([RUNNING, COMPLETE, PRUNED, FAILED]), curves), max_size=6),
    curves,
)


@pytest.mark.parametrize(("name", "options", "protected"), GUARDED,
                         ids=[f"{g[0]}-{i}" for i, g in enumerate(GUARDED)])
@settings(max_examples=150, deadline=None)
@given(study=studies)
def test_no_pruner_prunes_in_its_warm_up_or_with_too_few_trials(name, options, protected, study):
    """Whatever the other trials reported, a trial in its warm-up, or with too few others, runs on."""
    pruner = make_pruner(name, options, LOSS)
    others = [record(n, curve, state, curve[max(curve)] if state == COMPLETE else None)
              for n, (state, curve) in enumerate(study[0])]
    this = record(len(others), study[1])
    reason = pruner.prune(others, this)
    if protected(set(study[1]), len(others)):
        assert reason is None


# ---------------------------------------------------------------------- against Optuna


def _optuna_pruner(optuna, name: str, options: dict, ours):
    p = optuna.pruners
    if name == "median":
        return p.MedianPruner(**options)
    if name == "percentile":
        return p.PercentilePruner(**options)
    if name == "successive_halving":
        return p.SuccessiveHalvingPruner(**options)
    if name == "hyperband":
        pruner = p.HyperbandPruner(**options)
        pruner._get_bracket_id = lambda study, trial: ours.bracket(trial.number)  # Optuna hashes the study name too
        return pruner
    if name == "threshold":
        return p.ThresholdPruner(**options)
    if name == "patient":
        wrapped = options.pop("wrapped")
        return p.PatientPruner(p.MedianPruner(**{k: options.pop(k) for k in list(options) if k.startswith("n_")})
                               if wrapped else None, **options)
    return p.WilcoxonPruner(**options)


AGAINST_OPTUNA = [
    ("median", {"n_startup_trials": 3, "n_warmup_steps": 2}),
    ("median", {"n_startup_trials": 2, "n_warmup_steps": 1, "interval_steps": 3}),
    ("percentile", {"percentile": 25.0, "n_startup_trials": 2, "n_min_trials": 2}),
    ("successive_halving", {"min_resource": 1, "reduction_factor": 2}),
    ("successive_halving", {"min_resource": 2, "reduction_factor": 3, "min_early_stopping_rate": 1}),
    ("hyperband", {"min_resource": 1, "max_resource": 12, "reduction_factor": 3}),
    ("threshold", {"upper": 0.9, "lower": 0.2, "n_warmup_steps": 1}),
    ("patient", {"patience": 2, "min_delta": 0.01, "wrapped": None}),
    ("patient", {"patience": 1, "wrapped": "median", "n_startup_trials": 2}),
    ("wilcoxon", {"p_threshold": 0.2}),
]


@pytest.mark.filterwarnings("ignore")  # Optuna's "experimental" notes and its Wilcoxon pruner's remarks
@pytest.mark.parametrize("direction", ["minimize", "maximize"])
@pytest.mark.parametrize(("name", "options"), AGAINST_OPTUNA, ids=[a[0] for a in AGAINST_OPTUNA])
def test_decisions_match_optunas_pruners(name, options, direction):
    """3 workers run 24 trials of 12 steps in turns; after every report both pruners judge the same journal.

    Optuna keeps what it decided (rungs) on the trials; asktell derives it again
    from the reported values at every call: the decisions must be the same.
    """
    import random

    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    objective = Objective("loss", direction)
    ours = make_pruner(name, {k: v for k, v in options.items() if v is not None}, (objective,))
    theirs = _optuna_pruner(optuna, name, dict(options), ours)
    study = optuna.create_study(direction=direction, pruner=theirs, sampler=optuna.samplers.RandomSampler(0))
    rng = random.Random(f"{name}{direction}")
    records: dict[int, TrialRecord] = {}
    running: list[tuple] = []
    decisions = {"pruned": 0, "complete": 0}
    while len(records) < 24 or running:
        while len(running) < 3 and len(records) < 24:
            trial = study.ask()
            level, slope = rng.random(), rng.uniform(0.2, 1.0)
            steps = list(range(12)) if name != "wilcoxon" else rng.sample(range(16), 12)
            curve = {s: level + objective.sign * slope / (i + 1) + rng.gauss(0, 0.03) for i, s in enumerate(steps)}
            records[trial.number] = record(trial.number)
            running.append((trial, iter(curve.items())))
        trial, steps = running.pop(0)
        mine = records[trial.number]
        step_value = next(steps, None)
        if step_value is None:  # ran every step
            final = mine.intermediate["loss"][max(mine.intermediate["loss"])]
            study.tell(trial, final)
            mine.state, mine.values = COMPLETE, {"loss": final}
            decisions["complete"] += 1
            continue
        step, value = step_value
        trial.report(value, step)
        mine.intermediate = mine.intermediate or {"loss": {}}
        mine.intermediate["loss"][step] = value
        theirs_says = trial.should_prune()
        ours_says = ours.prune(list(records.values()), mine)
        assert (ours_says is not None) == theirs_says, (trial.number, step, ours_says)
        if theirs_says:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            mine.state, mine.values = PRUNED, {"loss": value}
            decisions["pruned"] += 1
        else:
            running.append((trial, steps))
    if name not in ("wilcoxon", "threshold"):
        assert decisions["pruned"] > 0 and decisions["complete"] > 0, decisions  # the comparison was not vacuous
