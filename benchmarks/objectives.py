"""Objectives the strategy benchmark runs on, behind one small interface:

    name          short label used in tables and file names
    space         an ``edalize_dse.space.Space`` (parameters, constraints, objectives)
    evaluate(p)   metrics dict of a valid point, or None when the point fails
    reference()   (ideal, nadir, hv) of the true Pareto front in minimisation form,
                  or None when the front is not known (the harness then uses the
                  union of every run's evaluations)
    true_front()  that front's points (where it is known)

``SyntheticProblem`` puts a pymoo test problem (``PROBLEM_SPECS``: ZDT1/2/3,
DTLZ2 with 3 and 4 objectives, DTLZ5, DTLZ7, C2-DTLZ2) on a mixed
space like ours (ints with a step, pow2 ranges, a categorical, a constraint):
each parameter's value is mapped to its position in [0, 1] along its legal
values (a choice by its index), and the pymoo problem is evaluated there. The
space is finite, so the true front of the *discretised* problem is found by
enumerating every valid point. ``NarrowProblem`` (``NARROW_SPECS``, ``narrow_*``) does the same on a
narrow space of four 10-level ordinal parameters and one 10-level choice, with a QoR
constraint of its own that leaves a set share of the points feasible (``narrow_*_pool``:
a sampled table of one, pool-based). ``TableObjective`` answers from a tabulated flow
benchmark (one row per point: parameter columns, metric columns, status), e.g.
the one ``build_table.py`` writes; its true front is the table's. ``LiveFlowObjective`` runs the real
synth flow on each point."""

from __future__ import annotations

import csv
import gzip
import tempfile
import time
from pathlib import Path

import moocore
import numpy as np

