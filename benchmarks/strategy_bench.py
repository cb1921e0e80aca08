"""Strategies x seeds x budgets on an objective: hypervolume ratio table and
hypervolume-versus-evaluations plot.

    nice python benchmarks/strategy_bench.py --problems zdt1 zdt2 dtlz2 \
        --strategies random sobol nsga2 motpe qnehvi diffusion --seeds 5 --budgets 30 60 100

Each (objective, strategy, seed) is run once, to the largest budget, in
batches of ``--batch`` points (ask n, evaluate, tell: the loop of a run with n
workers); the hypervolume ratio at each smaller budget is read off the same run
after that many evaluations. This equals separate runs per budget because no
strategy is told the total budget.

Hypervolume ratio: the evaluated points and the true Pareto front are put in
minimisation form and normalised by the true front's ideal and nadir points;
the ratio is HV(points) / HV(true front), reference point 1.1 in every
normalised objective (``edalize_dse.pareto.normalized_hypervolume``). Without a
known front (live flow, incomplete table) the union of every run's successful
evaluations on that objective takes its place.

Outputs under ``--out`` (default benchmarks/results): ``strategies_<tag>.csv``
(every run's ratio after every evaluation), ``strategies_<tag>.md`` (mean ± std
per budget), ``hv_<objective>_<tag>.png``, ``controller_<tag>.csv`` (ask times)."""

from __future__ import annotations

import argparse
import csv
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from objectives import LiveFlowObjective, TableObjective, make_objective  # noqa: E402

from edalize_dse.pareto import normalized_hypervolume  # noqa: E402
from edalize_dse.store import Evaluation  # noqa: E402
from edalize_dse.strategies import make_strategy, parse_options  # noqa: E402

_OBJECTIVES = {}


def label(spec: str) -> str:
    """The objective's name in the outputs: a live run's work folder is not part of it."""
    return spec.split(",")[0] if spec.startswith("live:") else spec


def _objective(spec):
    if spec not in _OBJECTIVES:
        kind, _, rest = spec.partition(":")
        if kind == "table":
            space, table = rest.split(",", 1)
            _OBJECTIVES[spec] = TableObjective(space, table)
        elif kind == "live":
            space, workdir = rest.split(",", 1)
            _OBJECTIVES[spec] = LiveFlowObjective(space, workdir)
        else:
            _OBJECTIVES[spec] = make_objective(spec)
    return _OBJECTIVES[spec]


def run_one(spec: str, strategy: str, seed: int, budget: int, batch: int, options: dict):
    """One run; returns (minimisation-form QoR per evaluation or None, ask seconds per round)."""
    import torch

    torch.set_num_threads(1)
    objective = _objective(spec)
    space = objective.space
    strat = make_strategy(strategy, space, seed, **options.get(strategy, {}))
    rows, asks = [], []
    while len(rows) < budget:
        start = time.perf_counter()
        points = strat.ask(min(batch, budget - len(rows)))
        asks.append(time.perf_counter() - start)
        if not points:
            break
        evs = []
        for p in points:
            qor = objective.evaluate(p)
            evs.append(Evaluation(space.point_id(p), p, "ok" if qor else "failed", qor or {}))
            rows.append([o.sign * qor[o.name] for o in space.objectives] if qor else None)
        strat.tell(evs)
    return spec, strategy, seed, rows, asks


