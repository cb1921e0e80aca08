"""A QoR predictor: a ridge regression on all the data plus an ensemble of small
MLPs that model what the linear part leaves. The ridge part's features are the
encoding and, with ``curved`` (the strategy's default), the squares of the
ordinal parameters' columns: a QoR best at an inner value of a parameter (DTLZ's
distance variables, a bowl) is then in reach of the linear part from few points
(DTLZ2 at 30 points: Spearman 0.933 / 0.963 / 0.975 against 0.901 / 0.938 /
0.948), at a small cost on the tables at 16-30 points (docs/experiments/
diffusion-controller.md, "the ridge part's squares"). With ``trends`` (the default
too), each numeric choice of more than two levels (a clock period, a memory
size) adds its value and its log value: its one-hot block alone has no order, so
a linear fit could neither share one slope over the levels nor carry a slope
seen between two clocks to a third (table 2 at 30 points: Spearman 0.965 / 0.644
/ 0.887 against 0.961 / 0.484 / 0.821; docs/experiments/diffusion-controller.md,
"trends in the ridge part"). Each MLP is trained on its own bootstrap resample of
the data and from its own initial weights. The MLPs are kept between rounds and
fine-tuned (warm start); the ridge part is solved again each round (closed form).

Why a linear part: with the few dozen points a run has when it must choose
well, most of a design space's QoR is additive in the encoded parameters
(an objective against a size's log2 position, a knob's one-hot column). Trained
on 50 random rows of table 2, this predictor ranks the held-out rows' area,
power and throughput with Spearman 0.985 / 0.767 / 0.925 against 0.886 / 0.686
/ 0.749 for the MLP ensemble alone; on DTLZ2, which is not additive, the MLPs
on the residual keep it at least as accurate (0.953 / 0.976 / 0.973 against
0.938 / 0.961 / 0.964; ``benchmarks/predictor_accuracy.py``,
docs/experiments/diffusion-controller.md, "a ridge regression in the predictor").

The spread (the screen's uncertainty) has two parts: the MLPs' disagreement
and the ridge part's own posterior spread, sqrt(s2 * min(1, a' C a)) for a
point with encoding a (and a 1 for the intercept), C the inverse of the
penalised normal matrix and s2 the mean squared leave-one-out error of the
ridge fit (the Bayesian linear model's predictive spread, its noise read from
how well the fit predicts points it did not see, capped at that error). The
MLPs' part alone collapses while the ridge part fits fewer points than the
encoding has columns (table 2 at 16 points: mean spread 0.006 against a mean
error of 0.22; with the posterior part 0.17); the posterior part is large
exactly along the encoded directions the data has not pinned down, such as a
one-hot column no point has used. ``mean`` and ``each`` (the gain=members
samples) are the fits' predictions; ``predict`` adds the posterior part to the
spread. Variants (ablations): ``spread="members"`` (the MLPs' disagreement only)
and ``linear=False`` (the MLPs alone)."""

from __future__ import annotations

import torch
from torch import nn

# Ridge penalty on the encoded parameters (each in [-1, 1]; the intercept is not penalised).
# 0.01 and 0.1 rank alike on both tables and DTLZ2; 1 and more lose accuracy with 16 points.
RIDGE = 0.1
# ... and on the squares of the ordinal columns (``curved``): ten times more, so a bowl enters
# the fit only where the data asks for one (at RIDGE the squares cost the tables' ranking at
# 16-30 points: table 1's second objective 0.946 -> 0.879 at 16 points).
SQUARE_RIDGE = 1.0
# ... and on the one-hot columns of a numeric choice with a trend (``trends``): a hundred times
# RIDGE, so its levels are read off the trend's two columns (value and log value, at RIDGE)
# and a level departs from the trend only where the data insists. At RIDGE the one-hot
# columns take most of a slope and the trend carries little of it to a level no point has:
# fitted on table 2's 800 and 1000 ps rows, the ridge part misses the slack at 1250 and
# 1600 ps by -531 ps on average without trends, by -351 / -248 / -177 / -139 with this
# penalty at 1 / 3 / 10 / 100 (docs/experiments/diffusion-controller.md, "trends in the ridge part").
LEVEL_RIDGE = 10.0


def _with_intercept(a: torch.Tensor) -> torch.Tensor:
    """Feature rows with a trailing 1 (the intercept's column), in double precision."""
    return torch.cat([a, torch.ones(len(a), 1)], dim=1).double()


