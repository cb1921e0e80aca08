"""Batch Bayesian optimisation with BoTorch's q-log-Noisy Expected Hypervolume
Improvement (qLogNEHVI, the numerically robust form of qNEHVI).

Mixed and discrete parameters: points are encoded by ``SpaceEncoder`` (ordinal
parameters as one scaled coordinate, choices one-hot) and mapped to [0, 1] for
the GP (a multi-output ``SingleTaskGP`` with standardised outcomes). The
acquisition is not optimised over the continuous box, where most points would
not be legal: it is maximised over a discrete set of *legal* candidates with
``optimize_acqf_discrete`` (sequential greedy for a batch, pending points
included as ``X_pending``). The candidates are the valid points not yet seen:
all of them when the space is enumerable, else a pool drawn from the space;
either way at most ``max_candidates`` (a seeded random subset), which bounds the
time per round. Objectives are normalised by ``QorScaler`` and negated (BoTorch
maximises); the reference point is 0.1 beyond the worst value seen in each.

QoR constraints are BoTorch outcome constraints: the GP also models each
constraint's slack (scaled by its observed spread; <= 0 when met), and the
acquisition gets one constraint callable per slack (negative = feasible), so
qLogNEHVI weights hypervolume improvement by the modelled probability of
feasibility and counts only feasible baseline points in the front.

A prior (``warm_start``) is BoTorch training data: its successful points join
the GP's ``train_X``/``train_Y`` and the acquisition's ``X_baseline`` (so the
improvement is measured over the prior's front too), and they count toward the
initial design (``ModelBasedStrategy``); a prior larger than ``max_prior``
enters by its best ``max_prior`` points (Pareto rank), since the GP's cost grows
with the cube of its points. An exact GP has no per-sample weight:
any ``prior_weight`` above 0 takes the prior in full, 0 leaves it out of the
model (its points are still never proposed)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch

from edalize_dse.extras import require
from edalize_dse.qor import QorScaler
from edalize_dse.qor_constraints import column_scale, slacks
from edalize_dse.strategies.model_based import ModelBasedStrategy


class QnehviStrategy(ModelBasedStrategy):
    name = "qnehvi"
    OPTIONS = {
        "init_points": "Sobol points before the GP is used (default 10)",
        "max_candidates": "legal candidates scored per round (default 256)",
        "mc_samples": "quasi-Monte-Carlo samples of the acquisition (default 32)",
        "max_prior": "prior points in the GP's training data at most, the best by Pareto rank (default 128)",
        "fit_iterations": "L-BFGS iterations of a round's GP fit at most, from the last round's fit (default 60)",
    }

    def __init__(
        self,
        space,
        seed: int = 0,
        init_points: int = 10,
        max_candidates: int = 256,
        mc_samples: int = 32,
        max_prior: int = 128,
        fit_iterations: int = 60,
    ):
        require("bo", "strategy 'qnehvi'")
        super().__init__(space, seed, init_points)
        self.max_candidates = int(max_candidates)
        self.mc_samples = int(mc_samples)
        self.max_prior = int(max_prior)
        self.fit_iterations = int(fit_iterations)
        self.rng = np.random.default_rng(seed)
        self._hyper = None  # (shape, the GP's fitted hyperparameters) of the last round

    def prior_data(self):
        # An exact GP costs the cube of its points, and the acquisition's baseline grows with
        # them: a large prior enters by its best max_prior points (Pareto rank, then the first
        # objective), which hold its front, where the hypervolume improvement is decided.
        data = super().prior_data()
        if len(data) <= self.max_prior:
            return data
        from edalize_dse.pareto import promotion_order

        return promotion_order(data, self.space.objectives)[: self.max_prior]

    def model_propose(self, n, data, seen, times):
        with warnings.catch_warnings():
            # BoTorch/linear_operator advice on dtypes and sparse checks, not problems of this use.
            warnings.simplefilter("ignore")
            return self._round(n, data, seen, times)

    def _round(self, n, data, seen, times):
        # BoTorch is imported on first use: the other strategies do without it.
        from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import SingleTaskGP
        from botorch.models.transforms.outcome import Standardize
        from botorch.optim import optimize_acqf_discrete
        from botorch.sampling.normal import SobolQMCNormalSampler
        from gpytorch.mlls import ExactMarginalLogLikelihood

        start = time.perf_counter()
        torch.manual_seed(self.seed * 100_003 + self.model_rounds)
        scaler = QorScaler(self.space.objectives)
        raw = scaler.raw(data)
        y = -scaler.fit(raw).transform(raw)  # maximisation form, best seen 0, worst -1
        m = y.shape[1]
        slack = slacks([e.qor for e in data], self.space.qor_constraints)
        slack = slack / column_scale(slack)
        to_unit = lambda x: torch.tensor((x + 1.0) / 2.0, dtype=torch.double)  # noqa: E731
        X = to_unit(self.encoder.encode_many([e.params for e in data]))
        # Objectives first, then one outcome per QoR constraint (its slack).
        Y = torch.tensor(np.hstack([y, slack]), dtype=torch.double)
        model = SingleTaskGP(X, Y, outcome_transform=Standardize(m=Y.shape[-1]))
        # The last round's hyperparameters are the start: one more round's points move them
        # little, so a capped number of L-BFGS iterations reaches what a cold fit reaches.
        if self._hyper is not None and self._hyper[0] == tuple(Y.shape[1:]) + tuple(X.shape[1:]):
            model.load_state_dict(self._hyper[1], strict=False)
        fit_gpytorch_mll(
            ExactMarginalLogLikelihood(model.likelihood, model),
            optimizer_kwargs={"options": {"maxiter": self.fit_iterations}},
        )
        self._hyper = (
            tuple(Y.shape[1:]) + tuple(X.shape[1:]),
            {k: v.detach().clone() for k, v in model.state_dict().items() if not k.startswith("outcome_transform")},
        )
        times["fit_s"] = time.perf_counter() - start

        start = time.perf_counter()
        pool, matrix = self.encoder.candidate_pool(self.rng)
        free = [i for i, p in enumerate(pool) if self.space.canonical(p) not in seen]
        if not free:
            return []
        if len(free) > self.max_candidates:
            free = sorted(self.rng.choice(free, size=self.max_candidates, replace=False).tolist())
        choices = to_unit(matrix[free])
        pending = self.pending_points()
        constrained = {}
        if slack.shape[1]:
            from botorch.acquisition.multi_objective.objective import IdentityMCMultiOutputObjective

            constrained = dict(
                objective=IdentityMCMultiOutputObjective(outcomes=list(range(m))),
                constraints=[lambda Z, j=j: Z[..., m + j] for j in range(slack.shape[1])],
            )
        acq = qLogNoisyExpectedHypervolumeImprovement(
            model=model,
            ref_point=torch.full((m,), -1.1, dtype=torch.double),
            X_baseline=X,
            **constrained,
            X_pending=to_unit(self.encoder.encode_many(pending)) if pending else None,
            prune_baseline=True,
            sampler=SobolQMCNormalSampler(sample_shape=torch.Size([self.mc_samples]), seed=self.seed),
        )
        q = min(n, len(free))
        best, _ = optimize_acqf_discrete(acq, q=q, choices=choices, max_batch_size=256)
        # Map each chosen row back to its candidate (rows are exact copies of `choices`).
        picks = []
        for row in best:
            dist = ((choices - row) ** 2).sum(dim=1)
            picks.append(free[int(torch.argmin(dist))])
        times["acquisition_s"] = time.perf_counter() - start
        return [pool[i] for i in dict.fromkeys(picks)]
