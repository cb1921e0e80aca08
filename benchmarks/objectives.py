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
enumerating every valid point. ``TableObjective`` answers from a tabulated flow
benchmark (one row per point: parameter columns, metric columns, status), e.g.
the one ``build_table.py`` writes; its true front is the table's. ``LiveFlowObjective`` runs the real synth flow on each point."""

from __future__ import annotations

import csv
import gzip
import json
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
    """Metrics looked up in a tabulated benchmark: a CSV (``.csv`` or ``.csv.gz``) with
    one row per point, the space's parameter columns, the objective columns and,
    optionally, ``status`` (a row whose status is not ``ok``, or with an empty
    objective, is a failed point: the lookup answers None, as the flow did).

    A proposal that is not in the table is *legalised to the nearest table point*:
    the row closest to it in the strategies' own encoded box
    (``encoding.SpaceEncoder``: ordinal parameters by scaled index, choices
    one-hot) answers for it; ties go to the earlier row. ``legalised`` counts
    such lookups. The strategies only propose valid points of the space, so with
    a complete table of that space this never happens; it keeps a table built on
    a subset of a space (or an older revision of it) usable.

    The objective's answers are table rows, so the table's own Pareto front of
    its successful rows is the true front (``reference``)."""

    def __init__(self, space_path, table_path, name: str | None = None, extra_metrics=()):
        from edalize_dse.encoding import SpaceEncoder

        self.space = load_space(space_path)
        path = Path(table_path)
        self.name = name or path.name.split(".")[0]
        # The objectives, and any further column a caller needs (e.g. a QoR constraint's metric).
        metrics = list(dict.fromkeys([o.name for o in self.space.objectives] + list(extra_metrics)))
        self.rows: dict = {}
        self.flow_wall_s = 0.0
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in [*self.space.names, *metrics] if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path}: no column(s) {', '.join(missing)} for space {self.space.name}")
            for row in reader:
                point = {n: self._typed(n, row[n]) for n in self.space.names}
                ok = row.get("status", "ok") == "ok" and all(row[m] not in (None, "") for m in metrics)
                self.rows[self.space.canonical(point)] = {m: float(row[m]) for m in metrics} if ok else None
                self.flow_wall_s += float(row.get("flow_wall_s") or 0.0)
        self.keys = list(self.rows)
        self.encoder = SpaceEncoder(self.space)
        self.matrix = self.encoder.encode_many([json.loads(k) for k in self.keys])
        self.legalised = 0

    def _typed(self, name, text):
        p = self.space.parameters[name]
        for value in p.values() or []:
            if str(value) == text:
                return value
        return float(text)

    @property
    def failed(self) -> int:
        return sum(v is None for v in self.rows.values())

    def nearest(self, point: dict) -> str:
        """The table key of ``point``, or of the nearest table row when it has none."""
        key = self.space.canonical(point)
        if key in self.rows:
            return key
        self.legalised += 1
        dist = ((self.matrix - self.encoder.encode(point)) ** 2).sum(axis=1)
        return self.keys[int(np.argmin(dist))]

    def evaluate(self, point: dict):
        return self.rows[self.nearest(point)]

    def reference(self):
        good = [v for v in self.rows.values() if v is not None]
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
