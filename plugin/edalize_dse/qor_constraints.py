"""Constraints on results (QoR): ``wns_ps >= 0``, ``power_mw <= 40``, ``fmax_mhz > 800``.

A space file lists them under ``qor_constraints:``; the run option ``qor_constraints``
replaces that list. Each is ``<metric> <op> <number>`` with ``op`` one of
``>= <= > <``, on any metric the flow measures (checked before any tool runs).

A successful evaluation that breaks one is *infeasible*: it keeps its QoR (the
strategies learn from it) and the store records the violation text, but it is
never on a Pareto front nor counted in a hypervolume.

``slack`` is what every constraint-aware strategy models: the amount by which a
value misses its bound, in the bound's direction, divided by a scale (the bound's
magnitude, at least 1 unit of the metric), so it is <= 0 when the constraint
holds and comparable across metrics of different units."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from edalize_dse.errors import DseError

OPERATORS = (">=", "<=", ">", "<")
_PATTERN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|>|<)\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$")


@dataclass(frozen=True)
class QorConstraint:
    metric: str
    op: str
    bound: float

    @property
    def text(self) -> str:
        return f"{self.metric} {self.op} {self.bound:g}"

    @property
    def lower(self) -> bool:
        """True for a lower bound (``>=``, ``>``)."""
        return self.op in (">=", ">")

    @property
    def scale(self) -> float:
        return max(abs(self.bound), 1.0)

    def holds(self, value: float) -> bool:
        return {">=": value >= self.bound, "<=": value <= self.bound, ">": value > self.bound, "<": value < self.bound}[
            self.op
        ]

    def slack(self, value: float) -> float:
        """How far ``value`` is from meeting the bound, scaled: <= 0 when it holds
        (a strict bound met with equality gets a tiny positive slack)."""
        miss = (self.bound - value) if self.lower else (value - self.bound)
        if miss == 0 and self.op in (">", "<"):
            return 1e-12
        return miss / self.scale


def parse(text, source: str = "qor_constraints") -> QorConstraint:
    """One constraint from ``"metric op number"``; DseError naming ``source`` and the text."""
    match = _PATTERN.match(str(text))
    if not match:
        raise DseError(
            f"{source}: QoR constraint {str(text)!r} is not '<metric> <op> <number>' with op one of "
            f"{' '.join(OPERATORS)} (e.g. 'wns_ps >= 0', 'power_mw <= 40')"
        )
    metric, op, number = match.groups()
    try:
        bound = float(number)
    except ValueError:
        raise DseError(f"{source}: QoR constraint {text!r}: {number!r} is not a number") from None
    if not math.isfinite(bound):
        raise DseError(f"{source}: QoR constraint {text!r}: the bound must be finite")
    return QorConstraint(metric, op, bound)


def parse_all(items, source: str = "qor_constraints") -> list[QorConstraint]:
    if items is None:
        return []
    if isinstance(items, str):
        items = [i for i in items.split(",") if i.strip()]
    if not isinstance(items, (list, tuple)):
        raise DseError(f"{source}: 'qor_constraints' must be a list of strings such as 'wns_ps >= 0'")
    constraints = [parse(item, source) for item in items]
    texts = [c.text for c in constraints]
    if len(set(texts)) != len(texts):
        raise DseError(f"{source}: a QoR constraint is listed twice ({', '.join(texts)})")
    return constraints


def check_metrics(constraints: list[QorConstraint], known: list[str], source: str) -> None:
    """Every constraint names a metric the flow measures; DseError naming the file and the constraint."""
    for c in constraints:
        if c.metric not in known:
            raise DseError(
                f"{source}: QoR constraint '{c.text}': metric '{c.metric}' is not measured by this run "
                f"(known: {', '.join(known)})"
            )


def violation(qor: dict, constraints: list[QorConstraint]) -> str | None:
    """``None`` when every constraint holds, else the broken ones with the measured values,
    e.g. ``"wns_ps >= 0 (wns_ps = -12.5)"``; a metric the point lacks breaks its constraint."""
    broken = []
    for c in constraints:
        value = qor.get(c.metric)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            broken.append(f"{c.text} ({c.metric} not measured)")
        elif not c.holds(float(value)):
            broken.append(f"{c.text} ({c.metric} = {float(value):.6g})")
    return "; ".join(broken) or None


def slacks(qors: list[dict], constraints: list[QorConstraint]) -> np.ndarray:
    """(points x constraints) scaled slacks of QoR dicts; a missing metric counts as a large miss."""
    rows = []
    for qor in qors:
        row = []
        for c in constraints:
            value = qor.get(c.metric)
            ok = isinstance(value, (int, float)) and math.isfinite(value)
            row.append(c.slack(float(value)) if ok else 1e3)
        rows.append(row)
    return np.array(rows, dtype=float).reshape(len(rows), len(constraints))


def total_miss(qor: dict, constraints: list[QorConstraint]) -> float:
    """Sum of the positive scaled slacks: 0 for a feasible point, larger the further it is."""
    return float(np.maximum(slacks([qor], constraints), 0.0).sum())


def probability_feasible(mean: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Probability that every slack is <= 0 given a normal prediction per constraint
    (independent): the product of Phi(-mean / spread) over the constraints."""
    from scipy.stats import norm

    if mean.shape[1] == 0:
        return np.ones(mean.shape[0])
    spread = np.maximum(spread, 1e-6)
    return norm.cdf(-mean / spread).prod(axis=1)


def anchor_rows(slack: np.ndarray, closest: int = 3) -> np.ndarray:
    """Rows a model-based strategy may build its front (and its conditioning targets) from:
    the feasible ones; while there is none, the ``closest`` points nearest to feasibility
    (smallest summed positive slack), so the search heads for the feasible region."""
    if slack.shape[1] == 0:
        return np.arange(slack.shape[0])
    feasible = np.flatnonzero((slack <= 0).all(axis=1))
    if len(feasible):
        return feasible
    miss = np.maximum(slack, 0.0).sum(axis=1)
    return np.argsort(miss, kind="stable")[:closest]


def column_scale(slack: np.ndarray) -> np.ndarray:
    """Per-constraint spread of the observed slacks (1 where it is zero): puts every
    constraint on a comparable scale for a model's outputs."""
    if slack.shape[0] < 2:
        return np.ones(slack.shape[1])
    std = slack.std(axis=0)
    return np.where(std > 1e-12, std, 1.0)


def judge(ev, space):
    """Record which QoR constraints a successful evaluation breaks (None: feasible)."""
    ev.violation = violation(ev.qor, space.qor_constraints) if ev.ok else None
    return ev
