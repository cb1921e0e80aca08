"""QoR vectors a model can condition on: the space's objectives, normalised.

Each objective is put in minimisation form (maximised ones negated, after the
log when one is taken), log-scaled when its observed values are all positive
and span more than ``LOG_SPAN`` (a decade or more: area and power across array
sizes) but no more than ``LOG_SPAN_MAX``, then scaled linearly so the observed
range maps to [0, 1]. Six decades and more across one design space is not a
multiplicative spread but a value at zero written as a tiny positive number (a
cosine at pi/2 is 6e-17, a leakage figure can read 1e-20): a log scale would
spend nearly all of [0, 1] on decades no real point occupies, crowd every real
value into the top few percent, and leave the models unable to tell them apart
(DTLZ2, DTLZ5 and C2-DTLZ2: docs/experiments/diffusion-controller.md, "the normalisation fix"). A condition
vector then reads "this area, this power, this performance", 0 being the best
seen in each objective and 1 the worst; values below 0 ask for better than
anything seen so far.
"""

from __future__ import annotations

import numpy as np

from edalize_dse.space import Objective
from edalize_dse.store import Evaluation

LOG_SPAN = 10.0
LOG_SPAN_MAX = 1e6


def usable(evaluations: list[Evaluation], objectives: list[Objective]) -> list[Evaluation]:
    """Evaluations that succeeded and measured every objective with a finite number
    (failed points are never QoR training data)."""
    out = []
    for e in evaluations:
        if e.ok and all(o.name in e.qor for o in objectives):
            values = [e.qor[o.name] for o in objectives]
            if all(isinstance(v, (int, float)) and np.isfinite(v) for v in values):
                out.append(e)
    return out


class QorScaler:
    def __init__(self, objectives: list[Objective], log_span: float = LOG_SPAN):
        """``log_span``: the spread (largest over smallest value) beyond which an objective is
        logged; 1 logs every positive objective that varies at all (up to ``LOG_SPAN_MAX``)."""
        self.objectives = objectives
        self.log_span = float(log_span)
        self.log = np.zeros(len(objectives), dtype=bool)
        self.low = np.zeros(len(objectives))
        self.span = np.ones(len(objectives))

    def raw(self, evaluations: list[Evaluation]) -> np.ndarray:
        matrix = np.array([[float(e.qor[o.name]) for o in self.objectives] for e in evaluations], dtype=float)
        return matrix.reshape(len(evaluations), len(self.objectives))

    def fit(self, raw: np.ndarray) -> "QorScaler":
        """Choose the log flags and the [0, 1] range from raw objective values (rows = points)."""
        positive = (raw > 0).all(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(positive, raw.max(axis=0) / np.where(positive, raw.min(axis=0), 1.0), 1.0)
        self.log = positive & (ratio > self.log_span) & (ratio <= LOG_SPAN_MAX)
        signed = self._signed(raw)
        self.low = signed.min(axis=0)
        span = signed.max(axis=0) - self.low
        self.span = np.where(span > 0, span, 1.0)
        return self

    def _signed(self, raw: np.ndarray) -> np.ndarray:
        values = np.where(self.log, np.log(np.where(self.log, np.maximum(raw, 1e-300), 1.0)), raw)
        signs = np.array([o.sign for o in self.objectives])
        return values * signs

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Raw objective values -> normalised minimisation form."""
        return (self._signed(raw) - self.low) / self.span
