"""The contract every EDA flow keeps with the exploration (``explore.py``, ``evaluate.py``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from edalize_dse.flows.knobs import Knob, check_all


class Flow(ABC):
    """Takes a generated design and the EDA layer of a point through real tools.

    A flow declares its knobs (``KNOBS``: name -> ``Knob``, the space's EDA parameters it
    accepts) and the metrics its runs report (``METRICS``)."""

    name: str = ""
    KNOBS: dict[str, Knob] = {}
    METRICS: tuple[str, ...] = ()

    # ---- checks before any point starts
    def check_knobs(self, knobs: dict) -> list[str]:
        """One problem per knob value this flow refuses (unknown name, wrong type, out of range)."""
        return check_all(self.KNOBS, knobs, self.name)

    @abstractmethod
    def check_platform(self, corners=("TC",), vts=("RVT",)) -> None:
        """Find the platform data the points of these corners and flavours read (no tool
        runs); raise DseError naming what is missing or damaged."""

    @abstractmethod
    def preflight(self) -> dict:
        """Check the tools; return their versions (tool -> version). Raises DseError."""

    # ---- one evaluation
    def knob_values(self, eda: dict) -> dict:
        """Every knob's value for a point: its own, else the knob's default."""
        return {**{k: v.default for k, v in self.KNOBS.items()}, **eda}

    @abstractmethod
    def run(self, design, eda: dict, workdir: Path) -> tuple[dict, dict]:
        """Run the tools on ``design`` with these knob values in ``workdir``; return
        (metrics, step wall times). Raises ToolFailure with its kind."""
