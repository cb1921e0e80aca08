"""Every valid point of a finite space, in the space's enumeration order (the
product of the parameters' legal values, first parameter slowest); or, with
option ``points=FILE``, the points listed in that file, in its order (a fixed
sample of a space too large to list: ``benchmarks/build_table.py --sample``).

Not a search: it tabulates a space, e.g. the benchmark table
(``benchmarks/build_table.py``). Points already told (a resumed run) are skipped,
so a killed run continues where it stopped and repeats no finished point."""

from __future__ import annotations

import json
from pathlib import Path

from edalize_dse.errors import SpaceError
from edalize_dse.strategies.base import Strategy

MAX_BOX_POINTS = 2_000_000


def read_points(path) -> list[dict]:
    """The points of a points file: a JSON list of {parameter: value}, or an object
    whose ``points`` is one (the sample file ``build_table.py --sample`` writes)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the points file {path}: {exc}") from None
    points = doc.get("points") if isinstance(doc, dict) else doc
    if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
        raise ValueError(
            f"points file {path}: expected a JSON list of {{parameter: value}} objects "
            "(or an object with such a list under 'points')"
        )
    return points


class GridStrategy(Strategy):
    name = "grid"
    OPTIONS = {
        "points": "a JSON file of points to evaluate in its order, instead of every valid point "
        "(default: none, every valid point)"
    }

    def __init__(self, space, seed: int = 0, points: str = ""):
        super().__init__(space, seed)
        if points:
            self.points = read_points(points)
            for i, point in enumerate(self.points):
                problems = space.violations(point)
                if problems:
                    raise ValueError(
                        f"points file {points}: point #{i + 1} is not in space {space.name}: {problems[0]}"
                    )
            keys = [space.canonical(p) for p in self.points]
            if len(set(keys)) != len(keys):
                raise ValueError(f"points file {points}: a point is listed twice")
        else:
            self.points = space.enumerate_valid(limit=MAX_BOX_POINTS)
        if self.points is None:
            size = space.cardinality()
            size = "infinitely many" if size == float("inf") else f"{int(size):,}"
            raise SpaceError(
                space.path,
                f"strategy 'grid' lists every point, but this space has "
                f"{size} parameter combinations (limit "
                f"{MAX_BOX_POINTS:,}); fix more parameters, give a points file "
                "(option points=FILE) or use another strategy",
            )
        self._next = 0  # every point before it has been asked or told

    def propose(self, n: int) -> list[dict]:
        chosen = []
        while len(chosen) < n and self._next < len(self.points):
            point = self.points[self._next]
            self._next += 1
            if not self.seen(point):
                chosen.append(point)
        return chosen
