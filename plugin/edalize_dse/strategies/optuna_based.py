"""NSGA-II and multi-objective TPE from Optuna, driven through its ask/tell API.

Every parameter has a fixed Optuna distribution: ``int`` an integer range with
its step, ``pow2`` the integer range of its exponent, ``float`` a (log) float
range, ``choice`` and ``bool`` categorical. Optuna knows nothing of the space's
constraints nor of what was already evaluated, so each suggestion is checked:
a valid, new one is used as it is; any other is repaired to the nearest valid
unseen point (``SpaceEncoder.legalise``), the suggested trial is closed as
failed, and the repaired point is enqueued and asked again as a fresh trial, so
the trial Optuna learns from holds exactly the point that is evaluated. NSGA-II
numbers that fresh trial's generation as it numbers its own (``join_generation``),
so repaired points fill its generations and the search moves on from the random
first generation to crossover and mutation.

Objectives are given to Optuna in minimisation form (maximised ones negated);
both samplers rank points, so no further scaling is needed. A failed
evaluation closes its trial as failed (the samplers ignore those). Evaluations
told without an ask (a resumed run) and a prior's (``warm_start``) are added as
completed trials (``create_trial`` + ``add_trial``) of NSGA-II's first generation.

QoR constraints go to both samplers through Optuna's own mechanism: each
completed trial carries the scaled slack of every constraint
(``qor_constraints.slacks``, <= 0 when it holds) as its constraint values
(``Trial.set_constraint``; with Optuna 4, which lacks it, through the samplers'
``constraints_func``); NSGA-II then ranks feasible trials before infeasible ones
(constrained domination), and TPE splits good from bad among feasible ones."""

from __future__ import annotations

import math
import warnings

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from edalize_dse.encoding import SpaceEncoder
from edalize_dse.qor import usable
from edalize_dse.qor_constraints import slacks
from edalize_dse.strategies.base import Strategy

optuna.logging.set_verbosity(optuna.logging.WARNING)

SLACK_ATTR = "qor_slack"
# Where Optuna keeps a trial's constraint values (set by the sampler after a tell;
# set by us for a trial added from a resumed run, which no sampler sees finish).
CONSTRAINTS_KEY = "constraints"


def _trial_slack(trial) -> list[float]:
    return trial.user_attrs[SLACK_ATTR]


# Optuna 5 takes constraint values on the trial; Optuna 4 only through a sampler's constraints_func.
TRIAL_CONSTRAINTS = hasattr(optuna.Trial, "set_constraint")


def constraints_func(space):
    """Optuna 4's ``constraints_func`` for the space's QoR constraints, or None (none, or Optuna 5)."""
    return _trial_slack if space.qor_constraints and not TRIAL_CONSTRAINTS else None


def distributions(space) -> dict:
    dists = {}
    for p in space.parameters.values():
        if p.type == "int":
            dists[p.name] = IntDistribution(int(p.low), int(p.high), step=p.step)
        elif p.type == "pow2":
            dists[p.name] = IntDistribution(int(math.log2(p.low)), int(math.log2(p.high)))
        elif p.type == "float":
            dists[p.name] = FloatDistribution(float(p.low), float(p.high), log=p.log)
        else:
            dists[p.name] = CategoricalDistribution(p.values())
    return dists


