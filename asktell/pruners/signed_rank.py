"""The one-sided Wilcoxon signed-rank test in plain Python: are paired differences above zero?

``scipy.stats`` takes over a second to import, longer than a whole
``asktell report``; the test itself is a few lines.  Differences are ranked by
absolute value (ties get their average rank) and the statistic is ``T+``, the
sum of the ranks of the positive differences.  Zero differences stay in the
ranking and give half their rank to ``T+`` (scipy's ``zero_method="zsplit"``,
what Optuna's ``WilcoxonPruner`` uses).

The p-value is ``P(T+ >= observed)`` with every nonzero difference's sign
equally likely + or - (the null hypothesis: differences symmetric around 0):

* up to ``EXACT_MAX_N`` differences, exactly, by counting the sign patterns
  (dynamic programming over doubled ranks, which are integers even when ties
  make ranks halves).  Without ties or zeros this is scipy's
  ``method="exact"``; with them, the exact conditional distribution that
  scipy's permutation test enumerates for n <= 13.
* above, by the normal approximation with the tie correction and without a
  continuity correction (scipy's ``method="asymptotic"``, ``correction=False``).
"""

from __future__ import annotations

import math
from typing import Sequence

#: Largest sample whose null distribution is counted exactly (at most 2 * 20 * 21 sums to track).
EXACT_MAX_N = 20


def doubled_ranks(values: Sequence[float]) -> list[int]:
    """Twice the average rank (1-based) of each value: ties share the mean of their positions."""
    order = sorted(range(len(values)), key=values.__getitem__)
    doubled = [0] * len(values)
    first = 0
    while first < len(order):
        last = first
        while last + 1 < len(order) and values[order[last + 1]] == values[order[first]]:
            last += 1
        for position in range(first, last + 1):
            doubled[order[position]] = first + last + 2  # 2 * ((first + 1) + (last + 1)) / 2
        first = last + 1
    return doubled


def signed_rank_greater(differences: Sequence[float]) -> tuple[float, float]:
    """``(T+, p)`` of the one-sided test that ``differences`` lie above zero (needs at least one)."""
    n = len(differences)
    doubled = doubled_ranks([abs(d) for d in differences])
    positive = sum(r for r, d in zip(doubled, differences) if d > 0)
    zeros = sum(r for r, d in zip(doubled, differences) if d == 0)
    statistic = (positive + zeros / 2) / 2
    if n <= EXACT_MAX_N:
        return statistic, _exact_p(positive, [r for r, d in zip(doubled, differences) if d != 0])
    ties = {}
    for r in doubled:
        ties[r] = ties.get(r, 0) + 1
    mean = n * (n + 1) / 4
    variance = n * (n + 1) * (2 * n + 1) / 24 - sum(t ** 3 - t for t in ties.values()) / 48
    z = (statistic - mean) / math.sqrt(variance)
    return statistic, 0.5 * math.erfc(z / math.sqrt(2))


def _exact_p(observed: int, weights: list[int]) -> float:
    """P(the sum of a random subset of ``weights`` >= ``observed``), every subset equally likely.

    ``weights`` are the doubled ranks of the nonzero differences, ``observed``
    the sum of those that are positive (zeros add the same to every pattern).
    """
    counts = [1]  # counts[s]: sign patterns whose positive weights sum to s
    for w in weights:
        grown = counts + [0] * w
        for s, c in enumerate(counts):
            grown[s + w] += c
        counts = grown
    return sum(counts[observed:]) / 2 ** len(weights)
