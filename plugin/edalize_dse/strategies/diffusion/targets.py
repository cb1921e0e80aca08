"""Pareto-aware conditioning targets.

Rule (objectives normalised to minimisation form, 0 = best seen, 1 = worst):

1. take the current non-dominated front F;
2. weight each front point by its exclusive hypervolume contribution (reference
   1.1 in every objective), plus a small floor so none is impossible: the
   sparse parts of the front and its ends contribute most, so they are
   conditioned on most;
3. draw the anchor points with those weights (seeded);
4. push each anchor p toward the ideal point z (the per-objective minimum of
   F) and a margin beyond it: target = p - step * (p - z + margin). With
   margin > 0 even an end point of the front is asked to improve in its best
   objective.

``step`` adapts between rounds like a trust region: when a point of the last
model batch reached the front the step grows (x1.5, at most 0.6), otherwise it
shrinks (x0.7, at least 0.05), so the targets stay just beyond what the models
can reach."""

from __future__ import annotations

import moocore
import numpy as np

REFERENCE = 1.1
MARGIN = 0.1
STEP_MIN, STEP_MAX, STEP_START = 0.05, 0.6, 0.25
GROW, SHRINK = 1.5, 0.7


RULES = ("hv", "uniform", "front")


def select_targets(front: np.ndarray, count: int, step: float, rng, rule: str = "hv") -> np.ndarray:
    """``rule`` (the ablations of the rule above): ``hv`` as described; ``uniform``
    draws the anchors uniformly from the front (step 3 without the weights);
    ``front`` returns the anchors themselves (no step 4: the model is asked only
    for what was already reached)."""
    front = np.atleast_2d(front)
    if rule == "uniform" or len(front) == 1:
        weights = np.ones(len(front))
    else:
        inside = np.minimum(front, REFERENCE - 1e-9)
        contrib = moocore.hv_contributions(inside, ref=np.full(front.shape[1], REFERENCE))
        weights = contrib + 0.05 * max(contrib.max(), 1e-12)
    anchors = front[rng.choice(len(front), size=count, p=weights / weights.sum())]
    if rule == "front":
        return anchors
    ideal = front.min(axis=0)
    return anchors - step * (anchors - ideal + MARGIN)


def adapt_step(step: float, success: bool) -> float:
    return min(step * GROW, STEP_MAX) if success else max(step * SHRINK, STEP_MIN)
