"""Ranking trials by several objectives: non-dominated sorting and crowding distance.

All objectives are minimized.  ``a`` dominates ``b`` when it is no worse in
every objective and better in one.  With constraints, constraint-domination
(Deb 2000) applies: a feasible point beats an infeasible one, and of two
infeasible points the one with the lower total violation wins.

Self-contained (numpy only) so that every multi-objective sampler ranks the
same way.  Fronts are peeled one at a time and only until the rows asked for
are ranked, so choosing 25 good trials out of 10,000 does not rank all
10,000.  A front costs O(n log n) with two objectives (a sorted scan) and
O(front size x n x objectives) with more.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def non_dominated(losses: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows that no other row dominates (the first front).

    Rows are visited in lexicographic order, in which a row can only be
    dominated by one before it.  Equal rows do not dominate each other.
    """
    n, m = losses.shape
    order = np.lexsort(losses.T[::-1])
    ordered = losses[order]
    front = np.zeros(n, dtype=bool)
    if n == 0:
        return front
    if m <= 2:
        front[order] = _non_dominated_sorted_pair(ordered)
        return front
    alive = np.ones(n, dtype=bool)
    i = 0
    while i < n:
        row = ordered[i]
        later = ordered[i + 1:]
        alive[i + 1:] &= ~(np.all(row <= later, axis=1) & np.any(row < later, axis=1))
        front[order[i]] = True
        rest = np.flatnonzero(alive[i + 1:])
        i = i + 1 + rest[0] if len(rest) else n
    return front


def _non_dominated_sorted_pair(ordered: np.ndarray) -> np.ndarray:
    """First front of lexicographically sorted rows of one or two objectives, by one scan.

    An earlier row dominates a later one exactly when it differs from it and
    is no worse in the last objective; so a row is on the front when every
    earlier row that differs from it is strictly worse there.
    """
    n = len(ordered)
    last = ordered[:, -1]
    differs = np.any(ordered[1:] != ordered[:-1], axis=1)
    group_start = np.concatenate(([0], np.flatnonzero(differs) + 1))  # runs of equal rows
    first_of_group = np.repeat(group_start, np.diff(np.append(group_start, n)))
    best_before = np.concatenate(([np.inf], np.minimum.accumulate(last)))  # min over rows [0, k)
    return best_before[first_of_group] > last


def pareto_ranks(losses: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Front of each row (0 = non-dominated); fronts are peeled until ``limit`` rows are ranked.

    Rows left unranked get ``len(losses)``, which sorts after every real front.
    """
    n = len(losses)
    ranks = np.full(n, n, dtype=np.int64)
    remaining = np.arange(n)
    rank = 0
    while len(remaining) and n - len(remaining) < (n if limit is None else min(n, limit)):
        front = non_dominated(losses[remaining])
        ranks[remaining[front]] = rank
        remaining = remaining[~front]
        rank += 1
    return ranks


def constrained_ranks(losses: np.ndarray, violations: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Fronts under constraint-domination: feasible fronts first, then infeasible rows by violation.

    ``violations`` holds each row's total violation (0 when feasible).  Rows
    left unranked once ``limit`` are ranked get ``len(losses)``.
    """
    n = len(losses)
    ranks = np.full(n, n, dtype=np.int64)
    feasible = violations <= 0
    feasible_ranks = pareto_ranks(losses[feasible], limit)
    ranked = feasible_ranks < feasible.sum()
    ranks[np.flatnonzero(feasible)[ranked]] = feasible_ranks[ranked]
    if limit is not None and ranked.sum() >= limit:
        return ranks
    first = feasible_ranks[ranked].max() + 1 if ranked.any() else 0
    infeasible = np.flatnonzero(~feasible)
    levels = np.unique(violations[infeasible], return_inverse=True)[1]
    ranks[infeasible] = first + levels.reshape(-1)
    return ranks


def crowding_distances(losses: np.ndarray) -> np.ndarray:
    """For the rows of one front: how far apart their neighbours are, summed over objectives.

    Each objective's gap is divided by its range on the front; the extremes
    get ``inf`` so that the ends of the front are always kept.
    """
    n, m = losses.shape
    distances = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for k in range(m):
        order = np.argsort(losses[:, k], kind="stable")
        values = losses[order, k]
        distances[order[[0, -1]]] = np.inf
        span = values[-1] - values[0]
        if span > 0:
            distances[order[1:-1]] += (values[2:] - values[:-2]) / span
    return distances


def best_by_rank_and_crowding(losses: np.ndarray, violations: np.ndarray, size: int) -> np.ndarray:
    """Indices of the ``size`` best rows, best first: lower front, then larger crowding distance."""
    n = len(losses)
    ranks = constrained_ranks(losses, violations, limit=size)
    crowding = np.zeros(n)
    for rank in np.unique(ranks[ranks < n]):
        members = np.flatnonzero(ranks == rank)
        crowding[members] = crowding_distances(losses[members])
    return np.lexsort((-crowding, ranks))[:size]


def best_rows(losses: Sequence[Sequence[float]], violations: Sequence[float], count: int) -> list[int]:
    """Indices of the ``count`` best rows: feasible ones first, infeasible ones after by total violation.

    Several objectives go by Pareto front, the last front cut by crowding
    distance (as NSGA-II ranks); one objective is a plain sort.
    """
    losses, violations = np.asarray(losses, dtype=float), np.asarray(violations, dtype=float)
    if losses.shape[1] > 1:
        return best_by_rank_and_crowding(losses, violations, count).tolist()
    feasible_loss = np.where(violations > 0, 0.0, losses[:, 0])
    return np.lexsort((feasible_loss, violations))[:count].tolist()