class PredictorEnsemble:
    def __init__(
        self,
        dim: int,
        outputs: int,
        members: int = 5,
        hidden: int = 64,
        linear: bool = True,
        spread: str = "linear+members",
        curved: list[int] | None = None,
        trends: list[tuple] | None = None,
    ):
        """``curved``: encoded columns (ordinal parameters with more than two levels) whose
        squares join the ridge part's features. ``trends``: numeric choices as
        ``SpaceEncoder.trend_columns`` gives them, whose value (and log value) join the
        features as linear maps of their one-hot blocks."""
        self.members = [
            nn.Sequential(
                nn.Linear(dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, outputs)
            )
            for _ in range(members)
        ]
        # fused: one kernel per step for all parameters (the same update, in about half the time on CPU).
        self.optimizers = [
            torch.optim.Adam(m.parameters(), lr=3e-3, weight_decay=1e-4, fused=True) for m in self.members
        ]
        if spread not in ("linear+members", "members"):
            raise ValueError(f"spread must be linear+members or members, got '{spread}'")
        self.linear = linear
        self.posterior = linear and spread == "linear+members"
        self.curved = list(curved or [])
        # One row per trend column: the weights on the encoding that give the value's position
        # (the one-hot block is -1/+1, so position = sum over the block of (x + 1) / 2 * p).
        maps, levels = [], set()
        for start, block, *positions in trends or []:
            levels.update(range(start, start + block))
            for pos in positions:
                if pos is not None:
                    row = torch.zeros(dim)
                    row[start : start + block] = torch.tensor(pos, dtype=torch.float32) / 2
                    maps.append(row)
        self.trend_map = torch.stack(maps, dim=1) if maps else torch.zeros(dim, 0)
        self.trend_offset = self.trend_map.sum(dim=0)
        width = dim + len(self.curved) + self.trend_map.shape[1]
        # The ridge penalty per feature, then 0 for the intercept (see RIDGE and below it).
        self.penalty = torch.diag(
            torch.tensor(
                [LEVEL_RIDGE if i in levels else RIDGE for i in range(dim)]
                + [SQUARE_RIDGE] * len(self.curved)
                + [RIDGE] * self.trend_map.shape[1]
                + [0.0],
                dtype=torch.float64,
            )
        )
        # The ridge part: zero until the first fit (and for linear=False).
        self.weight = torch.zeros(width, outputs)
        self.bias = torch.zeros(outputs)
        self.inverse = torch.zeros(width + 1, width + 1, dtype=torch.float64)  # C, see the module's doc
        self.noise = torch.zeros(outputs, dtype=torch.float64)  # s2 per output

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The ridge part's features of encoded rows: the encoding, the curved columns'
        squares, then the trends' positions (linear in x, so the guidance's gradient too)."""
        parts = [x]
        if self.curved:
            parts.append(x[:, self.curved] ** 2)
        if self.trend_map.shape[1]:
            parts.append(x @ self.trend_map + self.trend_offset)
        return torch.cat(parts, dim=1) if len(parts) > 1 else x

    def fit_linear(self, x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor | None) -> None:
        """Weighted ridge regression on every row (a prior row counts ``weight`` times)."""
        a = _with_intercept(self.features(x))
        w = torch.ones(len(x), dtype=torch.float64) if weights is None else weights.double()
        self.inverse = torch.linalg.inv(a.T @ (a * w[:, None]) + self.penalty)
        coef = self.inverse @ (a.T @ (y.double() * w[:, None]))
        self.weight, self.bias = coef[:-1].float(), coef[-1].float()
        # Leave-one-out residuals of a linear smoother: r_i / (1 - h_i), h_i the row's leverage.
        leverage = self._reach(a) * w
        loo = (y.double() - a @ coef) / (1.0 - leverage.clamp(max=0.99))[:, None]
        self.noise = (loo**2 * w[:, None]).sum(dim=0) / w.sum()

    def _reach(self, a: torch.Tensor) -> torch.Tensor:
        """a' C a per row of ``a`` (features with the intercept's 1)."""
        return (a @ self.inverse * a).sum(dim=1)

    def linear_part(self, x: torch.Tensor) -> torch.Tensor:
        """The ridge part's prediction (zero before the first fit and with linear=False)."""
        return self.features(x) @ self.weight + self.bias

    def fit(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        epochs: int,
        generator: torch.Generator,
        weights: torch.Tensor | None = None,
    ) -> None:
        """``weights`` (one per row): the bootstrap draws rows with these relative
        probabilities, and the ridge part counts them alike."""
        if self.linear:
            self.fit_linear(x, y, weights)
        residual = y - self.linear_part(x)
        for net, opt in zip(self.members, self.optimizers):
            if weights is None:
                idx = torch.randint(0, x.shape[0], (x.shape[0],), generator=generator)
            else:
                idx = torch.multinomial(weights, x.shape[0], replacement=True, generator=generator)
            xb, yb = x[idx], residual[idx]
            net.train()
            for _ in range(epochs):
                loss = ((net(xb) - yb) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            net.eval()

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        """Differentiable ensemble mean (used for guidance)."""
        return self.linear_part(x) + torch.stack([net(x) for net in self.members]).mean(dim=0)

    def each(self, x: torch.Tensor) -> torch.Tensor:
        """Every member's prediction, (members, rows, outputs): the ensemble as samples."""
        with torch.no_grad():
            return self.linear_part(x) + torch.stack([net(x) for net in self.members])

    def predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and spread per output (the spread's two parts: see the module's doc)."""
        preds = self.each(x)
        variance = preds.var(dim=0)
        if self.posterior:
            # a' C a grows without bound along directions no point has pinned down (1 / RIDGE
            # per unit of length): capped at 1, the spread there is the ridge part's
            # leave-one-out error, what an unseen point's prediction misses by.
            reach = self._reach(_with_intercept(self.features(x))).clamp(max=1.0)
            variance = variance + (reach[:, None] * self.noise).float()
        return preds.mean(dim=0), variance.sqrt()
