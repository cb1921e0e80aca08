"""A mixed design space as a continuous box, and the way back to legal points.

Every parameter becomes one or more coordinates in [-1, 1]:

- ordinal ones (``int``, ``pow2`` as the index of its exponent, ``float``,
  ``bool`` as False/True) one coordinate each, scaled linearly over their index
  range (a float marked ``log`` over the log of its range);
- ``choice`` one coordinate per choice (one-hot, -1/+1), because its values have
  no order the model could exploit.

Decoding snaps each coordinate group to the nearest legal value (rounding of the
index, arg-max of the one-hot block). Legalisation then makes sure nothing
invalid or already seen leaves the strategy: a decoded point that breaks a
constraint, or that was evaluated or is pending, is *repaired* to the nearest
(in the encoded box) valid unseen point. The valid points come from
``Space.enumerate_valid`` when the space is finite and small; otherwise from a
pool of valid points drawn by rejection sampling, so repair never emits an
invalid point either way.
"""

from __future__ import annotations

import math

import numpy as np

from edalize_dse.space import Parameter, Space

# A space with more valid points than this is repaired against a sampled pool.
POOL_SIZE = 4096
# Pool points drawn afresh at each later call (the oldest are replaced, so every point is
# renewed within POOL_SIZE / POOL_REFRESH calls): rejection sampling of a constrained
# space is the slowest part of a controller round, and a whole new pool per round
# cost several seconds on the default space.
POOL_REFRESH = 1024
# Box points drawn at once when sampling the pool, and the most drawn per valid point
# wanted before giving up on a (nearly) empty space.
DRAW_BLOCK = 2048
DRAW_LIMIT = 10_000


