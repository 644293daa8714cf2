"""Point ``i`` of the Halton sequence, computed directly, optionally scrambled.

Coordinate ``j`` is the radical inverse of ``i`` in the ``j``-th prime: the
digits of ``i`` mirrored around the radix point.  Plain Halton coordinates in
neighbouring large primes are strongly correlated, so scrambling (as scipy's
``qmc.Halton`` does it) maps each digit position of each coordinate through
its own random permutation of the digits.  It applies to every position down
to a float's resolution, the zeros beyond the index's last digit included, or
all points would keep the plain sequence's grid of ``base**-k`` fractions.

Each coordinate draws its permutations from its own stream, so adding a
parameter to a space does not move the others' coordinates.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Sequence

#: Digits are summed exactly as integers and divided once: with the denominator
#: at most 2**53 the quotient is the float nearest the exact fraction, below 1.
_RESOLUTION = 2**53


def first_primes(count: int) -> list[int]:
    primes: list[int] = []
    candidate = 2
    while len(primes) < count:
        divisors = primes[:bisect.bisect_right(primes, math.isqrt(candidate))]
        if all(candidate % p for p in divisors):
            primes.append(candidate)
        candidate += 1
    return primes


def digit_positions(base: int) -> int:
    """How many digits in ``base`` a float in [0, 1) can tell apart (53 in base 2)."""
    positions = 0
    while base ** (positions + 1) <= _RESOLUTION:
        positions += 1
    return positions


def radical_inverse(index: int, base: int, permutations: Sequence[Sequence[int]]) -> float:
    """``0.d_1 d_2 d_3 ...`` in ``base`` for ``index = ... d_3 d_2 d_1``, digit ``k`` mapped by ``permutations[k]``.

    Indices with more digits than there are permutations lose their most
    significant ones (below 2**40 in every base up to 8191, none is lost).
    """
    numerator = 0
    for permutation in permutations:
        index, digit = divmod(index, base)
        numerator = numerator * base + permutation[digit]
    return numerator / base ** len(permutations)


def digit_permutations(base: int, stream: random.Random) -> list[list[int]]:
    """One random permutation of the digits per position, most significant position first."""
    permutations = []
    for _ in range(digit_positions(base)):
        permutation = list(range(base))
        stream.shuffle(permutation)
        permutations.append(permutation)
    return permutations


def halton_point(index: int, dimensions: int, seed: str | None = None) -> list[float]:
    """Point ``index`` of the sequence in ``dimensions`` coordinates, scrambled from ``seed`` unless it is None."""
    point = []
    for dimension, base in enumerate(first_primes(dimensions)):
        if seed is None:
            permutations = [range(base)] * digit_positions(base)
        else:
            permutations = digit_permutations(base, random.Random(f"{seed}:{dimension}"))
        point.append(radical_inverse(index, base, permutations))
    return point
