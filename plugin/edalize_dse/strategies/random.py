"""Uniform random search over the valid points: the baseline every strategy must beat."""

from __future__ import annotations

import numpy as np

from edalize_dse.strategies.base import Strategy


class RandomStrategy(Strategy):
    name = "random"

    def __init__(self, space, seed: int = 0):
        super().__init__(space, seed)
        self.rng = np.random.default_rng(seed)
        # A finite space small enough to list is sampled without replacement
        # from its valid points, so constraints never cost rejected draws.
        self.valid_points = space.enumerate_valid()

    def propose(self, n: int) -> list[dict]:
        if self.valid_points is not None:
            fresh = [p for p in self.valid_points if not self.seen(p)]
            if not fresh:
                return []
            picks = self.rng.choice(len(fresh), size=min(n, len(fresh)), replace=False)
            return [fresh[i] for i in picks]
        points = []
        for _ in range(100 * n):
            if len(points) == n:
                break
            p = self.space.sample(self.rng)
            if not self.seen(p) and p not in points:
                points.append(p)
        return points
