"""Trials as unit-cube points: missing parameters, folding back in, distances and repeats."""

from __future__ import annotations

import itertools
import math

import pytest

from asktell.samplers.unitcube import decode, encode, nearest_distance, reflect, uniform, untaken
from asktell.space import Space
from asktell.trial import TrialRecord

SPACE = Space.from_shorthands(["opt=a,b", "m=0.0..1.0 if opt == a", "n=1..4"])


def test_a_missing_parameter_is_nan_and_round_trips() -> None:
    point = encode(SPACE, {"opt": "b", "n": 3})
    assert point[0] == 0.75 and math.isnan(point[1]) and point[2] == pytest.approx(0.625)
    assert decode(SPACE, point, lambda: 0.5) == {"opt": "b", "n": 3}


def test_decode_draws_a_parameter_the_point_activates_but_lacks() -> None:
    """opt = a activates m, which the point has no value for: it is drawn."""
    assert decode(SPACE, [0.25, math.nan, 0.9], lambda: 0.3) == {"opt": "a", "m": 0.3, "n": 4}
    assert uniform(SPACE, iter([0.1, 0.2, 0.0]).__next__) == {"opt": "a", "m": 0.2, "n": 1}


def test_reflect_folds_into_the_unit_interval() -> None:
    assert [reflect(u) for u in (0.5, -0.2, 1.3, 2.4, -1.7)] == pytest.approx([0.5, 0.2, 0.7, 0.4, 0.3])
    assert math.isnan(reflect(math.nan))


def test_nearest_distance_uses_the_coordinates_both_points_have() -> None:
    others = [[0.0, math.nan, 0.0], [1.0, 1.0, 1.0]]
    assert nearest_distance([0.3, 0.9, 0.4], others) == pytest.approx(0.5)
    assert nearest_distance([math.nan, 0.5, math.nan], [[0.1, math.nan, 0.2]]) == math.inf
    assert nearest_distance([0.5], []) == math.inf


def test_untaken_tries_each_proposer_in_turn_then_gives_up() -> None:
    taken = [TrialRecord(0, {"n": 1}, ""), TrialRecord(1, {"n": 2}, "")]
    def repeats():
        return itertools.cycle([{"n": 1}, {"n": 2}]).__next__

    assert untaken(taken, repeats(), iter([{"n": 1}, {"n": 3}]).__next__, tries=5) == {"n": 3}
    assert untaken(taken, repeats(), tries=3) == {"n": 1}  # every try repeated: the last one stands
    assert untaken(taken, lambda: {"n": True}) == {"n": True}  # True is not 1
