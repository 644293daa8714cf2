"""Which finished trials are the best ones: the good set of a model-based sampler.

Feasible trials come before infeasible ones (those by total violation, least
first, as constrained TPE does), so a study with no feasible trial yet still
steers towards the least violating ones.  With one objective the rest is a
sort; with several, non-dominated fronts are peeled one after another and the
front that does not fit whole is cut by crowding distance, keeping its
extremes and its sparsest points.
"""

from __future__ import annotations

import numpy as np


def best_indices(losses: np.ndarray, violations: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` best rows of ``losses`` (n x objectives, minimized).

    ``violations`` holds each row's summed constraint excess (0 when feasible).
    Ties keep row order, so the result is the same in every process.
    """
    feasible = np.flatnonzero(violations <= 0)
    chosen = feasible[_best_feasible(losses[feasible], count)]
    if len(chosen) < count:
        infeasible = np.flatnonzero(violations > 0)
        by_violation = infeasible[np.argsort(violations[infeasible], kind="stable")]
        chosen = np.concatenate([chosen, by_violation[:count - len(chosen)]])
    return chosen.astype(int)


def _best_feasible(losses: np.ndarray, count: int) -> np.ndarray:
    if losses.shape[1] == 1:
        return np.argsort(losses[:, 0], kind="stable")[:count]
    chosen: list[np.ndarray] = []
    taken = 0
    remaining = np.arange(len(losses))
    while taken < count and remaining.size:
        front = remaining[non_dominated(losses[remaining])]
        if taken + len(front) > count:
            spread = crowding_distance(losses[front])
            front = front[np.argsort(-spread, kind="stable")[:count - taken]]
        chosen.append(front)
        taken += len(front)
        remaining = remaining[~np.isin(remaining, front)]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=int)


def non_dominated(losses: np.ndarray) -> np.ndarray:
    """Indices of the rows no other row dominates, in row order.

    In lexicographic order the first row left is never dominated; it joins the
    front and drops every row it dominates, and so on.  A row can only be
    dominated by rows before it, so the survivors are exactly the front: one
    vectorised pass per front member, not n squared comparisons.
    """
    members: list[int] = []
    rest = np.lexsort(losses.T[::-1])
    while rest.size:
        head, rest = rest[0], rest[1:]
        members.append(int(head))
        others = losses[rest]
        dominated = np.all(losses[head] <= others, axis=1) & np.any(losses[head] < others, axis=1)
        rest = rest[~dominated]
    return np.sort(np.array(members, dtype=int))


def crowding_distance(losses: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance: the extremes of every objective get infinity."""
    n, m = losses.shape
    distance = np.zeros(n)
    for j in range(m):
        order = np.argsort(losses[:, j], kind="stable")
        values = losses[order, j]
        span = values[-1] - values[0]
        distance[order[[0, -1]]] = np.inf
        if n > 2 and span > 0:
            distance[order[1:-1]] += (values[2:] - values[:-2]) / span
    return distance