class OptunaStrategy(Strategy):
    def __init__(self, space, seed: int, sampler):
        super().__init__(space, seed)
        self.encoder = SpaceEncoder(space)
        self.rng = np.random.default_rng(seed)
        self.dists = distributions(space)
        self.study = optuna.create_study(directions=["minimize"] * len(space.objectives), sampler=sampler)
        self.trials: dict[str, optuna.Trial] = {}  # canonical point -> its open trial

    # Optuna params <-> points
    def to_point(self, params: dict) -> dict:
        return {
            name: (1 << params[name]) if p.type == "pow2" else params[name] for name, p in self.space.parameters.items()
        }

    def to_params(self, point: dict) -> dict:
        return {
            name: int(math.log2(point[name])) if p.type == "pow2" else point[name]
            for name, p in self.space.parameters.items()
        }

    def propose(self, n: int) -> list[dict]:
        seen = self.seen_keys()
        points = []
        pool = None  # the valid points repairs choose from: drawn once per batch (a large space samples it)
        for _ in range(n):
            trial = self.study.ask(self.dists)
            point = self.to_point(trial.params)
            key = self.space.canonical(point)
            if key in seen or not self.space.is_valid(point):
                pool = pool or self.encoder.candidate_pool(self.rng)
                repaired = self.encoder.legalise([self.encoder.encode(point)], seen, self.rng, pool=pool)
                self.study.tell(trial, state=TrialState.FAIL)
                if not repaired:
                    break  # no valid unseen point left
                point = repaired[0]
                key = self.space.canonical(point)
                self.study.enqueue_trial(self.to_params(point))
                trial = self.study.ask(self.dists)
                self.join_generation(trial)
            self.trials[key] = trial
            seen.add(key)
            points.append(point)
        return points

    def join_generation(self, trial) -> None:
        """A genetic sampler numbers each trial's generation when it samples it; an
        enqueued (repaired) trial has all its parameters fixed, so it is never sampled
        and would count in no generation: NSGA-II would then stay in generation 0 (random
        sampling) for as long as repairs are common. It is numbered here as the sampler
        numbers its own trials (by the completed trials of the latest generation)."""
        number = getattr(self.study.sampler, "get_trial_generation", None)
        if number is None:
            return  # not a genetic sampler (TPE)
        running = self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        number(self.study, next(t for t in running if t.number == trial.number))

    def observe(self, evaluations) -> None:
        good = {id(e) for e in usable(evaluations, self.space.objectives)}
        for ev in evaluations:
            key = self.space.canonical(ev.params)
            values = [o.sign * float(ev.qor[o.name]) for o in self.space.objectives] if id(ev) in good else None
            constrained = bool(self.space.qor_constraints) and values is not None
            slack = slacks([ev.qor], self.space.qor_constraints)[0].tolist() if constrained else None
            trial = self.trials.pop(key, None)
            if trial is not None:
                if values is None:
                    self.study.tell(trial, state=TrialState.FAIL)
                else:
                    if constrained and TRIAL_CONSTRAINTS:
                        for j, value in enumerate(slack):
                            trial.set_constraint(self.space.qor_constraints[j].text, value)
                    elif constrained:
                        trial.set_user_attr(SLACK_ATTR, slack)
                    self.study.tell(trial, values)
            elif values is not None:
                attrs = self.resumed_attrs()
                if constrained:
                    attrs[CONSTRAINTS_KEY] = slack
                self.study.add_trial(
                    create_trial(
                        params=self.to_params(ev.params),
                        distributions=self.dists,
                        values=values,
                        system_attrs=attrs,
                        user_attrs={SLACK_ATTR: slack} if constrained else None,
                    )
                )

    def learn_prior(self, evaluations) -> None:
        # Prior results enter the study as completed trials (Optuna's add_trial, as a
        # resumed run's do); their points are in prior_keys, so never proposed again.
        self.observe(evaluations)

    def resumed_attrs(self) -> dict:
        return {}


class Nsga2Strategy(OptunaStrategy):
    name = "nsga2"
    OPTIONS = {"population_size": "individuals per generation (default 20)"}

    def __init__(self, space, seed: int = 0, population_size: int = 20):
        super().__init__(
            space,
            seed,
            optuna.samplers.NSGAIISampler(
                population_size=int(population_size), seed=seed, constraints_func=constraints_func(space)
            ),
        )

    def resumed_attrs(self) -> dict:
        return {f"{type(self.study.sampler).__name__}:generation": 0}


class MotpeStrategy(OptunaStrategy):
    name = "motpe"
    OPTIONS = {"startup_trials": "random trials before TPE takes over (default 10)"}

    def __init__(self, space, seed: int = 0, startup_trials: int = 10):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # multivariate TPE
            sampler = optuna.samplers.TPESampler(
                n_startup_trials=int(startup_trials),
                multivariate=True,
                seed=seed,
                constraints_func=constraints_func(space),
            )
        super().__init__(space, seed, sampler)
