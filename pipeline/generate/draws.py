"""Scalar random draws served from blocks of one seeded numpy Generator.

The simulation makes millions of small decisions one at a time; asking numpy for one
scalar each time costs more than the decision. Drawing blocks and serving them keeps
the simulation fast and still fully determined by the seed (nothing else is random).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import TypeVar

import numpy as np

T = TypeVar("T")
_BLOCK = 1 << 16


class Draws:
    """Uniform, normal and derived draws from ``numpy.random.Generator``."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self._u: list[float] = []
        self._n: list[float] = []

    def u(self) -> float:
        """Uniform on [0, 1)."""
        if not self._u:
            self._u = self.rng.random(_BLOCK).tolist()
        return self._u.pop()

    def normal(self) -> float:
        if not self._n:
            self._n = self.rng.standard_normal(_BLOCK).tolist()
        return self._n.pop()

    def chance(self, p: float) -> bool:
        return self.u() < p

    def below(self, n: int) -> int:
        """An integer in [0, n)."""
        return min(int(self.u() * n), n - 1)

    def between(self, low: float, high: float) -> float:
        return low + (high - low) * self.u()

    def pick(self, items: Sequence[T]) -> T:
        return items[self.below(len(items))]

    def weighted(self, cumulative: Sequence[float]) -> int:
        """Index drawn by cumulative weights (see :func:`cumulative`)."""
        return min(bisect_right(cumulative, self.u() * cumulative[-1]), len(cumulative) - 1)

    def exp(self, mean: float) -> float:
        return -mean * math.log(1.0 - self.u())

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(sigma * self.normal())

    def poisson(self, lam: float) -> int:
        """Knuth's method; the means used here are small."""
        limit, k, p = math.exp(-lam), 0, self.u()
        while p > limit:
            k += 1
            p *= self.u()
        return k


def cumulative(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))
