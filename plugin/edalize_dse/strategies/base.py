"""The strategy interface: ask for a batch of points, tell their evaluations.

A strategy sees the space (parameters, constraints, objectives) and the results,
never the tools. ``ask`` may return fewer points than asked when the space is
exhausted; it never returns a point already evaluated, still pending, or
excluded by a prior (``warm_start``).

``warm_start`` (once, before the first ask or tell) hands a strategy earlier
evaluations (``prior``): their points are excluded from proposals, and the
learning strategies use them as data (``prior_data``), each prior sample
weighted ``prior_weight`` against the run's own. They are never part of
``history`` (the run's own results), the store, the budget or the reports."""

from __future__ import annotations

from abc import ABC, abstractmethod

from edalize_dse.space import Space
from edalize_dse.store import Evaluation


class Strategy(ABC):
    name = ""

    def __init__(self, space: Space, seed: int = 0):
        self.space = space
        self.seed = seed
        self.history: list[Evaluation] = []
        # Canonical JSON of points asked but not yet told, and of points told.
        self.pending: set[str] = set()
        self.evaluated: set[str] = set()
        # Earlier evaluations (warm_start) and the keys of those never to propose.
        self.prior: list[Evaluation] = []
        self.prior_keys: set[str] = set()
        self.prior_weight = 1.0

    def seen_keys(self) -> set[str]:
        """Canonical keys of every point not to propose: pending, told, or excluded by the prior."""
        return self.pending | self.evaluated | self.prior_keys

    def seen(self, point: dict) -> bool:
        key = self.space.canonical(point)
        return key in self.pending or key in self.evaluated or key in self.prior_keys

    def warm_start(self, prior: list[Evaluation], excluded: set[str] | None = None, weight: float = 1.0) -> None:
        """Earlier evaluations of points of this space (``prior.load_prior`` maps them).
        ``excluded``: the keys never to propose (default: every prior point); ``weight``:
        a prior sample's weight against one of the run's own in the model fits (0: the
        prior only excludes points, it is not data)."""
        self.prior = list(prior)
        self.prior_keys = {self.space.canonical(e.params) for e in self.prior} if excluded is None else set(excluded)
        self.prior_weight = float(weight)
        self.learn_prior(self.prior_data())

    def prior_data(self) -> list[Evaluation]:
        """The prior evaluations the models learn from: none with weight 0, and none of a
        point this run has measured itself (its own result replaces the prior's)."""
        if self.prior_weight <= 0:
            return []
        return [e for e in self.prior if self.space.canonical(e.params) not in self.evaluated]

    def learn_prior(self, evaluations: list[Evaluation]) -> None:
        """Hook: a strategy that learns from results takes the prior here (random, sobol and
        grid only exclude its points)."""

    def ask(self, n: int) -> list[dict]:
        points = self.propose(n)
        for p in points:
            self.pending.add(self.space.canonical(p))
        return points

    def tell(self, evaluations: list[Evaluation]) -> None:
        for ev in evaluations:
            key = self.space.canonical(ev.params)
            self.pending.discard(key)
            self.evaluated.add(key)
            self.history.append(ev)
        self.observe(evaluations)

    @abstractmethod
    def propose(self, n: int) -> list[dict]:
        """Up to ``n`` new valid points, none seen before."""

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Hook for learning strategies; the base keeps the history already."""
