"""Non-dominated sorting, constraint-domination and crowding distance, on examples checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from asktell.samplers.pareto import (best_by_rank_and_crowding, constrained_ranks, crowding_distances,
                                     non_dominated, pareto_ranks)

#: (1,4), (2,2), (4,1) and the second (2,2) are non-dominated; (3,3) is dominated by (2,2); (5,5) by (3,3).
POINTS = np.array([[1, 4], [2, 2], [4, 1], [3, 3], [5, 5], [2, 2]], dtype=float)


def test_first_front_leaves_out_strictly_dominated_rows_only() -> None:
    """Equal points do not dominate each other: both (2,2) are on the front."""
    assert non_dominated(POINTS).tolist() == [True, True, True, False, False, True]


def naive_ranks(losses: np.ndarray) -> list[int]:
    """Fronts by the definition: peel the rows no remaining row dominates."""
    ranks, remaining, rank = [len(losses)] * len(losses), set(range(len(losses))), 0
    while remaining:
        front = {i for i in remaining
                 if not any(np.all(losses[j] <= losses[i]) and np.any(losses[j] < losses[i]) for j in remaining)}
        for i in front:
            ranks[i] = rank
        remaining -= front
        rank += 1
    return ranks


@given(losses=st.integers(1, 4).flatmap(lambda m: hnp.arrays(
    np.float64, st.tuples(st.integers(0, 40), st.just(m)), elements=st.integers(0, 5).map(float))))
def test_fronts_match_the_definition_for_any_number_of_objectives(losses: np.ndarray) -> None:
    """Small integer values make ties and duplicates common; both the scan (<= 2) and the loop (> 2) are checked."""
    assert pareto_ranks(losses).tolist() == naive_ranks(losses)


def test_pareto_ranks_peel_fronts() -> None:
    assert pareto_ranks(POINTS).tolist() == [0, 0, 0, 1, 2, 0]


def test_pareto_ranks_stop_once_limit_rows_are_ranked() -> None:
    """The first front already holds 4 rows: the others are left unranked (len(points))."""
    assert pareto_ranks(POINTS, limit=4).tolist() == [0, 0, 0, 6, 6, 0]
    assert pareto_ranks(POINTS, limit=5).tolist() == [0, 0, 0, 1, 6, 0]


def test_one_objective_ranks_by_value_with_ties_sharing_a_front() -> None:
    assert pareto_ranks(np.array([[3.0], [1.0], [2.0], [1.0]])).tolist() == [2, 0, 1, 0]


def test_constraint_domination_puts_feasible_first_then_lower_violation() -> None:
    """(0,0) dominates everything but is infeasible: it ranks after every feasible point."""
    losses = np.array([[0, 0], [1, 4], [4, 1], [4, 4], [0, 0], [1, 1]], dtype=float)
    violations = np.array([2.0, 0, 0, 0, 0.5, 2.0])
    assert constrained_ranks(losses, violations).tolist() == [3, 0, 0, 1, 2, 3]


def test_constrained_ranks_leave_infeasible_unranked_when_feasible_fill_the_limit() -> None:
    losses = np.array([[0, 0], [1, 4], [4, 1]], dtype=float)
    assert constrained_ranks(losses, np.array([1.0, 0, 0]), limit=2).tolist() == [3, 0, 0]


def test_crowding_distance_sums_normalized_neighbour_gaps() -> None:
    """Spans are 5 on both axes; (1,3): 2/5 + 3/5; (2,2): 4/5 + 3/5; the extremes are infinite."""
    front = np.array([[0, 5], [1, 3], [2, 2], [5, 0]], dtype=float)
    assert crowding_distances(front).tolist() == pytest.approx([np.inf, 1.0, 1.4, np.inf])
    assert crowding_distances(front[:2]).tolist() == [np.inf, np.inf]


def test_best_rows_come_by_front_then_crowding() -> None:
    """Front 0 is (0,5), (1,3), (2,2), (5,0): extremes first, then the less crowded (2,2); then front 1."""
    losses = np.array([[1, 3], [0, 5], [2, 2], [5, 0], [3, 3], [6, 6]], dtype=float)
    order = best_by_rank_and_crowding(losses, np.zeros(6), size=5)
    assert order.tolist() == [1, 3, 2, 0, 4]
