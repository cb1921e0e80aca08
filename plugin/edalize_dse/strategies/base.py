"""The strategy interface: ask for a batch of points, tell their evaluations.

A strategy sees the space (parameters, constraints, objectives) and the results,
never the tools. ``ask`` may return fewer points than asked when the space is
exhausted; it never returns a point already evaluated or still pending."""

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

    def seen(self, point: dict) -> bool:
        key = self.space.canonical(point)
        return key in self.pending or key in self.evaluated

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
