"""Shared skeleton of the strategies that learn from results (``qnehvi``,
``diffusion``): a space-filling Sobol design first, then model rounds, each
timed and logged.

The initial design lasts until ``init_points`` points have been asked (evaluated
or pending; ``init_points`` 0: a number by the encoding's width, ``AUTO_INIT_*``)
and at least ``MIN_MODEL_POINTS`` of them succeeded; a model round
works from the successful evaluations only (failed points are never QoR data,
and never asked again since they are in ``evaluated``).

With a prior (``Strategy.warm_start``) the prior's successful points are data
too, ahead of the run's own (``data_weights``: ``prior_weight`` each, own points
1), and they count toward the initial design: it is ``init_points`` minus the
prior's usable points, none when the prior holds ``init_points`` or more, so the
first ask of such a run is already a model round trained on the prior."""

from __future__ import annotations

import json
import logging
import time
from abc import abstractmethod

import numpy as np

from edalize_dse.encoding import SpaceEncoder
from edalize_dse.qor import usable
from edalize_dse.strategies.base import Strategy
from edalize_dse.strategies.sobol import SobolDesign

log = logging.getLogger("edalize_dse.strategies")

MIN_MODEL_POINTS = 4
# init_points=0 (``diffusion``'s default): the initial design is a third of the encoding's
# varying coordinates, at least AUTO_INIT_MIN points. A narrow space needs few points before a
# model round helps (the synthetic problems, 8 coordinates: 8 points instead of 12 gain at
# most budgets), a wide one more (table 2, 41: 8 instead of 16 cost 44 evaluations to 95 %;
# docs/experiments/diffusion-controller.md, "trends in the ridge part").
AUTO_INIT_MIN = 8
AUTO_INIT_DIVISOR = 3


class ModelBasedStrategy(Strategy):
    def __init__(self, space, seed: int = 0, init_points: int = 10):
        super().__init__(space, seed)
        if int(init_points) < 0:
            raise ValueError(f"init_points must be at least 1 (or 0: by the space's width), got {init_points}")
        self.encoder = SpaceEncoder(space)
        # (-(-a // b): a / b rounded up, in integers.)
        self.init_points = int(init_points) or max(AUTO_INIT_MIN, -(-self.encoder.varying_width() // AUTO_INIT_DIVISOR))
        self.design = SobolDesign(self.encoder, seed)
        self.model_rounds = 0
        # One entry per model round: wall seconds of each part and in total.
        self.round_times: list[dict] = []
        self.data_weights = np.ones(0)  # per row of the latest round's data (see propose)
        self.prior_rows = 0  # how many of those rows, the first ones, are the prior's

    def pending_points(self) -> list[dict]:
        # The canonical JSON of a point is the point itself, sorted: read it back.
        return [json.loads(key) for key in sorted(self.pending)]

    def propose(self, n: int) -> list[dict]:
        seen = self.seen_keys()
        own = len(self.pending | self.evaluated)
        # The prior's successful points come first in the data, then the run's own; each
        # row's weight in the model fits (data_weights) is prior_weight or 1.
        prior = usable(self.prior_data(), self.space.objectives)
        data = prior + usable(self.history, self.space.objectives)
        self.data_weights = np.array([self.prior_weight] * len(prior) + [1.0] * (len(data) - len(prior)))
        self.prior_rows = len(prior)
        # A prior stands in for the initial design: it lasts init_points - len(prior) points.
        if own + len(prior) < self.init_points or len(data) < MIN_MODEL_POINTS:
            return self.design.next(n, seen, own)
        if self.model_rounds == 0:
            # torch is imported at the first model round, not with the strategy: a run
            # that resumes a finished exploration, or is only checked, never pays for it.
            import torch

            # The models are small and the cores are shared with the tool processes
            # the loop starts: more torch threads only add contention.
            torch.set_num_threads(1)
        self.model_rounds += 1
        start = time.perf_counter()
        times: dict = {}
        points = self.model_propose(n, data, seen, times)
        times["total_s"] = time.perf_counter() - start
        self.round_times.append(times)
        log.info(
            "%s round %d: %d point(s) from %d results in %.2f s (%s)",
            self.name,
            self.model_rounds,
            len(points),
            len(data),
            times["total_s"],
            ", ".join(f"{k} {v:.2f}" for k, v in times.items() if k != "total_s"),
        )
        return points

    @abstractmethod
    def model_propose(self, n: int, data: list, seen: set[str], times: dict) -> list[dict]:
        """Up to ``n`` valid unseen points from a model of ``data`` (successful
        evaluations); ``times`` collects the wall seconds of each part."""
