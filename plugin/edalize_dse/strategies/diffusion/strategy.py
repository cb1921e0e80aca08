"""DiffuSE: conditional diffusion over the mixed design space, guided by a QoR
predictor and conditioned on Pareto-aware targets (the default strategy).

After the Sobol initial design of ``ModelBasedStrategy``, each model round
fine-tunes the denoiser (``diffusion.denoiser``) and the predictor
(``diffusion.predictor``: a ridge regression plus an MLP ensemble on its residual) on
the encoded points and their normalised QoR (the predictor on the log of each positive
objective, ``diffusion.model_scale``); picks conditioning targets beyond
the front (``diffusion.targets``); samples candidates by DDIM with classifier-free
guidance and the predictor's gradient; adds uniform (``explore``), Parzen-density
(``density``) and optionally local or recombined candidates; legalises them to
valid unseen points; and keeps the batch with the largest greedy predicted
hypervolume gain (``diffusion.screening``), optimistic by ``kappa`` spreads (more
with a prior's data, ``prior_kappa``). While batches stop moving the front
(``stall_test``), the screen grows more optimistic (``stall_growth``) and part of the
candidates become local moves of the front's points (``stall_local``). QoR
constraints make the targets feasible-only, the guidance slack-aware and the screen
weighted by the predicted probability of feasibility.
A prior (``warm_start``) is training data from the first model round on, weighted
by ``prior_weight``. The other options are ablation switches (``OPTIONS``). Every
draw is seeded by (seed, round): the same seed, prior and told history give the
same proposals. Why each default: docs/experiments/diffusion-controller.md."""

from __future__ import annotations

import time

import moocore
import numpy as np

from edalize_dse.qor import QorScaler
from edalize_dse.qor_constraints import anchor_rows, column_scale, probability_feasible, slacks
from edalize_dse.strategies.diffusion.model_scale import ModelScale
from edalize_dse.strategies.diffusion.targets import RULES, STEP_START, adapt_step, select_targets
from edalize_dse.strategies.model_based import ModelBasedStrategy

# The most candidates the greedy hypervolume screen scores one by one (see model_propose).
SCREEN_CAP = 1024
# gain=members scores each candidate once per ensemble member: it sees at most this many.
SAMPLED_CAP = 256
# The most the screen's optimism grows in a stall (``stall_growth``, ``optimism``).
STALL_CAP = 4.0
# stall_test=hv: a batch that adds less than this share of the front's hypervolume is a stall.
STALL_PROGRESS = 0.003
# The largest share of the candidates a stall turns into local moves (``stall_local``).
STALL_LOCAL_CAP = 0.5
# The predictor's variants (``predictor``), the default first.
PREDICTORS = ("quadratic+trend+mlp", "quadratic+mlp", "linear+mlp", "mlp")