class SpaceEncoder:
    def __init__(self, space: Space):
        self.space = space
        self.params: list[Parameter] = list(space.parameters.values())
        # (start, width) of each parameter's block of coordinates.
        self.slices: list[tuple[int, int]] = []
        start = 0
        for p in self.params:
            width = len(p.choices) if p.type == "choice" else 1
            self.slices.append((start, width))
            start += width
        self.dim = start
        self._valid: list[dict] | None = space.enumerate_valid()
        self._valid_matrix = self.encode_many(self._valid) if self._valid else None
        self._valid_keys = [space.canonical(p) for p in self._valid] if self._valid else None
        # The sampled pool of a large space (``candidate_pool``): points, their keys and encodings.
        self._pool: tuple[list[dict], np.ndarray] | None = None
        self._pool_keys: list[str] = []
        self._pool_oldest = 0  # where the next refresh starts replacing
        self._drawn_keys: tuple = (None, [])  # the last fresh pool and its keys

    def varying_width(self) -> int:
        """How many coordinates can differ between points: those of the parameters with
        more than one value (a one-value parameter's coordinate is the same everywhere)."""
        width = 0
        for p, (_, block) in zip(self.params, self.slices):
            values = p.values()
            if values is None or len(values) > 1:
                width += block
        return width

    def curved_columns(self) -> list[int]:
        """Columns of the ordinal parameters with more than two levels (int, pow2, float): a
        QoR can bend along them (best at an inner value), which the square of the column
        lets a linear model fit; a choice's one-hot columns and a bool square to a constant."""
        columns = []
        for p, (start, width) in zip(self.params, self.slices):
            if p.type in ("int", "pow2", "float"):
                values = p.values()
                if values is None or len(values) > 2:
                    columns.append(start)
        return columns

    def trend_columns(self) -> list[tuple[int, int, list[float], list[float] | None]]:
        """The numeric choices with more than two levels (a clock period, a memory size):
        (start, width, positions, log positions) per parameter, each position the value's
        place in [-1, 1] along its range (log positions: of the log, None unless every value
        is positive). Their one-hot block says nothing of the order of the values; the
        positions let a linear model carry a trend seen over some levels to others, such as
        a timing slack over a clock it has no point at (docs/experiments/diffusion-controller.md,
        "trends in the ridge part")."""
        trends = []
        for p, (start, width) in zip(self.params, self.slices):
            values = p.choices if p.type == "choice" else []
            if len(values) > 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                low, high = min(values), max(values)
                if high == low:  # 0, 0.0 and -0.0: no order to speak of
                    continue
                positions = [2.0 * (v - low) / (high - low) - 1.0 for v in values]
                logs = None
                if low > 0:
                    logs = [2.0 * math.log(v / low) / math.log(high / low) - 1.0 for v in values]
                trends.append((start, width, positions, logs))
        return trends

    # ---- one parameter
    @staticmethod
    def _ordinal_position(p: Parameter, value) -> float:
        """The value's place in [0, 1] along the parameter's range."""
        if p.type == "float":
            if p.high == p.low:
                return 0.5
            if p.log:
                return (math.log(value) - math.log(p.low)) / (math.log(p.high) - math.log(p.low))
            return (value - p.low) / (p.high - p.low)
        values = p.values()
        if len(values) == 1:
            return 0.5
        return values.index(value) / (len(values) - 1)

    @staticmethod
    def _ordinal_value(p: Parameter, position: float):
        position = min(max(float(position), 0.0), 1.0)
        if p.type == "float":
            if p.log:
                value = math.exp(math.log(p.low) + position * (math.log(p.high) - math.log(p.low)))
            else:
                value = p.low + position * (p.high - p.low)
            # Rounding in exp/log must not step outside the domain.
            return float(min(max(value, p.low), p.high))
        values = p.values()
        return values[int(round(position * (len(values) - 1)))]

    # ---- points
    def encode(self, point: dict) -> np.ndarray:
        x = np.empty(self.dim)
        for p, (start, width) in zip(self.params, self.slices):
            if p.type == "choice":
                x[start : start + width] = -1.0
                x[start + p.choices.index(point[p.name])] = 1.0
            else:
                x[start] = 2.0 * self._ordinal_position(p, point[p.name]) - 1.0
        return x

    def encode_many(self, points: list[dict]) -> np.ndarray:
        return np.array([self.encode(p) for p in points], dtype=float).reshape(len(points), self.dim)

    def decode(self, x) -> dict:
        """The nearest box point (each parameter snapped on its own; constraints not checked)."""
        x = np.asarray(x, dtype=float)
        point = {}
        for p, (start, width) in zip(self.params, self.slices):
            if p.type == "choice":
                point[p.name] = p.choices[int(np.argmax(x[start : start + width]))]
            else:
                point[p.name] = self._ordinal_value(p, (x[start] + 1.0) / 2.0)
        return point

    def from_unit(self, u) -> dict:
        """Decode a point of the unit cube [0, 1]^k, k = number of parameters (one
        coordinate per parameter, as Sobol or LHS designs give): a choice takes the
        ``floor(u * n)``-th value so each choice gets an equal share."""
        point = {}
        for p, ui in zip(self.params, u):
            ui = min(max(float(ui), 0.0), 1.0)
            if p.type == "float":
                point[p.name] = self._ordinal_value(p, ui)
            else:
                values = p.values()
                point[p.name] = values[min(int(ui * len(values)), len(values) - 1)]
        return point

    def neighbours(self, bases: np.ndarray, count: int, rng) -> np.ndarray:
        """``count`` box points, each a copy of a base row (drawn in turn from the
        encoded ``bases``) with one or two parameters moved: an ordinal one to an
        index at most two steps away, a choice to another value, a float by a tenth of
        its range. Decoded and legalised like any sample, they are the local moves of
        a search around the best points so far."""
        bases = np.atleast_2d(np.asarray(bases, dtype=float))
        out = bases[np.arange(count) % len(bases)].copy()
        movable = [i for i, p in enumerate(self.params) if p.type == "float" or len(p.values()) > 1]
        if not movable:
            return out
        for row in out:
            for i in rng.choice(movable, size=min(len(movable), int(rng.integers(1, 3))), replace=False):
                p, (start, width) = self.params[i], self.slices[i]
                if p.type == "choice":
                    now = int(np.argmax(row[start : start + width]))
                    other = (now + int(rng.integers(1, width))) % width
                    row[start : start + width] = -1.0
                    row[start + other] = 1.0
                    continue
                if p.type == "float":
                    moved = row[start] + 0.2 * float(rng.choice([-1.0, 1.0]))
                    # A move past an end goes the other way, so an end value still moves.
                    row[start] = moved if -1.0 <= moved <= 1.0 else 2 * row[start] - moved
                    continue
                last = len(p.values()) - 1
                now = int(round((row[start] + 1.0) / 2.0 * last))
                near = [j for j in range(max(0, now - 2), min(last, now + 2) + 1) if j != now]
                row[start] = 2.0 * int(rng.choice(near)) / last - 1.0
        return np.clip(out, -1.0, 1.0)

    def recombine(self, bases: np.ndarray, count: int, rng) -> np.ndarray:
        """``count`` box points whose every parameter is taken from a base row drawn
        for that parameter alone (uniform crossover of the encoded ``bases``): what the
        best points agree on is kept, what they vary in is mixed."""
        bases = np.atleast_2d(np.asarray(bases, dtype=float))
        out = np.empty((count, self.dim))
        for start, width in self.slices:
            donors = rng.integers(len(bases), size=count)
            out[:, start : start + width] = bases[donors, start : start + width]
        return out

    def parzen(self, bases: np.ndarray, count: int, rng) -> np.ndarray:
        """``count`` box points drawn parameter by parameter from a Parzen density of
        the encoded ``bases`` (a TPE-style l(x)): each parameter takes a base row's
        value, drawn for that parameter alone, moved by a small kernel (an ordinal
        index one step either way with probability 1/2, a float by a normal of a tenth
        of its range), or, with probability 1 / (len(bases) + 1), a uniform value (the
        prior component, so no legal value has density zero). What the good points
        agree on is sampled densely, what they vary in stays spread."""
        bases = np.atleast_2d(np.asarray(bases, dtype=float))
        uniform = 1.0 / (len(bases) + 1)
        out = np.empty((count, self.dim))
        for p, (start, width) in zip(self.params, self.slices):
            donors = bases[rng.integers(len(bases), size=count), start : start + width]
            prior = rng.random(count) < uniform
            if p.type == "choice":
                pick = np.where(prior, rng.integers(width, size=count), np.argmax(donors, axis=1))
                block = np.full((count, width), -1.0)
                block[np.arange(count), pick] = 1.0
                out[:, start : start + width] = block
                continue
            if p.type == "float":
                moved = donors[:, 0] + rng.normal(0.0, 0.2, count)
                out[:, start] = np.where(prior, rng.uniform(-1.0, 1.0, count), np.clip(moved, -1.0, 1.0))
                continue
            last = len(p.values()) - 1
            if last == 0:
                out[:, start] = donors[:, 0]
                continue
            index = np.rint((donors[:, 0] + 1.0) / 2.0 * last).astype(int)
            step = rng.choice([-1, 0, 0, 1], size=count)
            index = np.clip(np.where(prior, rng.integers(last + 1, size=count), index + step), 0, last)
            out[:, start] = 2.0 * index / last - 1.0
        return out

    # ---- legal points
    def unseen_valid(self, seen: set[str], limit: int) -> list[dict] | None:
        """Every valid point not in ``seen``, when the space is enumerated and has at
        most ``limit`` valid points; else None."""
        if self._valid is None or len(self._valid) > limit:
            return None
        return [p for p, k in zip(self._valid, self._valid_keys) if k not in seen]

    def candidate_pool(self, rng) -> tuple[list[dict], np.ndarray]:
        """Valid points to repair against: all of them when enumerable, else a fresh
        sample of ``POOL_SIZE`` drawn with ``rng`` (a function of it alone, so a seeded
        caller repairs the same way whatever it asked before)."""
        if self._valid is not None:
            return self._valid, self._valid_matrix
        points, keys = self._draw(POOL_SIZE, rng, set())
        self._drawn_keys = (points, keys)
        return points, self.encode_many(points)

    def rolling_pool(self, rng) -> tuple[list[dict], np.ndarray]:
        """Like ``candidate_pool``, for a caller that repairs every round (the diffusion
        controller): a large space's sample is drawn once, then each call replaces its
        ``POOL_REFRESH`` oldest points with fresh ones drawn with ``rng``, at a quarter
        of the cost of a new pool. The pool then depends on the calls before: replaying
        them (a resumed run in rounds) gives it back."""
        if self._valid is not None:
            return self._valid, self._valid_matrix
        if self._pool is None:
            points, keys = self._draw(POOL_SIZE, rng, set())
            self._pool, self._pool_keys = (points, self.encode_many(points)), keys
            return self._pool
        points, matrix = list(self._pool[0]), self._pool[1].copy()
        keys = list(self._pool_keys)
        # Fresh points differ from every pool point, so the pool never holds one twice.
        fresh, fresh_keys = self._draw(min(POOL_REFRESH, len(points)), rng, set(keys))
        slots = [(self._pool_oldest + i) % len(points) for i in range(len(fresh))]
        for i, point, key in zip(slots, fresh, fresh_keys):
            points[i], keys[i] = point, key
        if fresh:
            matrix[slots] = self.encode_many(fresh)
        self._pool_oldest = (self._pool_oldest + len(fresh)) % len(points)
        self._pool, self._pool_keys = (points, matrix), keys
        return self._pool

    def _draw(self, count: int, rng, taken: set[str]) -> tuple[list[dict], list[str]]:
        """``count`` valid points drawn uniformly (as ``Space.sample`` does: each parameter
        uniform over its values, invalid points rejected), less those in ``taken`` and
        repeats. Box points are drawn a block at a time, each parameter's column at
        once: one random call per parameter rather than per parameter and point."""
        names = [p.name for p in self.params]
        points, keys, valid, drawn = [], [], 0, 0
        while valid < count and drawn < DRAW_LIMIT * count:
            if drawn >= DRAW_LIMIT and not valid:
                self.space.sample(rng)  # (almost) no valid point: the space's own one-line error
            columns = [self._column(p, rng, DRAW_BLOCK) for p in self.params]
            drawn += DRAW_BLOCK
            for values in zip(*columns):
                point = dict(zip(names, values))
                if not all(c.holds(point) for c in self.space.constraints):
                    continue
                valid += 1
                key = self.space.canonical(point)
                if key not in taken:
                    taken.add(key)
                    points.append(point)
                    keys.append(key)
                if valid == count:
                    break
        return points, keys

    @staticmethod
    def _column(p: Parameter, rng, size: int) -> list:
        """``size`` uniform draws of one parameter, as Python values (``Parameter.sample``'s law)."""
        if p.type == "float":
            if p.log:
                return [float(v) for v in np.exp(rng.uniform(math.log(p.low), math.log(p.high), size))]
            return [float(v) for v in rng.uniform(p.low, p.high, size)]
        values = p.values()
        return [values[int(i)] for i in rng.integers(len(values), size=size)]

    def legalise(self, xs, seen: set[str], rng, pool=None) -> list[dict]:
        """One valid, unseen, distinct point per row of ``xs`` (fewer when the space
        runs out). A decoded point that is valid and new is kept as it is; any other
        is repaired to the nearest valid point in the encoded box that is neither in
        ``seen`` (canonical JSON of evaluated and pending points) nor already chosen."""
        xs = np.atleast_2d(np.asarray(xs, dtype=float))
        taken = set(seen)
        chosen: list[dict] = []
        points, matrix = pool if pool is not None else self.candidate_pool(rng)
        if points is self._valid:
            keys = self._valid_keys
        elif self._pool is not None and points is self._pool[0]:
            keys = self._pool_keys
        elif self._drawn_keys[0] is points:
            keys = self._drawn_keys[1]
        else:
            keys = [self.space.canonical(p) for p in points]
        index = {k: i for i, k in enumerate(keys)}
        free = np.array([k not in taken for k in keys], dtype=bool)
        for x in xs:
            point = self.decode(x)
            key = self.space.canonical(point)
            if key in taken or not self.space.is_valid(point):
                if not free.any():
                    break
                dist = np.where(free, ((matrix - x) ** 2).sum(axis=1), np.inf)
                nearest = int(np.argmin(dist))
                point, key = points[nearest], keys[nearest]
            chosen.append(point)
            taken.add(key)
            if key in index:
                free[index[key]] = False
        return chosen
