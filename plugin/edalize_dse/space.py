"""The design space: typed parameters in two layers, cross-parameter constraints
and the objectives, loaded from a YAML file and validated in full before any
tool runs.

File format (see ``cores/spaces/gemmini_small.yml``)::

    name: gemmini_small
    parameters:
      meshRows: {layer: hardware, type: pow2, low: 1, high: 8, default: 2}
      ASAP7_USE_VT: {layer: eda, type: choice, choices: [RVT, LVT, SLVT], default: RVT}
    constraints:
      - {name: square_array, expr: "meshRows * tileRows == meshColumns * tileColumns"}
    objectives:
      - {name: area_um2, goal: min}

The model lives here (``Parameter``, ``Objective``, ``Space``: validity, enumeration,
sampling, point identity); the constraint expressions' sandbox in ``constraint_expr``;
reading and checking the YAML file in ``space_file`` (``load_space``)."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edalize_dse.constraint_expr import Constraint, ConstraintError, ConstraintOverflow, is_pow2
from edalize_dse.errors import SpaceError


@dataclass(frozen=True)
class Parameter:
    name: str
    layer: str
    type: str
    default: Any
    low: float | None = None
    high: float | None = None
    step: int = 1
    choices: tuple = ()
    log: bool = False
    description: str = ""

    def values(self) -> list | range | None:
        """All legal values of a discrete parameter (an int's as a lazy ``range``: it
        may span 10**12 values); None for a float."""
        if self.type == "int":
            return range(int(self.low), int(self.high) + 1, self.step)
        if self.type == "pow2":
            return [1 << e for e in range(int(math.log2(self.low)), int(math.log2(self.high)) + 1)]
        if self.type == "choice":
            return list(self.choices)
        if self.type == "bool":
            return [False, True]
        return None

    def contains(self, value) -> bool:
        if self.type == "float":
            return isinstance(value, (int, float)) and not isinstance(value, bool) and self.low <= value <= self.high
        if self.type == "bool":
            return isinstance(value, bool)
        if self.type in ("int", "pow2") and (isinstance(value, bool) or not isinstance(value, int)):
            return False
        return value in self.values()

    def sample(self, rng):
        if self.type == "float":
            if self.log:
                return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
            return float(rng.uniform(self.low, self.high))
        values = self.values()
        return values[int(rng.integers(len(values)))]


@dataclass(frozen=True)
class Objective:
    name: str
    goal: str  # "min" or "max"

    @property
    def sign(self) -> float:
        """Multiply by this to turn the objective into one to minimise."""
        return 1.0 if self.goal == "min" else -1.0


class Space:
    def __init__(self, path, name, parameters, constraints, objectives, description=""):
        self.path = Path(path)
        self.name = name
        self.description = description
        self.parameters: dict[str, Parameter] = parameters
        self.constraints: list[Constraint] = constraints
        self.objectives: list[Objective] = objectives
        # Bounds on results (qor_constraints.QorConstraint); a point breaking one is infeasible.
        self.qor_constraints: list = []

    # ---- views
    @property
    def names(self) -> list[str]:
        return list(self.parameters)

    def layer(self, layer: str) -> list[Parameter]:
        return [p for p in self.parameters.values() if p.layer == layer]

    def split(self, point: dict) -> tuple[dict, dict]:
        """(hardware values, eda values) of a point."""
        hw = {k: v for k, v in point.items() if self.parameters[k].layer == "hardware"}
        eda = {k: v for k, v in point.items() if self.parameters[k].layer == "eda"}
        return hw, eda

    def default_point(self) -> dict:
        return {p.name: p.default for p in self.parameters.values()}

    # ---- validity
    def violations(self, point: dict) -> list[str]:
        """Every reason the point is not in the space (empty when it is)."""
        problems = []
        missing = [n for n in self.parameters if n not in point]
        unknown = [n for n in point if n not in self.parameters]
        problems += [f"parameter '{n}' is missing" for n in missing]
        problems += [f"parameter '{n}' is not in the space" for n in unknown]
        if missing or unknown:
            return problems
        for p in self.parameters.values():
            if not p.contains(point[p.name]):
                problems.append(f"parameter '{p.name}' = {point[p.name]!r} is outside its domain")
        if problems:
            return problems
        for c in self.constraints:
            if not c.holds(point):
                problems.append(f"constraint '{c.name}' ({c.expr}) does not hold")
        return problems

    def is_valid(self, point: dict) -> bool:
        return not self.violations(point)

    def extreme_points(self) -> list[dict]:
        """The default point with one parameter at either end of its range, then every
        parameter at its low end and every one at its high end."""
        default = self.default_point()
        ends = {}
        for name, p in self.parameters.items():
            if p.type == "float" or p.type == "int":
                ends[name] = (p.low if p.type == "float" else int(p.low), p.high if p.type == "float" else int(p.high))
            else:
                values = p.values()
                ends[name] = (values[0], values[-1])
        points = [{**default, name: end} for name, pair in ends.items() for end in pair]
        points += [{name: pair[i] for name, pair in ends.items()} for i in (0, 1)]
        return points

    # ---- identity
    @staticmethod
    def canonical(point: dict) -> str:
        return json.dumps(point, sort_keys=True, separators=(",", ":"))

    def point_id(self, point: dict) -> str:
        return hashlib.sha256(self.canonical(point).encode()).hexdigest()[:12]

    # ---- enumeration and sampling
    def cardinality(self) -> float:
        """Size of the box before constraints (inf with a float parameter)."""
        size = 1.0
        for p in self.parameters.values():
            values = p.values()
            size *= math.inf if values is None else len(values)
        return size

    def enumerate_valid(self, limit: int = 200_000) -> list[dict] | None:
        """All valid points of a finite space of at most ``limit`` box points, else None."""
        if self.cardinality() > limit:
            return None
        names = self.names
        grids = [self.parameters[n].values() for n in names]
        points = (dict(zip(names, combo)) for combo in itertools.product(*grids))
        return [pt for pt in points if all(c.holds(pt) for c in self.constraints)]

    def sample(self, rng, max_tries: int = 10_000) -> dict:
        """One valid point by rejection sampling of the box."""
        for _ in range(max_tries):
            point = {p.name: p.sample(rng) for p in self.parameters.values()}
            if all(c.holds(point) for c in self.constraints):
                return point
        raise SpaceError(
            self.path,
            f"no valid point found in {max_tries} random draws; the constraints leave (almost) nothing of the space",
        )


# ---------------------------------------------------------------- loading


def load_space(path) -> Space:
    """Read and check a design-space file (``space_file.load_space``)."""
    from edalize_dse.space_file import load_space as load

    return load(path)


__all__ = [
    "Constraint",
    "ConstraintError",
    "ConstraintOverflow",
    "Objective",
    "Parameter",
    "Space",
    "is_pow2",
    "load_space",
]