class DiffusionStrategy(ModelBasedStrategy):
    name = "diffusion"
    OPTIONS = {
        "init_points": "Sobol points before the models are used (default 0: a third of the encoding's varying "
        "coordinates, at least 8)",
        "candidates": "points sampled from the diffusion model per round, before screening (default 256)",
        "targets": "conditioning targets per round (default 16)",
        "ddim_steps": "DDIM sampling steps (default 20)",
        "cfg_weight": "classifier-free guidance weight w (default 1.0)",
        "guide_scale": "predictor-gradient guidance scale (default 2.0)",
        "train_steps": "denoiser training steps in the first round (default 1500)",
        "finetune_steps": "denoiser steps in later rounds (warm start; default 300)",
        "kappa": "spreads subtracted from the predicted QoR when screening, with data of the run's own only "
        "(default 0.5)",
        "prior_kappa": "the same when all the data is a prior's; with a share s of the data's weight from a "
        "prior, the screen subtracts kappa + s * (prior_kappa - kappa) spreads (default 1.0)",
        "stall_growth": "the screen's kappa grows by this factor per stalled model round in a row (stall_test; "
        f"at most {STALL_CAP:g} times; back once a batch moves the front; 1: never; default 1.5)",
        "stall_test": "what counts as a stalled round: hv (the last batch added less than "
        f"{STALL_PROGRESS:.1%} of the feasible front's hypervolume; default) or front (no point of the last "
        "batch is on the front)",
        "stall_local": "share of the candidates that becomes local moves of the front's points per stalled "
        f"round, taken from the model's and the density's shares (at most {STALL_LOCAL_CAP:g}; 0: off; "
        "default 0.125)",
        "explore": "share of candidates drawn uniformly from the legal points (default 0.25)",
        "local": "share of candidates that are local moves (one or two parameters changed) of the "
        "current front's points (default 0.0)",
        "recombine": "share of candidates that mix the current front's points parameter by parameter (default 0.0)",
        "density": "share of candidates drawn from a per-parameter Parzen density of the best quarter of the "
        "points by Pareto rank (a TPE-style l(x); default 0.5)",
        "reference": "the screen's hypervolume reference: mixed (the front's for the first half of each batch, "
        "the seen range's for the rest; default), seen (0.1 beyond the worst value seen) or front "
        "(0.1 of the front's extent beyond the front's nadir)",
        "exploit": "share of each batch picked by the predicted mean's hypervolume gain (kappa 0) before the "
        "rest is picked optimistically (default 0.0)",
        "gain": "the screen's hypervolume gain: optimistic (of the ensemble mean minus kappa spreads; default) "
        "or members (averaged over the ensemble members' predictions, each member keeping its own "
        f"front of the batch so far; kappa then only orders the cut to {SAMPLED_CAP} candidates, exploit "
        "is unused)",
        "target_rule": "conditioning targets: hv (front points weighted by hypervolume contribution, pushed "
        "beyond the front; default), uniform (unweighted), front (not pushed)",
        "screen_all": "a space with at most this many valid points has every unseen one screened besides "
        "the candidates (0: only the candidates; default 0)",
        "repeats": "what becomes of the model's samples that decode to a seen point or repeat an earlier "
        "sample: repair (each repaired to the nearest unseen point; default), density (each replaced by a "
        "draw of the density source, a uniform one with density 0) or copies (only the samples that repeat "
        "an earlier one are replaced; one that decodes to a seen point is still repaired) or neighbour (each "
        "replaced by a move of one or two of its parameters, a choice's included)",
        "screen": "how the batch is chosen from the candidates: hv (greedy predicted hypervolume gain; "
        "default) or random (no screening, an ablation)",
        "predictor": "the QoR predictor: quadratic+trend+mlp (a ridge regression on all points, on the encoding, "
        "the squares of its ordinal columns and the value and log value of each numeric choice of "
        "more than two levels, plus the MLP ensemble on what it leaves; default), quadratic+mlp "
        "(without the trends), linear+mlp (without the squares too) or mlp (the MLP ensemble alone)",
        "model_scale": "the scale the predictor fits the objectives on: log (the log of every positive objective, "
        "where products of the parameters' effects such as a design's throughput add up, its predictions mapped "
        "back to the screen's form; default) or screen (the screen's form, which logs an objective only across "
        "more than a decade)",
        "spread": "the predictor's uncertainty the screen uses: linear+members (the ridge part's posterior spread "
        "plus the MLPs' disagreement; default) or members (the MLPs' disagreement only)",
    }

    def __init__(
        self,
        space,
        seed: int = 0,
        init_points: int = 0,
        candidates: int = 256,
        targets: int = 16,
        ddim_steps: int = 20,
        cfg_weight: float = 1.0,
        guide_scale: float = 2.0,
        train_steps: int = 1500,
        finetune_steps: int = 300,
        kappa: float = 0.5,
        prior_kappa: float = 1.0,
        stall_growth: float = 1.5,
        stall_test: str = "hv",
        stall_local: float = 0.125,
        explore: float = 0.25,
        local: float = 0.0,
        recombine: float = 0.0,
        density: float = 0.5,
        reference: str = "mixed",
        exploit: float = 0.0,
        target_rule: str = "hv",
        screen: str = "hv",
        repeats: str = "repair",
        screen_all: int = 0,
        gain: str = "optimistic",
        predictor: str = "quadratic+trend+mlp",
        spread: str = "linear+members",
        model_scale: str = "log",
    ):
        super().__init__(space, seed, init_points)
        self.candidates = int(candidates)
        self.targets = int(targets)
        self.ddim_steps = int(ddim_steps)
        self.cfg_weight = float(cfg_weight)
        self.guide_scale = float(guide_scale)
        self.train_steps = int(train_steps)
        self.finetune_steps = int(finetune_steps)
        self.kappa = float(kappa)
        self.prior_kappa = float(prior_kappa)
        if self.kappa < 0 or self.prior_kappa < 0:
            raise ValueError(
                f"kappa and prior_kappa are spreads of optimism, >= 0 (got {self.kappa}, {self.prior_kappa})"
            )
        self.stall_growth = float(stall_growth)
        if self.stall_growth < 1:
            raise ValueError(f"stall_growth must be at least 1 (1: off), got {self.stall_growth}")
        self.stall_test = str(stall_test)
        if self.stall_test not in ("hv", "front"):
            raise ValueError(f"stall_test must be hv or front, got '{self.stall_test}'")
        self.stall_local = float(stall_local)
        if self.stall_local < 0:
            raise ValueError(f"stall_local is a share of the candidates, >= 0, got {self.stall_local}")
        self.explore = float(explore)
        self.local = float(local)
        self.recombine = float(recombine)
        self.density = float(density)
        self.reference = str(reference)
        self.exploit = float(exploit)
        if not 0.0 <= self.exploit <= 1.0:
            raise ValueError(f"exploit is a share of the batch, in [0, 1], got {self.exploit}")
        if self.reference not in ("seen", "front", "mixed"):
            raise ValueError(f"reference must be seen, front or mixed, got '{self.reference}'")
        self.target_rule, self.screen = str(target_rule), str(screen)
        self.repeats = str(repeats)
        if self.repeats not in ("density", "copies", "repair", "neighbour"):
            raise ValueError(f"repeats must be density, copies, repair or neighbour, got '{self.repeats}'")
        self.screen_all = int(screen_all)
        if self.target_rule not in RULES:
            raise ValueError(f"target_rule must be one of {', '.join(RULES)}, got '{self.target_rule}'")
        if self.screen not in ("hv", "random"):
            raise ValueError(f"screen must be hv or random, got '{self.screen}'")
        self.gain = str(gain)
        if self.gain not in ("optimistic", "members"):
            raise ValueError(f"gain must be optimistic or members, got '{self.gain}'")
        self.predictor_kind = str(predictor)
        if self.predictor_kind not in PREDICTORS:
            raise ValueError(f"predictor must be one of {', '.join(PREDICTORS)}, got '{self.predictor_kind}'")
        self.spread = str(spread)
        if self.spread not in ("linear+members", "members"):
            raise ValueError(f"spread must be linear+members or members, got '{self.spread}'")
        self.model_scale = str(model_scale)
        if self.model_scale not in ("log", "screen"):
            raise ValueError(f"model_scale must be log or screen, got '{self.model_scale}'")
        if self.candidates < 1 or self.targets < 1 or self.ddim_steps < 1:
            raise ValueError("candidates, targets and ddim_steps must be at least 1")
        shares = {"explore": self.explore, "local": self.local, "recombine": self.recombine, "density": self.density}
        if min(shares.values()) < 0.0 or sum(shares.values()) >= 1.0:
            raise ValueError(
                "explore, local, recombine and density are shares of the candidates: each >= 0, "
                f"their sum below 1 (got {', '.join(f'{k} {v}' for k, v in shares.items())})"
            )
        self.step = STEP_START
        self.stalled = 0  # model rounds in a row whose batch did not move the front (stall_test)
        self.last_batch: set[str] = set()
        self.denoiser = None  # diffusion.denoiser.Denoiser, from the first model round
        self.predictor = None  # diffusion.predictor.PredictorEnsemble, likewise

    def optimism(self) -> float:
        """The screen's kappa this round: ``kappa`` with the run's own data only, moving to
        ``prior_kappa`` with the share of the data's weight that is a prior's (its rows come
        first, ``prior_rows`` of them).

        Why two values (docs/experiments/diffusion-controller.md): without a prior, a
        screen that trusts the predicted mean more wins the DTLZ family (kappa 0.5 against
        1: DTLZ2 0.868 against 0.843 at 100 evaluations, ZDT3 0.973 against 0.934). With a
        prior, the front the screen measures gains against is mostly the prior's: by their
        means, the run's own candidates (another clock set) gain little against it, and only
        optimism moves the run on (table 1, prior of the 500 ps rows: 12 evaluations to 95 %
        with kappa 1, 25 with 0.5, 63 with 0). Measuring against the run's own front instead
        frees table 1 at any kappa (13) but loses table 2's transfer (52 against 36), where
        the prior's front is the right bar. The share moves from one regime to the other as
        the run's own data outweighs the prior's."""
        total = float(self.data_weights.sum())
        borrowed = float(self.data_weights[: self.prior_rows].sum()) / total if total > 0 else 0.0
        # A stall: when the batches stop moving the front, the predictor has stopped seeing
        # gains where there are some (ZDT2: a run's front stuck at x1 <= 0.6 for 70 evaluations,
        # its batches all fallbacks); more optimism per stalled round until one does.
        return (self.kappa + borrowed * (self.prior_kappa - self.kappa)) * min(
            self.stall_growth**self.stalled, STALL_CAP
        )

    def candidate_shares(self) -> dict[str, float]:
        """This round's share of the candidates from each source: the model's samples, the
        Parzen density, local moves of the front's points, recombinations and uniform draws.
        A stall changes the candidates, not only the screen's optimism: on a narrow space the
        model and the density collapse onto a few front points and stop offering points that
        move the front, and the screen cannot pick what is not among the candidates, so each
        stalled round moves ``stall_local`` of their share to moves of one or two parameters of
        the front's points, choices included (docs/experiments/diffusion-controller.md)."""
        model = 1 - self.explore - self.local - self.recombine - self.density
        density = self.density
        shift = min(self.stall_local * self.stalled, STALL_LOCAL_CAP, model + density)
        keep = 1 - shift / (model + density) if model + density > 0 else 1.0
        return {
            "model": model * keep,
            "density": density * keep,
            "local": self.local + shift,
            "recombine": self.recombine,
            "explore": self.explore,
        }

    # ---- one round
    def model_propose(self, n, data, seen, times):
        # torch and the models load with the first model round (see ModelBasedStrategy.propose).
        import torch

        from edalize_dse.strategies.diffusion import denoiser as dn
        from edalize_dse.strategies.diffusion.predictor import PredictorEnsemble
        from edalize_dse.strategies.diffusion.screening import (
            front_reference,
            select_batch,
            select_batch_sampled,
            shortfall,
        )

        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.model_rounds)
        rng = np.random.default_rng([self.seed, self.model_rounds])
        objectives = self.space.objectives

        start = time.perf_counter()
        scaler = QorScaler(objectives)
        raw = scaler.raw(data)
        y = scaler.fit(raw).transform(raw)
        m = len(objectives)
        slack = slacks([e.qor for e in data], self.space.qor_constraints)
        slack_scaled = slack / column_scale(slack)
        x = torch.tensor(self.encoder.encode_many([e.params for e in data]), dtype=torch.float32)
        yt = torch.tensor(y, dtype=torch.float32)
        # Prior rows weigh prior_weight against the run's own (None: all alike, the plain draw).
        weights = None if np.all(self.data_weights == 1.0) else torch.tensor(self.data_weights, dtype=torch.float32)
        first = self.denoiser is None
        if first:
            torch.manual_seed(self.seed)  # initial weights
            self.denoiser = dn.Denoiser(self.encoder.dim, m)
            # fused: the same Adam update in one kernel per step (a third less time on CPU).
            self.denoiser_opt = torch.optim.Adam(self.denoiser.parameters(), lr=2e-3, fused=True)
            # The predictor gains one output per QoR constraint: its scaled slack.
            self.predictor = PredictorEnsemble(
                self.encoder.dim,
                m + slack.shape[1],
                linear=self.predictor_kind != "mlp",
                spread=self.spread,
                curved=self.encoder.curved_columns() if "quadratic" in self.predictor_kind else None,
                trends=self.encoder.trend_columns() if "trend" in self.predictor_kind else None,
            )
        dn.train(
            self.denoiser,
            x,
            2 * yt - 1,
            self.train_steps if first else self.finetune_steps,
            gen,
            self.denoiser_opt,
            weights=weights,
        )
        # The predictor fits positive objectives on their log, where products of effects add up;
        # its predictions are mapped back to y's form (diffusion.model_scale).
        scale = ModelScale(scaler, raw, log=self.model_scale == "log")
        self.predictor.fit(
            x,
            torch.tensor(np.hstack([scale.targets(y), slack_scaled]), dtype=torch.float32),
            300 if first else 100,
            gen,
            weights=weights,
        )
        times["finetune_s"] = time.perf_counter() - start

        start = time.perf_counter()
        # Targets are conditioned on feasible points only (or, before any, on the closest ones).
        anchors = anchor_rows(slack)
        on_front = np.zeros(len(y), dtype=bool)
        on_front[anchors[moocore.is_nondominated(y[anchors])]] = True
        front = y[on_front]
        keys = [self.space.canonical(e.params) for e in data]
        in_batch = np.array([k in self.last_batch for k in keys])
        success = bool(np.any(in_batch & on_front))
        if not first:
            self.step = adapt_step(self.step, success)
            moved = success if self.stall_test == "front" else front_progress(y, anchors, in_batch) >= STALL_PROGRESS
            self.stalled = 0 if moved else self.stalled + 1
        targets = select_targets(front, self.targets, self.step, rng, self.target_rule)
        shares = self.candidate_shares()
        per_target = max(1, int(round(self.candidates * shares["model"])) // len(targets))
        goal = torch.tensor(np.repeat(targets, per_target, axis=0), dtype=torch.float32)

        def guide(x0):
            predicted = scale.to_screen(self.predictor.mean(x0))
            # Distance to the target, plus the predicted constraint misses (zero when met).
            return ((predicted[:, :m] - goal) ** 2).sum(dim=1) + (torch.relu(predicted[:, m:]) ** 2).sum(dim=1)

        x0 = dn.ddim_sample(
            self.denoiser,
            2 * goal - 1,
            self.encoder.dim,
            gen,
            self.ddim_steps,
            self.cfg_weight,
            guide,
            self.guide_scale,
        )
        sampled = x0.numpy()
        repeats = 0
        if self.repeats != "repair":
            # A sample that decodes to a point seen already, or to one an earlier sample gave,
            # is the model repeating itself; legalise repairs each repeat to its nearest unseen
            # point, a one-step ordinal move (never a choice's: a one-hot change is far in the
            # box). On a narrow space most of the model's samples are such repeats once it has
            # collapsed onto a few front points. These ablations draw them elsewhere instead:
            # from the density source (uniformly with density 0), or as local moves that may
            # change a choice. Measured on the narrow problems, none was adopted: the stall's
            # local moves did more (docs/experiments/diffusion-controller.md, "narrow spaces").
            first: dict[str, int] = {}
            decoded = [self.encoder.decode(row) for row in sampled]
            keys = [self.space.canonical(point) for point in decoded]
            fresh = [
                i
                for i, key in enumerate(keys)
                if (self.repeats == "copies" or key not in seen) and first.setdefault(key, i) == i
            ]
            if self.repeats == "neighbour":
                # Each repeat becomes a move of one or two of its parameters, a choice's
                # included: local like a repair, but not blind to the choices.
                stale = np.setdiff1d(np.arange(len(sampled)), fresh)
                bases = self.encoder.encode_many([decoded[i] for i in stale])
                moved = self.encoder.neighbours(bases, len(stale), rng)
                sampled = np.vstack([sampled[fresh], moved]) if len(stale) else sampled
            else:
                repeats = len(sampled) - len(fresh)
                sampled = sampled[fresh]
        extra = int(round(self.candidates * self.explore)) + (0 if self.density else repeats)
        if extra:
            # Uniform legal points: keeps the screen able to leave the model's basin.
            sampled = np.vstack([sampled, rng.uniform(-1.0, 1.0, (extra, self.encoder.dim))])
        near = int(round(self.candidates * shares["local"]))
        if near:
            # Local moves around the front: where the model's samples are too coarse to
            # reach, one or two parameters away from a good point often is the next one.
            sampled = np.vstack([sampled, self.encoder.neighbours(x[on_front].numpy(), near, rng)])
        mixed = int(round(self.candidates * self.recombine))
        if mixed:
            sampled = np.vstack([sampled, self.encoder.recombine(x[on_front].numpy(), mixed, rng)])
        dense = int(round(self.candidates * shares["density"])) + (repeats if self.density else 0)
        if dense:
            # The best quarter by Pareto rank, not only the front: what the good points
            # share (DTLZ's distance variables) is sampled densely, the rest stays spread.
            ranked = anchors[np.argsort(moocore.pareto_rank(y[anchors]), kind="stable")]
            good = ranked[: max(min(len(ranked), 5), int(np.ceil(0.25 * len(ranked))))]
            sampled = np.vstack([sampled, self.encoder.parzen(x[good].numpy(), dense, rng)])
        times["sample_s"] = time.perf_counter() - start

        start = time.perf_counter()
        pool = self.encoder.legalise(sampled, seen, rng, pool=self.encoder.rolling_pool(rng))
        if self.screen_all:
            # A small space: the screen sees every legal point, not only the samples.
            have = seen | {self.space.canonical(p) for p in pool}
            pool = pool + (self.encoder.unseen_valid(have, self.screen_all) or [])
        if not pool:
            return []
        xp = torch.tensor(self.encoder.encode_many(pool), dtype=torch.float32)
        mean, spread = self.predictor.predict(xp)
        mean, spread = scale.to_screen(mean), scale.spread_to_screen(mean, spread)
        mean, spread = mean.numpy().astype(float), spread.numpy().astype(float)
        kappa = self.optimism()
        feasibility = probability_feasible(mean[:, m:], spread[:, m:]) if slack.shape[1] else None
        cap = SAMPLED_CAP if self.gain == "members" else SCREEN_CAP
        if len(pool) > cap and self.screen == "hv":
            # The greedy screen costs a hypervolume per candidate and pick (per member with
            # gain=members): keep the cap candidates closest to (or furthest beyond) the front.
            short = shortfall(mean[:, :m] - kappa * spread[:, :m], front)
            if feasibility is not None:
                short = short + (1.0 - feasibility)
            keep = np.sort(np.argsort(short, kind="stable")[:cap])
            pool = [pool[i] for i in keep]
            xp, mean, spread = xp[keep], mean[keep], spread[keep]
            feasibility = None if feasibility is None else feasibility[keep]
        if self.screen == "random":
            picks = list(rng.permutation(len(pool))[:n])
        elif self.gain == "members":
            samples = scale.to_screen(self.predictor.each(xp)).numpy().astype(float)
            # A member's sample is feasible when it predicts every scaled slack <= 0.
            feasible = np.all(samples[:, :, m:] <= 0.0, axis=2) if slack.shape[1] else None
            picks = select_batch_sampled(
                front,
                samples[:, :, :m],
                n,
                feasible,
                None if self.reference == "seen" else front_reference(front),
                (n + 1) // 2 if self.reference == "mixed" else None,
            )
        else:
            picks = select_batch(
                front,
                mean[:, :m],
                spread[:, :m],
                n,
                kappa,
                feasibility,
                None if self.reference == "seen" else front_reference(front),
                int(round(n * self.exploit)),
                (n + 1) // 2 if self.reference == "mixed" else None,
            )
        chosen = [pool[i] for i in picks]
        self.last_batch = {self.space.canonical(p) for p in chosen}
        times["screen_s"] = time.perf_counter() - start
        return chosen


def front_progress(y: np.ndarray, anchors: np.ndarray, in_batch: np.ndarray) -> float:
    """The share of the front's hypervolume (normalised QoR ``y``, minimised; the front of the
    ``anchors`` rows, reference a tenth beyond its nadir) that the rows ``in_batch`` added.
    A dense front gains a point from almost every batch; what says whether the run still
    moves is how much the front grew."""
    from edalize_dse.strategies.diffusion.screening import front_reference

    now = y[anchors]
    front = now[moocore.is_nondominated(now)]
    reference = front_reference(front)
    after = float(moocore.hypervolume(front, ref=reference))
    before_rows = y[anchors[~in_batch[anchors]]]
    before = float(moocore.hypervolume(before_rows, ref=reference)) if len(before_rows) else 0.0
    return (after - before) / after if after > 0 else 0.0
