"""The scale the predictor fits the objectives on (``diffusion``'s ``model_scale``):
the log of every positive objective (``log``, the default) or the screen's form
(``screen``).

The targets, the denoiser's conditions and the screen's hypervolume all work in
``QorScaler``'s normalised form, which logs an objective only when it spans more
than a decade (``qor.LOG_SPAN``). Under a decade a QoR can still be a product of
the parameters' effects: a throughput is the PE count over the achieved clock
period, a power the switched capacitance times the frequency, a macro's area a
multiple of its banks. On the log, such effects add up, and the predictor's ridge
part, which models sums, fits them from few points. Table 1 spans 3-9x in each
objective, so the screen keeps all three linear. Fitted on 16 random rows, the
predictor ranks the held-out points' power and throughput with Spearman 0.961 /
0.964 on the log against 0.929 / 0.892 on the linear form (area 0.956 against
0.970: a sum of macros and logic) and misses by 0.071 of the range against 0.098
(``benchmarks/results/predictor_accuracy_scale.md``).

With ``log`` the predictor is trained on every positive objective's log
(normalised to the data's range like the screen's form; a span over
``qor.LOG_SPAN_MAX`` stays linear there too) and its predictions are mapped back to
the screen's form: the mean through the exponential, the spread times the map's
slope there. Everything downstream of the predictor is unchanged. On the suite it
takes table 1 to 95 % of its front in 35 evaluations instead of 42, and table 2
with a prior in 38 instead of 55; it costs on synthetic objectives that are sums
or near zero at the front (DTLZ7 0.817 against 0.867 at 100 evaluations, the
hardware-like narrow problems 0.005-0.011) while staying the best strategy on each
problem of the suite (docs/experiments/diffusion-controller.md, "the predictor's
scale")."""

from __future__ import annotations

import numpy as np
import torch

from edalize_dse.qor import QorScaler


class ModelScale:
    def __init__(self, screen: QorScaler, raw: np.ndarray, log: bool = True):
        """``screen``: the fitted scaler of the screen's form; ``raw``: the data's raw
        objectives; ``log``: False keeps the screen's form (nothing is mapped)."""
        self.screen = screen
        self.logged = QorScaler(screen.objectives, log_span=1.0).fit(raw)
        # The objectives fitted on their log here while the screen keeps them linear.
        self.use_log = (self.logged.log & ~screen.log) if log else np.zeros(len(screen.objectives), dtype=bool)
        self.signs = np.array([o.sign for o in screen.objectives], dtype=float)
        self._y_logged = self.logged.transform(raw)

    def targets(self, y: np.ndarray) -> np.ndarray:
        """The predictor's training targets: ``y`` (the data in the screen's form) with the
        objectives fitted on their log replaced by it."""
        return np.where(self.use_log, self._y_logged, y)

    def _linear_of_log(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Values on the log form -> (the screen's linear form, its slope), every column."""

        def as_tensor(values):
            return torch.as_tensor(values, dtype=z.dtype)

        signs, span_log = as_tensor(self.signs), as_tensor(self.logged.span)
        # Clamped where float32's exponential would overflow (a prediction far beyond the data).
        raw = torch.exp((signs * (z * span_log + as_tensor(self.logged.low))).clamp(-80.0, 80.0))
        span = as_tensor(self.screen.span)
        return (signs * raw - as_tensor(self.screen.low)) / span, raw * span_log / span

    def to_screen(self, z: torch.Tensor) -> torch.Tensor:
        """Predictions (the objectives first on the last axis, then any slacks, left as they
        are) -> the screen's form; differentiable (the guidance's gradient passes through it)."""
        if not self.use_log.any():
            return z
        m = len(self.signs)
        value, _ = self._linear_of_log(z[..., :m])
        return torch.cat([torch.where(torch.as_tensor(self.use_log), value, z[..., :m]), z[..., m:]], dim=-1)

    def spread_to_screen(self, z: torch.Tensor, spread: torch.Tensor) -> torch.Tensor:
        """The spreads of predictions ``z`` (laid out as ``to_screen``'s) -> the screen's form:
        an objective fitted on its log has its spread times the map's slope at ``z``."""
        if not self.use_log.any():
            return spread
        m = len(self.signs)
        _, slope = self._linear_of_log(z[..., :m])
        scaled = torch.where(torch.as_tensor(self.use_log), spread[..., :m] * slope, spread[..., :m])
        return torch.cat([scaled, spread[..., m:]], dim=-1)
