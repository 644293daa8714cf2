"""Ranking trials by several objectives: non-dominated sorting and crowding distance.

All objectives are minimized.  ``a`` dominates ``b`` when it is no worse in
every objective and better in one.  With constraints, constraint-domination
(Deb 2000) applies: a feasible point beats an infeasible one, and of two
infeasible points the one with the lower total violation wins.

Self-contained (numpy only) so that every multi-objective sampler ranks the
same way.  Dominance is counted block by block, so memory stays
O(block x n) while time is O(n^2 x objectives) for the counts plus
O(ranked x n x objectives) for peeling the fronts that are asked for.
"""

from __future__ import annotations

import numpy as np

#: Source rows x target rows compared at once; bounds the temporary arrays at about 2 M booleans each.
_BLOCK_CELLS = 2_000_000


def dominated_counts(sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """For each row of ``targets``, how many rows of ``sources`` dominate it."""
    counts = np.zeros(len(targets), dtype=np.int64)
    block = max(1, _BLOCK_CELLS // max(1, len(targets)))
    for start in range(0, len(sources), block):
        chunk = sources[start:start + block]
        no_worse = np.ones((len(chunk), len(targets)), dtype=bool)
        better = np.zeros((len(chunk), len(targets)), dtype=bool)
        for k in range(targets.shape[1]):  # one objective at a time: 2-D arrays, no 3-D temporaries
            a, b = chunk[:, k, None], targets[None, :, k]
            no_worse &= a <= b
            better |= a < b
        counts += (no_worse & better).sum(axis=0)
    return counts


def pareto_ranks(losses: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Front of each row (0 = non-dominated); fronts are peeled until ``limit`` rows are ranked.

    Rows left unranked get ``len(losses)``, which sorts after every real front.
    """
    n = len(losses)
    ranks = np.full(n, n, dtype=np.int64)
    counts = dominated_counts(losses, losses)
    remaining = np.ones(n, dtype=bool)
    rank, ranked = 0, 0
    while ranked < min(n, n if limit is None else limit):
        front = np.flatnonzero(remaining & (counts == 0))
        ranks[front] = rank
        remaining[front] = False
        ranked += len(front)
        counts -= dominated_counts(losses[front], losses)
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
