"""Every valid point of a finite space, in the space's enumeration order (the
product of the parameters' legal values, first parameter slowest).

Not a search: it tabulates a space, e.g. the benchmark table
(``benchmarks/build_table.py``). Points already told (a resumed run) are skipped,
so a killed run continues where it stopped and repeats no finished point."""

from __future__ import annotations

from edalize_dse.errors import SpaceError
from edalize_dse.strategies.base import Strategy

MAX_BOX_POINTS = 2_000_000


class GridStrategy(Strategy):
    name = "grid"

    def __init__(self, space, seed: int = 0):
        super().__init__(space, seed)
        points = space.enumerate_valid(limit=MAX_BOX_POINTS)
        if points is None:
            size = space.cardinality()
            size = "infinitely many" if size == float("inf") else f"{int(size):,}"
            raise SpaceError(space.path, f"strategy 'grid' lists every point, but this space has "
                                         f"{size} parameter combinations (limit "
                                         f"{MAX_BOX_POINTS:,}); fix more parameters or use another strategy")
        self.points = points
        self._next = 0  # every point before it has been asked or told

    def propose(self, n: int) -> list[dict]:
        chosen = []
        while len(chosen) < n and self._next < len(self.points):
            point = self.points[self._next]
            self._next += 1
            if not self.seen(point):
                chosen.append(point)
        return chosen