from edalize_dse.pareto import normalized_hypervolume
from edalize_dse.space import Space, load_space

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
{qor_constraints}objectives:
{objectives}
"""


def _front_reference(matrix: np.ndarray):
    front = matrix[moocore.is_nondominated(matrix)]
    ideal, nadir = front.min(axis=0), front.max(axis=0)
    return ideal, nadir, normalized_hypervolume(front, ideal, nadir)


# name -> (pymoo problem, its options, the front's shape). pymoo's own definitions
# (a maintained library), each on the 5-variable mixed space above.
PROBLEM_SPECS = {
    "zdt1": ("zdt1", {}, "2 objectives, convex front"),
    "zdt2": ("zdt2", {}, "2 objectives, concave front"),
    "zdt3": ("zdt3", {}, "2 objectives, disconnected front (five pieces)"),
    "dtlz2": ("dtlz2", {"n_obj": 3}, "3 objectives, concave front (a sphere's octant)"),
    "dtlz2_4obj": ("dtlz2", {"n_obj": 4}, "4 objectives, concave front"),
    "dtlz5": ("dtlz5", {"n_obj": 3}, "3 objectives, degenerate front (a curve)"),
    "dtlz7": ("dtlz7", {"n_obj": 3}, "3 objectives, disconnected front (four patches)"),
    "c2dtlz2": (
        "c2dtlz2",
        {"n_obj": 2},
        "2 objectives, concave front of which only parts are feasible (one constraint g1 <= 0, a QoR constraint)",
    ),
}


class SyntheticProblem:
    """A pymoo test problem on the mixed space. A constrained problem's inequality
    constraints (pymoo: G <= 0 is feasible) become metrics ``g1``, ``g2``, ... and the
    space's QoR constraints ``g1 <= 0``, ...: the strategies see them exactly as they
    see ``wns_ps >= 0`` in a run, and the true front is that of the feasible points."""

    def __init__(self, name: str):
        from pymoo.problems import get_problem

        if name not in PROBLEM_SPECS:
            raise ValueError(f"unknown synthetic problem '{name}' (known: {', '.join(PROBLEM_SPECS)})")
        pymoo_name, options, self.shape = PROBLEM_SPECS[name]
        self.name = name
        self.problem = get_problem(pymoo_name, n_var=5, **options)
        n_obj, n_con = self.problem.n_obj, self.problem.n_ieq_constr
        objectives = "\n".join(f"  - {{name: f{i + 1}, goal: min}}" for i in range(n_obj))
        constraints = (
            "".join(["qor_constraints:\n"] + [f'  - "g{j + 1} <= 0"\n' for j in range(n_con)]) if n_con else ""
        )
        folder = Path(tempfile.mkdtemp(prefix="dse-bench-"))
        path = folder / f"{name}.yml"
        path.write_text(MIXED_SPACE.format(name=name, objectives=objectives, qor_constraints=constraints))
        self.space = load_space(path)
        self._front = None

    def position(self, point: dict) -> np.ndarray:
        pos = []
        for p in self.space.parameters.values():
            values = p.values()
            pos.append(values.index(point[p.name]) / (len(values) - 1))
        return np.array(pos)

    def _evaluate(self, x: np.ndarray):
        """(objectives, constraint values) of positions ``x`` (points x variables)."""
        if self.problem.n_ieq_constr:
            f, g = self.problem.evaluate(x, return_values_of=["F", "G"])
            return f, g
        return self.problem.evaluate(x), np.zeros((len(x), 0))

    def evaluate(self, point: dict) -> dict:
        f, g = self._evaluate(self.position(point)[None, :])
        return {
            **{f"f{i + 1}": float(v) for i, v in enumerate(f[0])},
            **{f"g{j + 1}": float(v) for j, v in enumerate(g[0])},
        }

    def true_front(self) -> np.ndarray:
        """The feasible Pareto front of the discretised problem, every valid point evaluated."""
        if self._front is None:
            points = self.space.enumerate_valid()
            f, g = self._evaluate(np.array([self.position(p) for p in points]))
            feasible = f[(g <= 0).all(axis=1)]
            self._front = feasible[moocore.is_nondominated(feasible)]
        return self._front

    def reference(self):
        return _front_reference(self.true_front())


NARROW_SPACE = """
name: {name}
parameters:
  x1: {{layer: hardware, type: int, low: 0, high: 9, default: 0}}
  x2: {{layer: hardware, type: int, low: 0, high: 9, default: 0}}
  x3: {{layer: hardware, type: int, low: 0, high: 9, default: 0}}
  x4: {{layer: eda, type: int, low: 0, high: 9, default: 0}}
  x5: {{layer: eda, type: choice, choices: [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9], default: c0}}
{qor_constraints}objectives:
{objectives}
"""


# Constraint functions h(x) of the positions (points x 5, x5 the choice's index / 9); the
# problem's g1 is h minus h's quantile at the feasible share over every point, so exactly
# that share of the space is feasible (up to ties). Each one removes part of the
# unconstrained front, so the feasible front is partly the pymoo front, partly points
# that trade a distance variable or the choice for feasibility (as a timing constraint
# makes a design pay area for slack).
def _h_budget(x):
    # A minimum "effort": x1 (the front's position), x2 (a distance variable) and the
    # choice must together reach a level; low x1 is only feasible with x2 or x5 raised.
    return 1.0 - 0.6 * x[:, 0] - 0.8 * x[:, 1] - 0.5 * x[:, 4]


def _h_disk(x):
    # A small feasible region around an inner point: the front's left part is out of
    # reach, and a feasible point needs x3 and the choice near their own levels.
    return (x[:, 0] - 0.35) ** 2 + (x[:, 2] - 0.3) ** 2 + 0.5 * (x[:, 4] - 0.6) ** 2


def _h_match(x):
    # The choice must match the front's position (|x1 - x5| small), or x4 pays for it.
    return np.abs(x[:, 0] - x[:, 4]) - 0.6 * x[:, 3]


def _h_diagonal(x):
    # Feasible near the diagonal x1 = x2 of the sphere's octant, with the choice's help.
    return np.abs(x[:, 0] - x[:, 1]) + 0.4 * np.abs(x[:, 4] - 0.7)


# A hardware-like pair of objectives of our own (points x 5 positions -> points x 2): an
# "area" that grows with every ordinal parameter and a "delay" that falls with each (with
# diminishing returns), each scaled by a factor of the choice's value (no order among them:
# a cell library, a memory kind). Every parameter matters, so the front is wide (tens of
# points) rather than a pymoo front's ten positions of x1.
_CHOICE_AREA = np.array([1.00, 1.15, 0.90, 1.30, 0.95, 1.05, 1.20, 0.85, 1.10, 1.25])
_CHOICE_DELAY = np.array([1.00, 0.90, 1.10, 0.80, 1.05, 0.95, 0.85, 1.20, 0.92, 0.78])


def _hardware(x):
    k = np.rint(x[:, 4] * 9).astype(int)
    area = _CHOICE_AREA[k] * (1.0 + x[:, :4] @ np.array([1.0, 0.8, 1.3, 0.6]))
    delay = _CHOICE_DELAY[k] * (1.0 / (0.15 + x[:, :4]) @ np.array([1.0, 1.4, 0.7, 1.1]))
    return np.column_stack([area, delay])


def _h_power(x):
    # A "power" that the fast, small corner breaks: unbalanced sizes (x1 far from x2) and
    # x3 far from 0.6 cost power, and so do some choices (every third one).
    k = np.rint(x[:, 4] * 9).astype(int)
    return (x[:, 0] - x[:, 1]) ** 2 + 0.5 * (x[:, 2] - 0.6) ** 2 + 0.08 * (k % 3) - 0.3 * x[:, 3] * (1 - x[:, 3])


# name -> (pymoo problem or our own objectives, its options, constraint function or None,
# feasible share, description)
NARROW_SPECS = {
    "narrow_convex": (
        "zdt1",
        {},
        _h_budget,
        0.30,
        "2 objectives, convex front (ZDT1), 30 % feasible: low x1 needs x2 or the choice raised",
    ),
    "narrow_concave": (
        "zdt2",
        {},
        _h_disk,
        0.05,
        "2 objectives, concave front (ZDT2), 5 % feasible: a disk around an inner point",
    ),
    "narrow_disconnected": (
        "zdt3",
        {},
        _h_match,
        0.30,
        "2 objectives, disconnected front (ZDT3), 30 % feasible: the choice must follow x1",
    ),
    "narrow_sphere": (
        "dtlz2",
        {"n_obj": 3},
        _h_diagonal,
        0.05,
        "3 objectives, concave front (DTLZ2), 5 % feasible: near the diagonal x1 = x2",
    ),
    "narrow_hardware": (
        _hardware,
        {},
        _h_power,
        0.29,
        "2 objectives (area, delay; our own), convex front of tens of points, 29 % feasible",
    ),
    "narrow_hardware_tight": (
        _hardware,
        {},
        _h_power,
        0.05,
        "the same as narrow_hardware, 5 % feasible",
    ),
    "narrow_patches": (
        "dtlz7",
        {"n_obj": 3},
        None,
        1.0,
        "3 objectives, disconnected front (DTLZ7, four patches), unconstrained",
    ),
}


class NarrowProblem(SyntheticProblem):
    """A pymoo problem (or our own objectives, ``_hardware``) on ``NARROW_SPACE`` (100,000
    points, every one valid): four ordinal parameters of 10 levels and a 10-level choice,
    each at its position in [0, 1] as in ``SyntheticProblem``, with at most one QoR
    constraint ``g1 <= 0`` of our own (``NARROW_SPECS``; pymoo's constraints are not used).
    Not pool-based: any point of the space is evaluated, as a complete table would answer
    it (``<name>_pool``, ``narrow_pool``: the pool-based form)."""

    def __init__(self, name: str):
        from pymoo.problems import get_problem

        if name not in NARROW_SPECS:
            raise ValueError(f"unknown narrow problem '{name}' (known: {', '.join(NARROW_SPECS)})")
        pymoo_name, options, self.h, share, self.shape = NARROW_SPECS[name]
        self.name = name
        self.problem = None if callable(pymoo_name) else get_problem(pymoo_name, n_var=5, **options)
        self.own = pymoo_name if callable(pymoo_name) else None
        n_obj = self.problem.n_obj if self.problem else 2
        objectives = "\n".join(f"  - {{name: f{i + 1}, goal: min}}" for i in range(n_obj))
        constraints = 'qor_constraints:\n  - "g1 <= 0"\n' if self.h else ""
        folder = Path(tempfile.mkdtemp(prefix="dse-bench-"))
        path = folder / f"{name}.yml"
        path.write_text(NARROW_SPACE.format(name=name, objectives=objectives, qor_constraints=constraints))
        self.space = load_space(path)
        self._front = None
        self.threshold = 0.0
        if self.h:
            # Every point's position, in the space's own enumeration order: the threshold is
            # a function of the definition alone.
            grid = np.array([self.position(p) for p in self.space.enumerate_valid()], dtype=float)
            self.threshold = float(np.quantile(self.h(grid), share))

    def _evaluate(self, x: np.ndarray):
        f = self.own(x) if self.own else self.problem.evaluate(x, return_values_of=["F"])
        if self.h is None:
            return f, np.zeros((len(x), 0))
        return f, (self.h(x) - self.threshold)[:, None]


class RowSpace(Space):
    """A space whose valid points are a sampled table's rows (``TableObjective``): the
    same parameters, objectives and constraints, plus one: the point is a row."""

    def __init__(self, space: Space, rows: list[dict]):
        super().__init__(
            space.path, space.name, space.parameters, space.constraints, space.objectives, space.description
        )
        self.qor_constraints = space.qor_constraints
        self.rows = rows
        self.row_keys = {self.canonical(p) for p in rows}

    def violations(self, point: dict) -> list[str]:
        problems = super().violations(point)
        if not problems and self.canonical(point) not in self.row_keys:
            problems.append("not a row of the table")
        return problems

    def enumerate_valid(self, limit: int = 200_000) -> list[dict] | None:
        return list(self.rows) if len(self.rows) <= limit else None


class TableObjective:
    """Metrics looked up in a tabulated benchmark: a CSV (``.csv`` or ``.csv.gz``) with
    one row per point, the space's parameter columns, the objective columns and,
    optionally, ``status`` (a row whose status is not ``ok``, or with an empty
    objective, is a failed point: the lookup answers None, as the flow did).

    Pool-based: a run may only evaluate the table's rows (``claim``). On a
    *sampled* table (table 2: 2,000 rows of 21 million valid points; ``sampled``:
    the pool holds fewer points than the space) the space the
    strategies see is restricted to the pool's rows (``RowSpace``: its valid points
    are the rows), so every strategy's own legalisation (``SpaceEncoder.legalise``:
    Sobol, the repairs of the Optuna samplers, the model strategies' candidates,
    ``random``'s draws) lands on a row, and a model strategy's screen judges the
    very rows that will be evaluated. docs/experiments/tables.md measures why the harness
    should not do that mapping after the fact: a uniform proposal moved to the
    nearest row (in the encoded box, where a choice counts more than a step of an
    ordinal) kept its array dimension in only 43 % of 400 cases while the binary
    EDA knobs were kept in 90 %: the size that decides area, power and throughput
    was nearly redrawn at random, and an Optuna sampler was told the row's QoR at
    the parameters it had proposed. A proposal that is not an unevaluated row
    (only a strategy that ignores its space's valid points could make one) is
    still answered by the nearest unevaluated row, and ``legalised`` counts those
    lookups. The same holds for a split's pool (the transfer study: the rows of
    the other clock targets). On a complete table (every valid point a row, e.g.
    table 1 whole) the space is left as it is. Every evaluation a run counts is a real flow result,
    and each row is evaluated at most once per run, as a run never repeats a point.

    ``pool``: a split for the transfer study, ``(parameter, values)``: the rows
    whose ``parameter`` takes one of ``values`` are set aside as ``prior``
    (evaluations a strategy may be warm-started with) and are not in the pool.

    With QoR constraints in the space (``qor_constraints``) or given (``constraints``,
    texts such as ``"wns_ps >= 0"``, added to the space's), their metrics are loaded
    too and the true front is that of the feasible rows.

    The objective's answers are table rows, so the table's own Pareto front of
    its successful (and feasible) rows of the pool is the true front (``reference``)."""

    def __init__(self, space_path, table_path, name: str | None = None, extra_metrics=(), split=None, constraints=()):
        from edalize_dse.encoding import SpaceEncoder
        from edalize_dse.qor_constraints import parse_all

        self.space = load_space(space_path)
        if constraints:
            self.space.qor_constraints = [*self.space.qor_constraints, *parse_all(list(constraints))]
        path = Path(table_path)
        self.name = name or path.name.split(".")[0]
        # The objectives, the QoR constraints' metrics, and any further column a caller needs.
        metrics = list(
            dict.fromkeys(
                [o.name for o in self.space.objectives]
                + [c.metric for c in self.space.qor_constraints]
                + list(extra_metrics)
            )
        )
        self.rows: dict = {}
        self.points: dict = {}  # table key -> the typed point
        self.prior_rows: dict = {}  # key -> metrics or None: the rows a split set aside
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
                key = self.space.canonical(point)
                value = {m: float(row[m]) for m in metrics} if ok else None
                if split is not None and point[split[0]] in split[1]:
                    self.prior_rows[key] = value
                    self.points[key] = point
                    continue
                self.rows[key] = value
                self.points[key] = point
                self.flow_wall_s += float(row.get("flow_wall_s") or 0.0)
        self.keys = list(self.rows)
        self.sampled = self._sampled()
        if self.sampled:
            self.space = RowSpace(self.space, [self.points[k] for k in self.keys])
        self.encoder = SpaceEncoder(self.space)
        self.matrix = self.encoder.encode_many([self.points[k] for k in self.keys])
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

    def feasible_rows(self) -> list[dict]:
        """The metrics of the pool's successful rows that meet the QoR constraints."""
        from edalize_dse.qor_constraints import violation

        return [v for v in self.rows.values() if v is not None and violation(v, self.space.qor_constraints) is None]

    def feasible_share(self) -> float:
        """The share of the pool's successful rows that meet the QoR constraints."""
        good = len(self.rows) - self.failed
        return len(self.feasible_rows()) / good if good else 0.0

    def _sampled(self) -> bool:
        """Whether the pool holds fewer points than the space has valid points."""
        from edalize_dse.strategies.grid import MAX_BOX_POINTS

        valid = self.space.enumerate_valid(limit=MAX_BOX_POINTS)
        return valid is None or len(valid) > len(self.rows)

    def nearest(self, point: dict, taken=frozenset()) -> str:
        """The table key of ``point`` when it is a row not in ``taken``, else that of the
        nearest row not in ``taken`` (counted in ``legalised``)."""
        key = self.space.canonical(point)
        if key in self.rows and key not in taken:
            return key
        self.legalised += 1
        dist = ((self.matrix - self.encoder.encode(point)) ** 2).sum(axis=1)
        if taken:
            dist[[i for i, k in enumerate(self.keys) if k in taken]] = np.inf
        best = int(np.argmin(dist))
        if not np.isfinite(dist[best]):
            raise LookupError(f"every row of table {self.name} has been evaluated")
        return self.keys[best]

    def claim(self, point: dict, taken: set) -> tuple[dict, dict | None]:
        """The pool-based lookup of one proposal of a run that has evaluated the rows in
        ``taken``: (the row's point, its metrics or None); the row joins ``taken``."""
        key = self.nearest(point, taken)
        taken.add(key)
        return self.points[key], self.rows[key]

    def evaluate(self, point: dict):
        return self.rows[self.nearest(point)]

    def prior(self) -> list:
        """The rows a split set aside, as evaluations (the transfer study's prior)."""
        from edalize_dse.qor_constraints import violation
        from edalize_dse.store import Evaluation

        return [
            Evaluation(
                self.space.point_id(self.points[k]),
                self.points[k],
                "ok" if v else "failed",
                dict(v or {}),
                strategy="prior",
                violation=violation(v, self.space.qor_constraints) if v else None,
            )
            for k, v in self.prior_rows.items()
        ]

    def true_front(self) -> np.ndarray:
        """The Pareto front of the pool's feasible rows, in minimisation form."""
        matrix = np.array([[o.sign * v[o.name] for o in self.space.objectives] for v in self.feasible_rows()])
        return matrix[moocore.is_nondominated(matrix)]

    def reference(self):
        return _front_reference(self.true_front())


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
        self.ctx = EvaluationContext(
            prep.space, prep.generator, prep.flow, Path(workdir) / "points", prep.tool_versions, strategy="bench"
        )
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


# A narrow problem's pool-based form (``<name>_pool``): a fixed seeded sample of its space
# as a table, so a run evaluates only those rows (``TableObjective`` on a ``RowSpace``), as
# on a sampled flow table.
POOL_SUFFIX, POOL_ROWS, POOL_SEED = "_pool", 3000, 0


def narrow_pool(name: str) -> "TableObjective":
    """``NarrowProblem(name)`` answered from ``POOL_ROWS`` of its points drawn with
    ``POOL_SEED``: the true front is that of the sample's feasible rows."""
    start = time.perf_counter()
    problem = NarrowProblem(name)
    points = problem.space.enumerate_valid()
    rows = np.random.default_rng(POOL_SEED).choice(len(points), size=POOL_ROWS, replace=False)
    folder = Path(tempfile.mkdtemp(prefix="dse-bench-"))
    table = folder / f"{name}{POOL_SUFFIX}.csv"
    with open(table, "w", newline="") as fh:
        writer = None
        for i in sorted(rows):
            metrics = problem.evaluate(points[i])
            if writer is None:
                writer = csv.DictWriter(fh, [*problem.space.names, *metrics, "status"])
                writer.writeheader()
            writer.writerow({**points[i], **metrics, "status": "ok"})
    space_path = folder / f"{name}.yml"
    space_path.write_text(Path(problem.space.path).read_text())
    objective = TableObjective(
        space_path, table, name=f"{name}{POOL_SUFFIX}", extra_metrics=("g1",) if problem.h else ()
    )
    objective.load_s = time.perf_counter() - start  # as the harness records a table's load
    return objective


PROBLEMS = tuple(PROBLEM_SPECS) + tuple(NARROW_SPECS) + tuple(f"{name}{POOL_SUFFIX}" for name in NARROW_SPECS)


def make_objective(name: str):
    if name in NARROW_SPECS:
        return NarrowProblem(name)
    if name.removesuffix(POOL_SUFFIX) in NARROW_SPECS:
        return narrow_pool(name.removesuffix(POOL_SUFFIX))
    if name in PROBLEMS:
        return SyntheticProblem(name)
    raise ValueError(f"unknown objective '{name}' (known: {', '.join(PROBLEMS)}, or a table via --table)")
