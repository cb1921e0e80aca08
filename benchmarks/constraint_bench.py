"""Constraint-aware strategies on a tabulated benchmark: how often each strategy
proposes a feasible point once its initial design is over, and how much of the
true *feasible* front's hypervolume it reaches.

    nice python benchmarks/constraint_bench.py \
        --space cores/spaces/gemmini_table.yml --table benchmarks/tables/gemmini_table.csv.gz \
        --constraint "wns_ps >= 0" --strategies diffusion nsga2 motpe dosa sobol random \
        --seeds 3 --budget 60 --batch 4

The table answers every proposal (``objectives.TableObjective``, with the
constrained metrics loaded beside the objectives); each evaluation is judged by
the constraints exactly as a run judges it (``qor_constraints.violation``) and
told to the strategy with its violation, so the strategies see what they see in
a run.

A strategy named ``<name>-unaware`` (e.g. ``diffusion-unaware``) is the same
strategy told no constraints: the baseline that shows what constraint awareness
adds. Metrics, per strategy (mean ± std over seeds):

- ``feasible share after init``: feasible points among the evaluations after
  the first ``--init`` (the initial design: every model-based strategy here uses
  a space-filling start of about that size);
- ``feasible HV ratio @budget``: hypervolume of the feasible points found over
  that of the table's feasible front (both normalised by the feasible front's
  ideal and nadir, reference 1.1, ``pareto.normalized_hypervolume``).

The table's own share of feasible rows is printed as the baseline a blind
strategy gets. Results go to ``--out`` (``constraints_<tag>.md`` and ``.csv``);
nothing depends on the table's figures, so a rebuilt table runs unchanged."""

from __future__ import annotations

import argparse
import copy
import csv
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from objectives import TableObjective  # noqa: E402

from edalize_dse.pareto import normalized_hypervolume  # noqa: E402
from edalize_dse.qor_constraints import parse_all, violation  # noqa: E402
from edalize_dse.store import Evaluation  # noqa: E402
from edalize_dse.strategies import make_strategy, parse_options  # noqa: E402

_TABLES: dict = {}
# A strategy name with this suffix runs blind to the constraints: the baseline of constraint awareness.
UNAWARE = "-unaware"


def table(space, path, constraints):
    key = (space, path, tuple(constraints))
    if key not in _TABLES:
        cons = parse_all(list(constraints))
        objective = TableObjective(space, path, extra_metrics=[c.metric for c in cons])
        objective.space.qor_constraints = cons
        _TABLES[key] = objective
    return _TABLES[key]


def run_one(space, path, constraints, strategy, seed, budget, batch, options):
    """One run; returns (strategy, seed, [(minimisation-form objectives or None, feasible)], ask seconds)."""
    import torch

    torch.set_num_threads(1)
    objective = table(space, path, constraints)
    sp = objective.space
    name, unaware = strategy.removesuffix(UNAWARE), strategy.endswith(UNAWARE)
    told = sp
    if unaware:  # the same strategy blind to the constraints (points are still judged by them)
        told = copy.copy(sp)
        told.qor_constraints = []
    strat = make_strategy(name, told, seed, **options.get(name, {}))
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
            ev = Evaluation(sp.point_id(p), p, "ok" if qor else "failed", dict(qor or {}))
            ev.violation = violation(ev.qor, sp.qor_constraints) if qor else None
            evs.append(ev)
            rows.append(([o.sign * qor[o.name] for o in sp.objectives] if qor else None, ev.feasible))
        strat.tell(evs)
    return strategy, seed, rows, asks


def feasible_reference(objective):
    """(ideal, nadir, hv) of the table's feasible front, and the share of feasible rows."""
    import moocore

    good = [v for v in objective.rows.values() if v is not None]
    feasible = [v for v in good if violation(v, objective.space.qor_constraints) is None]
    if not feasible:
        raise SystemExit(f"no table row meets {', '.join(c.text for c in objective.space.qor_constraints)}")
    matrix = np.array([[o.sign * v[o.name] for o in objective.space.objectives] for v in feasible])
    front = matrix[moocore.is_nondominated(matrix)]
    ideal, nadir = front.min(axis=0), front.max(axis=0)
    return ideal, nadir, normalized_hypervolume(front, ideal, nadir), len(feasible) / len(good)


def cell(values) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.3f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="cores/spaces/gemmini_table.yml")
    ap.add_argument("--table", default="benchmarks/tables/gemmini_table.csv.gz")
    ap.add_argument("--constraint", action="append", default=[], help="a QoR constraint, e.g. 'wns_ps >= 0'")
    ap.add_argument("--strategies", nargs="+", default=["diffusion", "nsga2", "motpe", "dosa", "sobol", "random"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=60)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--init", type=int, default=10, help="evaluations counted as the initial design")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--option", action="append", default=[], metavar="STRATEGY:KEY=VALUE")
    ap.add_argument("--tag", default="table")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    constraints = tuple(args.constraint or ["wns_ps >= 0"])
    options: dict = {}
    for item in args.option:
        name, _, kv = item.partition(":")
        options.setdefault(name, {}).update(parse_options([kv]))

    objective = table(args.space, args.table, constraints)
    ideal, nadir, reference_hv, share = feasible_reference(objective)
    jobs = [
        (args.space, args.table, constraints, s, seed, args.budget, args.batch, options)
        for s in args.strategies
        for seed in range(args.seeds)
    ]
    started = time.perf_counter()
    results = []
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            for future in as_completed([pool.submit(run_one, *job) for job in jobs]):
                results.append(future.result())
                print(f"  {results[-1][0]} seed {results[-1][1]} done", flush=True)
    else:
        results = [run_one(*job) for job in jobs]
    wall = time.perf_counter() - started

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    per: dict = {}
    with open(out / f"constraints_{args.tag}.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["strategy", "seed", "feasible_share_after_init", "feasible_hv_ratio", "ask_s_mean"])
        for strategy, seed, rows, asks in sorted(results, key=lambda r: (args.strategies.index(r[0]), r[1])):
            after = [feasible for _, feasible in rows[args.init :]]
            found = np.array([q for q, feasible in rows if feasible], dtype=float).reshape(-1, len(ideal))
            ratio = normalized_hypervolume(found, ideal, nadir) / reference_hv
            share_after = float(np.mean(after)) if after else 0.0
            per.setdefault(strategy, []).append((share_after, ratio, float(np.mean(asks))))
            w.writerow([strategy, seed, f"{share_after:.4f}", f"{ratio:.4f}", f"{np.mean(asks):.4f}"])
    names = ", ".join(c.text for c in objective.space.qor_constraints)
    lines = [
        f"Constraint {names}: {share:.1%} of the table's {len(objective.rows) - objective.failed} successful "
        f"rows are feasible. Budget {args.budget}, batch {args.batch}, {args.seeds} seeds; "
        f"initial design counted as the first {args.init} evaluations; {wall:.0f} s.",
        "",
        f"| strategy | feasible share after init | feasible HV ratio @{args.budget} | ask s/round |",
        "|---|---|---|---|",
    ]
    for strategy in args.strategies:
        got = per.get(strategy, [])
        if got:
            lines.append(
                f"| {strategy} | {cell([g[0] for g in got])} | {cell([g[1] for g in got])} | "
                f"{np.mean([g[2] for g in got]):.2f} |"
            )
    text = "\n".join(lines) + "\n"
    (out / f"constraints_{args.tag}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
