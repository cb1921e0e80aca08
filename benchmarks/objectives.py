"""Objectives the strategy benchmark runs on, behind one small interface:

    name          short label used in tables and file names
    space         an ``edalize_dse.space.Space`` (parameters, constraints, objectives)
    evaluate(p)   metrics dict of a valid point, or None when the point fails
    reference()   (ideal, nadir, hv) of the true Pareto front in minimisation form,
                  or None when the front is not known (the harness then uses the
                  union of every run's evaluations)

``SyntheticProblem`` puts a pymoo test problem (ZDT1, ZDT2, DTLZ2) on a mixed
space like ours (ints with a step, pow2 ranges, a categorical, a constraint):
each parameter's value is mapped to its position in [0, 1] along its legal
values (a choice by its index), and the pymoo problem is evaluated there. The
space is finite, so the true front of the *discretised* problem is found by
enumerating every valid point. ``TableObjective`` answers from a CSV table (one
row per point: parameter columns, metric columns), the form a tabulated flow
benchmark takes. ``LiveFlowObjective`` runs the real synth flow on each point."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import moocore
import numpy as np

from edalize_dse.pareto import normalized_hypervolume
from edalize_dse.space import load_space

MIXED_SPACE = """
name: {name}
parameters:
  x1: {{layer: hardware, type: int, low: 0, high: 30, step: 2, default: 0}}
  x2: {{layer: hardware, type: pow2, low: 1, high: 128, default: 1}}
  x3: {{layer: hardware, type: pow2, low: 1, high: 64, default: 1}}
  x4: {{layer: eda, type: choice, choices: [a, b, c, d], default: a}}
  x5: {{layer: eda, type: int, low: 0, high: 10, default: 0}}
constraints:
  - {{name: product_cap, expr: "x2 * x3 <= 2048"}}
objectives:
{objectives}
"""


def _front_reference(matrix: np.ndarray):
    front = matrix[moocore.is_nondominated(matrix)]
    ideal, nadir = front.min(axis=0), front.max(axis=0)
    return ideal, nadir, normalized_hypervolume(front, ideal, nadir)


class SyntheticProblem:
    def __init__(self, name: str):
        from pymoo.problems import get_problem

        n_obj = 3 if name.startswith("dtlz") else 2
        self.name = name
        self.problem = get_problem(name, n_var=5, **({"n_obj": 3} if n_obj == 3 else {}))
        objectives = "\n".join(f"  - {{name: f{i + 1}, goal: min}}" for i in range(n_obj))
        folder = Path(tempfile.mkdtemp(prefix="dse-bench-"))
        path = folder / f"{name}.yml"
        path.write_text(MIXED_SPACE.format(name=name, objectives=objectives))
        self.space = load_space(path)
        self._reference = None

    def position(self, point: dict) -> np.ndarray:
        pos = []
        for p in self.space.parameters.values():
            values = p.values()
            pos.append(values.index(point[p.name]) / (len(values) - 1))
        return np.array(pos)

    def evaluate(self, point: dict) -> dict:
        f = self.problem.evaluate(self.position(point)[None, :])[0]
        return {f"f{i + 1}": float(v) for i, v in enumerate(f)}

    def reference(self):
        if self._reference is None:
            points = self.space.enumerate_valid()
            x = np.array([self.position(p) for p in points])
            self._reference = _front_reference(self.problem.evaluate(x))
        return self._reference


class TableObjective:
    """Metrics looked up in a CSV table keyed by the point's parameters; a point not
    in the table, or a row with an empty metric, counts as failed."""

    def __init__(self, space_path, table_path, name: str | None = None):
        self.space = load_space(space_path)
        self.name = name or Path(table_path).stem
        metrics = [o.name for o in self.space.objectives]
        self.rows = {}
        with open(table_path, newline="") as fh:
            for row in csv.DictReader(fh):
                point = {n: self._typed(n, row[n]) for n in self.space.names}
                values = {m: float(row[m]) for m in metrics if row.get(m) not in (None, "")}
                self.rows[self.space.canonical(point)] = values if len(values) == len(metrics) else None

    def _typed(self, name, text):
        p = self.space.parameters[name]
        for value in p.values() or []:
            if str(value) == text:
                return value
        return float(text)

    def evaluate(self, point: dict):
        return self.rows.get(self.space.canonical(point))

    def reference(self):
        good = [v for v in self.rows.values() if v is not None]
        if len(good) < len(self.rows) or len(self.rows) < len(self.space.enumerate_valid() or []):
            return None  # an incomplete table does not know the true front
        matrix = np.array([[o.sign * v[o.name] for o in self.space.objectives] for v in good])
        return _front_reference(matrix)


class LiveFlowObjective:
    """The real generator + synth flow (pyosys, OpenSTA on ASAP7) on each point.
    The flow is deterministic, so a point another run already evaluated is
    answered from memory (runs of one process share the objective)."""

    def __init__(self, space_path, workdir):
        from edalize_dse.evaluate import EvaluationContext
        from edalize_dse.explore import RunConfig, prepare

        prep = prepare(RunConfig(space=str(space_path), output=str(workdir)))
        self.space = prep.space
        self.name = f"live-{self.space.name}"
        self.ctx = EvaluationContext(prep.space, prep.generator, prep.flow, Path(workdir) / "points",
                                     prep.tool_versions, strategy="bench")
        self.cache: dict = {}

    def evaluate(self, point: dict):
        from edalize_dse.evaluate import evaluate_point

        key = self.space.canonical(point)
        if key not in self.cache:
            ev = evaluate_point(point, self.ctx, 0)
            self.cache[key] = ev.qor if ev.ok else None
        return self.cache[key]

    def reference(self):
        return None


PROBLEMS = ("zdt1", "zdt2", "dtlz2")


def make_objective(name: str):
    if name in PROBLEMS:
        return SyntheticProblem(name)
    raise ValueError(f"unknown objective '{name}' (known: {', '.join(PROBLEMS)}, or a table via --table)")