def hv_curve(rows, ideal, nadir, reference_hv):
    curve, good = [], []
    for row in rows:
        if row is not None:
            good.append(row)
        matrix = np.array(good, dtype=float).reshape(len(good), len(ideal))
        curve.append(normalized_hypervolume(matrix, ideal, nadir) / reference_hv)
    return curve


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=["zdt1", "zdt2", "dtlz2"],
                    help="zdt1 zdt2 dtlz2, table:SPACE.yml,TABLE.csv or live:SPACE.yml,WORKDIR")
    ap.add_argument("--strategies", nargs="+", default=["random", "sobol", "nsga2", "motpe", "qnehvi", "diffusion"])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budgets", type=int, nargs="+", default=[30, 60, 100])
    ap.add_argument("--batch", type=int, default=4, help="points per ask (workers)")
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel (processes)")
    ap.add_argument("--option", action="append", default=[], metavar="STRATEGY:KEY=VALUE",
                    help="a strategy option, e.g. diffusion:guide_scale=4")
    ap.add_argument("--tag", default="synthetic")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)

    options: dict = {}
    for item in args.option:
        name, _, kv = item.partition(":")
        options.setdefault(name, {}).update(parse_options([kv]))
    budget = max(args.budgets)
    jobs = [(p, s, seed, budget, args.batch, options)
            for p in args.problems for s in args.strategies for seed in range(args.seeds)]
    started = time.perf_counter()
    results = []
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            for res in pool.map(run_one, *zip(*jobs)):
                results.append(res)
                print(f"  {res[0]} {res[1]} seed {res[2]}: {len(res[3])} evaluations", flush=True)
    else:
        for job in jobs:
            results.append(run_one(*job))
            print(f"  {job[0]} {job[1]} seed {job[2]} done", flush=True)
    print(f"{len(jobs)} runs in {time.perf_counter() - started:.0f} s")
    report(results, args, Path(args.out))


def report(results, args, out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    curves: dict = {}
    for spec in args.problems:
        mine = [r for r in results if r[0] == spec]
        reference = _objective(spec).reference()
        if reference is None:  # no known front: the union of all runs
            union = np.array([row for r in mine for row in r[3] if row is not None], dtype=float)
            import moocore

            front = union[moocore.is_nondominated(union)]
            ideal, nadir = front.min(axis=0), front.max(axis=0)
            reference = (ideal, nadir, normalized_hypervolume(front, ideal, nadir))
        for _, strategy, seed, rows, _ in mine:
            curves[(spec, strategy, seed)] = hv_curve(rows, *reference)

    with open(out / f"strategies_{args.tag}.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["objective", "strategy", "seed", "evaluations", "hv_ratio"])
        for (spec, strategy, seed), curve in curves.items():
            for k, value in enumerate(curve, 1):
                w.writerow([label(spec), strategy, seed, k, f"{value:.5f}"])
    with open(out / f"controller_{args.tag}.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["objective", "strategy", "seed", "round", "ask_s"])
        for spec, strategy, seed, _, asks in results:
            for i, a in enumerate(asks, 1):
                w.writerow([label(spec), strategy, seed, i, f"{a:.4f}"])

    def at(curve, b):
        return curve[min(b, len(curve)) - 1]

    lines = ["| objective | strategy | " + " | ".join(f"HV ratio @{b}" for b in args.budgets)
             + " | mean ask (s) |", "|---|---|" + "---|" * (len(args.budgets) + 1)]
    for spec in args.problems:
        for strategy in args.strategies:
            runs = [curves[(spec, strategy, s)] for s in range(args.seeds)]
            asks = [a for r in results if r[0] == spec and r[1] == strategy for a in r[4]]
            cells = []
            for b in args.budgets:
                vals = np.array([at(c, b) for c in runs])
                cells.append(f"{vals.mean():.3f} ± {vals.std(ddof=1) if len(vals) > 1 else 0.0:.3f}")
            lines.append(f"| {label(spec)} | {strategy} | " + " | ".join(cells) + f" | {np.mean(asks):.3f} |")
        fig, ax = plt.subplots(figsize=(6, 4))
        for strategy in args.strategies:
            runs = np.array([curves[(spec, strategy, s)] for s in range(args.seeds)])
            x = np.arange(1, runs.shape[1] + 1)
            mean, std = runs.mean(axis=0), runs.std(axis=0)
            ax.plot(x, mean, label=strategy)
            ax.fill_between(x, mean - std, mean + std, alpha=0.15)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("hypervolume ratio")
        ax.set_title(f"{spec}: mean ± std over {args.seeds} seeds")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / f"hv_{spec.split(':')[0] if ':' in spec else spec}_{args.tag}.png", dpi=110)
        plt.close(fig)
    table = "\n".join(lines) + "\n"
    (out / f"strategies_{args.tag}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
