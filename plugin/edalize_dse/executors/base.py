"""The contract every executor keeps with the exploration loop (``explore.py``)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from edalize_dse.executors.facts import NodeFacts


class Executor(ABC):
    """Runs up to ``workers`` points at once. Subclasses keep their points in flight in
    ``self._running`` (any sized container), which gives ``free_slots`` and ``busy``."""

    def __init__(self, workers: int):
        self.workers = max(1, int(workers))
        self._running = {}

    @abstractmethod
    def check_nodes(self, flows) -> NodeFacts:
        """Check every node's tools and platform before any point (one DseError naming the
        node and what is missing); what the nodes share."""

    @abstractmethod
    def submit(self, point: dict, ctx, round_no: int, controller_s: float | None = None) -> None:
        """Start one point."""

    @abstractmethod
    def finished(self) -> list:
        """Block until at least one point is done; the Evaluations of the points done."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop what is still running and release the engine."""

    @property
    def free_slots(self) -> int:
        """Points that may start now."""
        return self.workers - len(self._running)

    @property
    def busy(self) -> bool:
        """Points are still running."""
        return bool(self._running)
