"""Choosing the batch that reaches the flow: greedy predicted hypervolume gain.

Each candidate's QoR is estimated optimistically (ensemble mean minus
``kappa`` spreads, normalised minimisation form). The batch is built one point
at a time: the candidate whose optimistic QoR adds the most hypervolume to the
current front plus the points already picked. Adding the picked points to the
front is what makes the batch diverse: a near-copy of a picked point adds
almost nothing. When no candidate adds hypervolume, the one closest to being
non-dominated (smallest additive improvement needed) is taken.

With QoR constraints each candidate also has a predicted probability of
feasibility: its hypervolume gain is weighted by it (a gain only counts when the
point is feasible), and the fallback adds the probability of infeasibility to the
shortfall, so a likely-infeasible candidate is taken last."""

from __future__ import annotations

import moocore
import numpy as np

REFERENCE = 1.1


def _hv(points: np.ndarray) -> float:
    inside = points[np.all(points < REFERENCE, axis=1)]
    if len(inside) == 0:
        return 0.0
    return float(moocore.hypervolume(inside, ref=np.full(points.shape[1], REFERENCE)))


def shortfall(candidates: np.ndarray, front: np.ndarray) -> np.ndarray:
    """How much each candidate must improve (in its best objective, against the front
    point hardest to escape) to be non-dominated; <= 0 when it already is."""
    diff = candidates[:, None, :] - front[None, :, :]  # (N, F, m)
    return diff.min(axis=2).max(axis=1)


def select_batch(front: np.ndarray, mean: np.ndarray, spread: np.ndarray, n: int, kappa: float = 1.0,
                 feasibility: np.ndarray | None = None) -> list[int]:
    optimistic = mean - kappa * spread
    feasibility = np.ones(len(optimistic)) if feasibility is None else np.asarray(feasibility, dtype=float)
    current = np.atleast_2d(front)
    base = _hv(current)
    chosen: list[int] = []
    left = list(range(len(optimistic)))
    while left and len(chosen) < n:
        gains = np.array([_hv(np.vstack([current, optimistic[i]])) - base for i in left]) * feasibility[left]
        if gains.max() > 1e-12:
            pick = left[int(np.argmax(gains))]
        else:
            pick = left[int(np.argmin(shortfall(optimistic[left], current) + (1.0 - feasibility[left])))]
        chosen.append(pick)
        left.remove(pick)
        current = np.vstack([current, optimistic[pick]])
        base = _hv(current)
    return chosen
