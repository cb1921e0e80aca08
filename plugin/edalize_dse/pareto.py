"""Pareto fronts and hypervolume of evaluated points, through moocore.

Objectives are turned into minimisation form (maximised ones negated) and, for
the hypervolume, scaled to [0, 1] between the ideal and nadir points of the
points given, with the reference point at 1.1 in every objective."""

from __future__ import annotations

import moocore
import numpy as np

from edalize_dse.space import Objective
from edalize_dse.store import Evaluation

HV_REFERENCE = 1.1


def objective_matrix(evaluations: list[Evaluation], objectives: list[Objective]) -> tuple[list[Evaluation], np.ndarray]:
    """The feasible evaluations (succeeded, no QoR constraint broken) that have every objective,
    and their minimisation-form matrix: an infeasible point is never on a front nor in a hypervolume."""
    usable = [e for e in evaluations if e.feasible and all(o.name in e.qor for o in objectives)]
    matrix = np.array([[o.sign * float(e.qor[o.name]) for o in objectives] for e in usable], dtype=float)
    return usable, matrix.reshape(len(usable), len(objectives))


def front(evaluations: list[Evaluation], objectives: list[Objective]) -> list[Evaluation]:
    usable, matrix = objective_matrix(evaluations, objectives)
    if not usable:
        return []
    mask = moocore.is_nondominated(matrix)
    return [e for e, keep in zip(usable, mask) if keep]


def normalized_hypervolume(matrix: np.ndarray, ideal: np.ndarray, nadir: np.ndarray) -> float:
    if matrix.size == 0:
        return 0.0
    span = np.where(nadir > ideal, nadir - ideal, 1.0)
    scaled = (matrix - ideal) / span
    inside = np.all(scaled < HV_REFERENCE, axis=1)
    if not inside.any():
        return 0.0
    return float(moocore.hypervolume(scaled[inside], ref=np.full(matrix.shape[1], HV_REFERENCE)))


HYPERVOLUME_MEANING = (
    "share of the box from this run's best to 1.1x its worst value of each objective; "
    "a figure of this run only: compare runs on one common box"
)


def hypervolume(evaluations: list[Evaluation], objectives: list[Objective]) -> float:
    """The run summary's hypervolume ratio in [0, 1]: the points' hypervolume, scaled by
    their own ideal/nadir, divided by the volume of the reference box (HV_REFERENCE^m)."""
    _, matrix = objective_matrix(evaluations, objectives)
    if matrix.size == 0:
        return 0.0
    box = HV_REFERENCE ** matrix.shape[1]
    return normalized_hypervolume(matrix, matrix.min(axis=0), matrix.max(axis=0)) / box


def promotion_order(evaluations: list[Evaluation], objectives: list[Objective]) -> list[Evaluation]:
    """Successful evaluations best first: by Pareto rank (front 1, then the front
    left when it is removed, ...), ties broken by the first objective."""
    usable, matrix = objective_matrix(evaluations, objectives)
    if not usable:
        return []
    ranks = moocore.pareto_rank(matrix)
    order = sorted(range(len(usable)), key=lambda i: (ranks[i], matrix[i, 0], usable[i].point_id))
    return [usable[i] for i in order]
