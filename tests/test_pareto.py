"""Non-dominated sorting, constraint-domination and crowding distance, on examples checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from asktell.samplers import pareto
from asktell.samplers.pareto import (best_by_rank_and_crowding, constrained_ranks, crowding_distances,
                                     dominated_counts, pareto_ranks)

#: (1,4), (2,2), (4,1) and the second (2,2) are non-dominated; (3,3) is dominated by (2,2); (5,5) by (3,3).
POINTS = np.array([[1, 4], [2, 2], [4, 1], [3, 3], [5, 5], [2, 2]], dtype=float)


def test_dominated_counts_count_strict_dominators_only() -> None:
    """Equal points do not dominate each other; (5,5) is dominated by all five others."""
    assert dominated_counts(POINTS, POINTS).tolist() == [0, 0, 0, 2, 5, 0]


def test_pareto_ranks_peel_fronts() -> None:
    assert pareto_ranks(POINTS).tolist() == [0, 0, 0, 1, 2, 0]


def test_pareto_ranks_stop_once_limit_rows_are_ranked() -> None:
    """The first front already holds 4 rows: the others are left unranked (len(points))."""
    assert pareto_ranks(POINTS, limit=4).tolist() == [0, 0, 0, 6, 6, 0]
    assert pareto_ranks(POINTS, limit=5).tolist() == [0, 0, 0, 1, 6, 0]


def test_one_objective_ranks_by_value_with_ties_sharing_a_front() -> None:
    assert pareto_ranks(np.array([[3.0], [1.0], [2.0], [1.0]])).tolist() == [2, 0, 1, 0]


def test_block_size_does_not_change_the_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    points = np.random.default_rng(0).random((300, 3))
    whole = dominated_counts(points, points)
    monkeypatch.setattr(pareto, "_BLOCK_CELLS", 50)
    assert dominated_counts(points, points).tolist() == whole.tolist()
    naive = [sum(bool(np.all(q <= p) and np.any(q < p)) for q in points) for p in points]
    assert whole.tolist() == naive


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
