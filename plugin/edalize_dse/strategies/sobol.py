"""Scrambled Sobol sequence over the parameters (scipy.stats.qmc), one coordinate
per parameter; each Sobol point is decoded to the box and, when it breaks a
constraint or was already seen, repaired to the nearest valid unseen point (see
``encoding.SpaceEncoder.legalise``). Also the initial design of the model-based
strategies."""

from __future__ import annotations

import warnings

import numpy as np

from edalize_dse.encoding import SpaceEncoder
from edalize_dse.strategies.base import Strategy


class SobolDesign:
    """The seeded Sobol stream, as legal points."""

    def __init__(self, encoder: SpaceEncoder, seed: int):
        self.encoder = encoder
        self._sampler = None
        self.seed = seed
        self.drawn = 0

    @property
    def sampler(self):
        # scipy.stats loads in about a second: only when the first point is drawn.
        if self._sampler is None:
            from scipy.stats import qmc

            self._sampler = qmc.Sobol(d=len(self.encoder.params), scramble=True, seed=self.seed)
        return self._sampler

    def next(self, n: int, seen: set[str], own: int | None = None) -> list[dict]:
        """Up to ``n`` legal points not in ``seen``; ``own``: how many of ``seen`` this run
        asked or told (default all; a prior's excluded points are not)."""
        own = len(seen) if own is None else own
        # Points told without being asked here (a resumed run) came from the same
        # seeded sequence: skip them rather than repair onto their neighbours.
        if own > self.drawn:
            self.sampler.fast_forward(own - self.drawn)
            self.drawn = own
        # The repair pool of a large space is sampled: seed it by the position in the
        # sequence, so a resumed run repairs exactly as an uninterrupted one.
        rng = np.random.default_rng([self.seed, self.drawn])
        self.drawn += n
        with warnings.catch_warnings():
            # Batches of worker-slot size are rarely powers of two; the sequence is consumed in order anyway.
            warnings.simplefilter("ignore", UserWarning)
            units = self.sampler.random(n)
        xs = [self.encoder.encode(self.encoder.from_unit(u)) for u in units]
        return self.encoder.legalise(xs, seen, rng)


class SobolStrategy(Strategy):
    name = "sobol"

    def __init__(self, space, seed: int = 0):
        super().__init__(space, seed)
        self.design = SobolDesign(SpaceEncoder(space), seed)

    def propose(self, n: int) -> list[dict]:
        return self.design.next(n, self.seen_keys(), len(self.pending | self.evaluated))
