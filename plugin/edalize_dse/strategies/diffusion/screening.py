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
shortfall, so a likely-infeasible candidate is taken last.

The hypervolume's reference point is 0.1 beyond the worst value seen
(``select_batch``'s default), or just beyond the current front
(``front_reference``) for all or the first part of the batch: the first rewards
points that open new regions (a disconnected front's other pieces), the second
only what improves the front where a benchmark measures it. The strategy's
default takes the front's for the first half of the batch and the seen range's
for the rest (docs/experiments/diffusion-controller.md).

``select_batch_sampled`` is the other gain (the strategy's ``gain=members``): each
ensemble member's prediction is one sample of the QoR, and a candidate's gain is
the hypervolume gain averaged over the members, each member keeping its own
front of the points picked so far (the Monte-Carlo expected improvement that
qNEHVI integrates over a GP posterior, here over the ensemble)."""

from __future__ import annotations

import moocore
import numpy as np

REFERENCE = 1.1


def _hv(points: np.ndarray, ref: np.ndarray) -> float:
    inside = points[np.all(points < ref, axis=1)]
    if len(inside) == 0:
        return 0.0
    return float(moocore.hypervolume(inside, ref=ref))


def front_reference(front: np.ndarray) -> np.ndarray:
    """A reference point a tenth of the front's extent beyond the front's own worst
    corner (its nadir), not beyond the worst point seen: the gain then counts only
    what improves the front where a front's hypervolume is measured, and no longer
    rewards points in the far region the first random points opened up."""
    front = np.atleast_2d(front)
    nadir = front.max(axis=0)
    return nadir + 0.1 * np.maximum(nadir - front.min(axis=0), 1e-3)


def shortfall(candidates: np.ndarray, front: np.ndarray) -> np.ndarray:
    """How much each candidate must improve (in its best objective, against the front
    point hardest to escape) to be non-dominated; <= 0 when it already is."""
    diff = candidates[:, None, :] - front[None, :, :]  # (N, F, m)
    return diff.min(axis=2).max(axis=1)


def select_batch(
    front: np.ndarray,
    mean: np.ndarray,
    spread: np.ndarray,
    n: int,
    kappa: float = 1.0,
    feasibility: np.ndarray | None = None,
    reference: np.ndarray | None = None,
    exploit: int = 0,
    reference_picks: int | None = None,
) -> list[int]:
    """``exploit``: how many of the first picks score the ensemble mean (kappa 0) instead
    of the optimistic QoR: a batch that both refines what the model trusts and probes
    what it does not. ``reference_picks``: how many of the first picks use ``reference``
    (None: all); the rest use the default reference beyond the seen range, so a batch
    can refine inside the front's box and still reach for pieces outside it."""
    wide = np.full(np.atleast_2d(front).shape[1], REFERENCE)
    ref = wide if reference is None else np.asarray(reference, float)
    optimistic_all = mean - kappa * spread
    feasibility = np.ones(len(mean)) if feasibility is None else np.asarray(feasibility, dtype=float)
    current = np.atleast_2d(front)
    chosen: list[int] = []
    left = list(range(len(mean)))
    while left and len(chosen) < n:
        optimistic = mean if len(chosen) < exploit else optimistic_all
        r = ref if reference_picks is None or len(chosen) < reference_picks else wide
        base = _hv(current, r)
        gains = np.array([_hv(np.vstack([current, optimistic[i]]), r) - base for i in left]) * feasibility[left]
        if gains.max() > 1e-12:
            pick = left[int(np.argmax(gains))]
        else:
            pick = left[int(np.argmin(shortfall(optimistic[left], current) + (1.0 - feasibility[left])))]
        chosen.append(pick)
        left.remove(pick)
        current = np.vstack([current, optimistic[pick]])
    return chosen


def select_batch_sampled(
    front: np.ndarray,
    samples: np.ndarray,
    n: int,
    feasible: np.ndarray | None = None,
    reference: np.ndarray | None = None,
    reference_picks: int | None = None,
) -> list[int]:
    """The greedy batch by hypervolume gain averaged over QoR samples.

    ``samples``: (K, N, m), sample k's QoR of each of the N candidates; ``feasible``:
    (K, N), whether sample k has the candidate meet every QoR constraint (an
    infeasible sample adds nothing). The picked points join each sample's own front
    with that sample's values, as joint posterior draws would. When no candidate
    gains, the one whose mean is closest to non-dominated (plus its share of
    infeasible samples) is taken. ``reference``, ``reference_picks``: as in
    ``select_batch``."""
    samples = np.asarray(samples, dtype=float)
    k, count, m = samples.shape
    wide = np.full(m, REFERENCE)
    ref = wide if reference is None else np.asarray(reference, float)
    feasible = np.ones((k, count), dtype=bool) if feasible is None else np.asarray(feasible, dtype=bool)
    fronts = [np.atleast_2d(front) for _ in range(k)]
    mean = samples.mean(axis=0)
    chosen: list[int] = []
    left = list(range(count))
    while left and len(chosen) < n:
        r = ref if reference_picks is None or len(chosen) < reference_picks else wide
        gains = np.zeros(len(left))
        for s in range(k):
            base = _hv(fronts[s], r)
            gains += [_hv(np.vstack([fronts[s], samples[s, i]]), r) - base if feasible[s, i] else 0.0 for i in left]
        if gains.max() > 1e-12:
            pick = left[int(np.argmax(gains))]
        else:
            missed = 1.0 - feasible[:, left].mean(axis=0)
            pick = left[int(np.argmin(shortfall(mean[left], np.vstack(fronts)) + missed))]
        chosen.append(pick)
        left.remove(pick)
        fronts = [np.vstack([f, samples[s, pick]]) if feasible[s, pick] else f for s, f in enumerate(fronts)]
    return chosen
