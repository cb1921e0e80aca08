"""How well the DiffuSE QoR predictor ranks points it was not trained on, and how
large its spread is against its error, per predictor variant, after n
evaluations: what the screen works with.

    PYTHONPATH=plugin python -m benchmarks.predictor_accuracy --sizes 16 50 100 --repeats 3

Per problem (both tables and some synthetic problems of the suite), each repeat
draws n points at random (seeded) as the training data, fits the predictor on
them exactly as a model round does (objectives normalised by ``QorScaler``,
constraint slacks scaled by ``column_scale``, first-round epochs), and scores the
other points: Spearman's rank correlation of each objective's prediction with
its true value over the held-out *feasible* points (what the screen must
order); with a QoR constraint, the ROC AUC of the predicted slack as a
feasibility classifier; and the mean spread against the mean absolute error
over all outputs (a spread far below the error makes the screen's optimism
blind). Variants: ``quadratic+trend+mlp`` (the default: ridge regression on the
encoding, the squares of its ordinal columns and the trends of its numeric
choices, plus the MLP ensemble on its residual, spread with the ridge part's
posterior), ``quadratic+mlp`` (without the trends), ``linear+mlp`` (without the
squares too), the same with ``spread=members`` (the MLPs' disagreement
only; the same mean), ``mlp`` (the ensemble alone) and ``linear`` (the ridge
part alone on the encoding, no spread). Each fits the objectives on the screen's
form (``QorScaler``) but the first, the strategy's default: ``model_scale=log``
fits every positive objective's log and maps the predictions back
(``diffusion.model_scale``); every variant is scored on the screen's form. A
synthetic problem's points are 3,000 valid points drawn at random from its space."""

from __future__ import annotations

import argparse

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from benchmarks import ROOT
from benchmarks.objectives import SyntheticProblem, TableObjective
from benchmarks.suite import TABLES  # name: space, table, transfer split
from edalize_dse.encoding import SpaceEncoder
from edalize_dse.qor import QorScaler
from edalize_dse.qor_constraints import column_scale, slacks
from edalize_dse.store import Evaluation
from edalize_dse.strategies.diffusion.model_scale import ModelScale
from edalize_dse.strategies.diffusion.predictor import PredictorEnsemble

VARIANTS = (
    "quadratic+trend+mlp, model_scale=log",
    "quadratic+trend+mlp",
    "quadratic+mlp",
    "linear+mlp",
    "linear+mlp, spread=members",
    "mlp",
    "linear",
)


def load(name: str):
    """(space, successful evaluations) of a table or of 3,000 random points of a synthetic problem."""
    if name in TABLES:
        table = TableObjective(*(ROOT / p for p in TABLES[name][:2]))
        return table.space, [Evaluation(k, table.points[k], "ok", dict(v)) for k, v in table.rows.items() if v]
    problem = SyntheticProblem(name)
    points = problem.space.enumerate_valid()
    rng = np.random.default_rng(9)
    points = [points[i] for i in rng.permutation(len(points))[:3000]]
    evs = [Evaluation(problem.space.canonical(p), p, "ok", dict(problem.evaluate(p))) for p in points]
    return problem.space, [e for e in evs if e.qor]


def predict(variant: str, x, y, x_test, seed: int, encoder: SpaceEncoder):
    """(mean, spread) of a variant fitted on (x, y), at x_test: the quadratic variants
    square the encoder's ordinal columns, the trend variant adds its numeric choices' trends."""
    torch.manual_seed(seed)
    ensemble = PredictorEnsemble(
        x.shape[1],
        y.shape[1],
        linear=variant != "mlp",
        spread="members" if "spread=members" in variant else "linear+members",
        curved=encoder.curved_columns() if variant.startswith("quadratic") else None,
        trends=encoder.trend_columns() if "trend" in variant else None,
    )
    if variant == "linear":
        ensemble.fit_linear(x, y, None)
        mean = ensemble.linear_part(x_test).numpy()
        return mean, np.zeros_like(mean)
    ensemble.fit(x, y, 300, torch.Generator().manual_seed(seed))  # a first round's epochs
    mean, spread = ensemble.predict(x_test)
    return mean.numpy(), spread.numpy()


def scores(space, evs, n: int, repeat: int) -> dict:
    """{variant: [Spearman per objective..., AUC of feasibility when constrained, mean spread,
    mean absolute error]} for one draw."""
    encoder = SpaceEncoder(space)
    x_all = torch.tensor(encoder.encode_many([e.params for e in evs]), dtype=torch.float32)
    objectives = space.objectives
    m = len(objectives)
    slack = slacks([e.qor for e in evs], space.qor_constraints)
    order = np.random.default_rng(repeat).permutation(len(evs))
    train, test = order[:n], order[n:]
    scaler = QorScaler(objectives)
    raw = scaler.raw([evs[i] for i in train])
    scaler.fit(raw)
    y_test = scaler.transform(scaler.raw([evs[i] for i in test]))
    scaled_slack = slack[train] / column_scale(slack[train])
    scale = ModelScale(scaler, raw)
    feasible = (slack[test] <= 0).all(axis=1)
    out = {}
    for variant in VARIANTS:
        logged = "model_scale=log" in variant
        fitted = scale.targets(scaler.transform(raw)) if logged else scaler.transform(raw)
        y = torch.tensor(np.hstack([fitted, scaled_slack]), dtype=torch.float32)
        mean, spread = predict(variant, x_all[train], y, x_all[test], repeat, encoder)
        if logged:
            z = torch.tensor(mean)
            mean, spread = scale.to_screen(z).numpy(), scale.spread_to_screen(z, torch.tensor(spread)).numpy()
        row = [spearmanr(mean[feasible, j], y_test[feasible, j])[0] for j in range(m)]
        if slack.shape[1]:
            row.append(roc_auc_score(feasible, -mean[:, m:].max(axis=1)))
        out[variant] = row + [float(spread[:, :m].mean()), float(np.abs(mean[:, :m] - y_test).mean())]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=["gemmini_table", "gemmini_table2", "zdt1", "dtlz2", "c2dtlz2"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[16, 50, 100])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    print(
        "| problem | n | predictor | Spearman per objective (held-out feasible points) | feasibility AUC "
        "| objectives' mean spread / mean error |"
    )
    print("|---|---|---|---|---|---|")
    for name in args.problems:
        space, evs = load(name)
        m = len(space.objectives)
        for n in args.sizes:
            runs = [scores(space, evs, n, r) for r in range(args.repeats)]
            for variant in VARIANTS:
                mean = np.mean([r[variant] for r in runs], axis=0)
                auc = f"{mean[m]:.3f}" if len(mean) > m + 2 else "—"
                print(
                    f"| {name} | {n} | {variant} | {' / '.join(f'{v:.3f}' for v in mean[:m])} | {auc} "
                    f"| {mean[-2]:.3f} / {mean[-1]:.3f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
