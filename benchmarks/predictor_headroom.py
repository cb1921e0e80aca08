"""How many evaluations the diffusion controller needs when its predictor is perfect
or off by a known error: the headroom a better predictor has on a table.

    PYTHONPATH=plugin nice python -m benchmarks.predictor_headroom --problems gemmini_table \\
        --noise 0 0.03 0.1 --seeds 10 --budget 64

Each run is the default ``diffusion`` on a table (pool-based, batch ``--batch``, as
``strategy_bench`` replays it) with the predictor's answer for every candidate the
screen scores replaced: the objectives by their true values in the screen's form
(normalised by the run's own data, as the strategy does), plus Gaussian noise of
standard deviation ``noise`` (in units of that range), the spread by ``noise``
itself. With ``--true-feasibility`` the constraint slacks are the true ones too;
otherwise the feasibility stays the predictor's. Everything else (the denoiser's
and the density's candidates, the guidance, the screen) is the strategy's own;
the predictor's fitting scale (``model_scale``) is moot with the truth, so the runs
use ``model_scale=screen``. The table row per configuration: evaluations to 95 % of
the true front's hypervolume (mean ± std over the runs that got there, how many)
and the mean hypervolume ratio at a few budgets."""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks import RESULTS, strategy_bench
from benchmarks.suite import TABLES

BUDGETS = (16, 24, 32, 48, 64, 100, 120, 200)


def run_one(problem: str, noise: float, true_feasibility: bool, seed: int, budget: int, batch: int):
    """One run's hypervolume-ratio curve."""
    import torch

    from edalize_dse.qor import QorScaler
    from edalize_dse.qor_constraints import column_scale, slacks
    from edalize_dse.strategies.diffusion import predictor, strategy

    torch.set_num_threads(1)
    space_path, table_path, _ = TABLES[problem]
    objective = strategy_bench._objective(f"table:{space_path},{table_path}")
    space = objective.space
    m = len(space.objectives)
    fitted: dict = {}

    class Told(strategy.DiffusionStrategy):
        def model_propose(self, n, data, seen, times):
            # The normalisation the round uses, fitted on the same data as the strategy's own.
            scaler = QorScaler(space.objectives)
            fitted["scaler"] = scaler.fit(scaler.raw(data))
            fitted["slack"] = column_scale(slacks([e.qor for e in data], space.qor_constraints))
            return super().model_propose(n, data, seen, times)

    class Truth(predictor.PredictorEnsemble):
        def predict(self, x):
            mean, spread = super().predict(x)
            mean, spread = mean.clone(), spread.clone()
            rng = np.random.default_rng([seed, run.model_rounds, len(x)])
            for i, row in enumerate(x.numpy()):
                qor = objective.rows.get(space.canonical(run.encoder.decode(row)))
                if qor is None:
                    continue  # not a table row: the predictor's answer stands
                raw = np.array([[qor[o.name] for o in space.objectives]])
                value = fitted["scaler"].transform(raw)[0] + rng.normal(0.0, noise, m) * (noise > 0)
                mean[i, :m] = torch.tensor(value, dtype=mean.dtype)
                spread[i, :m] = noise
                if true_feasibility and space.qor_constraints:
                    mean[i, m:] = torch.tensor(slacks([qor], space.qor_constraints)[0] / fitted["slack"])
                    spread[i, m:] = 1e-6
            return mean, spread

    run = Told(space, seed, model_scale="screen")
    predictor.PredictorEnsemble = Truth  # this worker process only; the strategy imports it per round
    rows, _ = strategy_bench.run_loop(objective, run, budget, batch)
    ideal, nadir, reference_hv = objective.reference()
    return strategy_bench.hv_curve(rows, ideal, nadir, reference_hv)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=["gemmini_table"], choices=sorted(TABLES))
    ap.add_argument("--noise", nargs="+", type=float, default=[0.0, 0.03, 0.1])
    ap.add_argument("--true-feasibility", action="store_true", help="the constraint slacks true as well")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(RESULTS / "predictor_headroom.md"))
    args = ap.parse_args(argv)
    budgets = [b for b in BUDGETS if b <= args.budget]
    lines = [
        "| problem | predictor | evals to 95 % | " + " | ".join(f"HV @{b}" for b in budgets) + " |",
        "|---|---|---|" + "---|" * len(budgets),
    ]
    with ProcessPoolExecutor(args.jobs, max_tasks_per_child=1) as pool:
        for problem in args.problems:
            for noise in args.noise:
                jobs = [(problem, noise, args.true_feasibility, s, args.budget, args.batch) for s in range(args.seeds)]
                curves = list(pool.map(run_one, *zip(*jobs)))
                reach = [strategy_bench.evaluations_to(c, 0.95) for c in curves]
                what = "true QoR" if noise == 0 else f"true QoR + noise sd {noise:g}"
                if args.true_feasibility:
                    what += ", true feasibility"
                hv = " | ".join(f"{np.mean([c[min(b, len(c)) - 1] for c in curves]):.3f}" for b in budgets)
                lines.append(f"| {problem} | {what} | {strategy_bench.reach_cell(reach)} | {hv} |")
                print(lines[-1], flush=True)
    # The command as made, less where it wrote and how many processes ran it (not what it measured).
    given = list(sys.argv[1:] if argv is None else argv)
    for flag in ("--out", "--jobs"):
        while flag in given:
            del given[given.index(flag) : given.index(flag) + 2]
    made = " ".join(["PYTHONPATH=plugin python -m benchmarks.predictor_headroom", *given])
    Path(args.out).write_text(f"Made by `{made}`.\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
