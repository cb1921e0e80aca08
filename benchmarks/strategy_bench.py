"""Strategies x seeds x budgets on an objective: hypervolume ratio table and
hypervolume-versus-evaluations plot.

    nice python -m benchmarks.strategy_bench --problems zdt1 zdt2 dtlz2 \
        --strategies random sobol nsga2 motpe qnehvi diffusion --seeds 5 --budgets 30 60 100

The study on the tabulated ASAP7 benchmark (``make study``; numbers in BENCHMARKS.md):

    nice python -m benchmarks.strategy_bench --tag table \
        --problems table:cores/spaces/gemmini_table.yml,benchmarks/tables/gemmini_table.csv.gz \
        --strategies diffusion qnehvi nsga2 motpe sobol random dosa --seeds 10 --budgets 25 50 100 200 --batch 8

A table is pool-based (``objectives.TableObjective``): a run evaluates only the
table's rows, each at most once; on a sampled table the strategies' space is
restricted to its rows (``objectives.RowSpace``), and a proposal that is still not
an unevaluated row is answered by the nearest row the run has not evaluated, the
strategy being told that row (``answered_by``). ``table:SPACE,TABLE#PARAM=V1/V2`` splits a table for the
transfer study: the rows whose PARAM is V1 or V2 are the prior, the rest the
pool and the true front; strategy ``<name>+prior`` is ``<name>`` warm-started
with the prior (``strategy.warm_start``), and ``<name>@KEY=VALUE,...`` is a
variant with those options, a row of its own (the controller's ablations). A
problem with QoR constraints (table 2's ``wns_ps >= 0``, ``c2dtlz2``, or a table
given them: ``table:SPACE,TABLE where wns_ps >= 0``, or ``--constraint`` for every
table) judges every evaluation as a run does; only feasible points count in the
hypervolume, against the feasible true front. Strategy ``<name>-unaware`` is
``<name>`` told no constraint (its points are still judged by them): the baseline
that shows what constraint awareness adds. Such a study also reports the share of
feasible evaluations after the first ``--init`` (the initial design).

Each (objective, strategy, seed) is run once, to the largest budget, in
batches of ``--batch`` points (ask n, evaluate, tell: the loop of a run with n
workers); the hypervolume ratio at each smaller budget is read off the same run
after that many evaluations. This equals separate runs per budget because no
strategy is told the total budget. Every run is seeded, so the same command
gives the same numbers; each finished run is saved under ``--runs`` and read
back by the next invocation, so a killed study resumes where it stopped. A run's
file name hashes the settings the command gives; the file also records the
strategy's defaults, and a run saved under other defaults is stale and runs
again (a changed default is a changed setting, though the name stays the same).

Hypervolume ratio: the evaluated points and the true Pareto front are put in
minimisation form and normalised by the true front's ideal and nadir points;
the ratio is HV(points) / HV(true front), reference point 1.1 in every
normalised objective (``edalize_dse.pareto.normalized_hypervolume``). A table's
true front is the front of its successful rows (``objectives.TableObjective``,
which also legalises a point missing from the table to the nearest row).
Without a known front (live flow) the union of every run's successful
evaluations on that objective takes its place. ``evals to 90 %`` / ``95 %``:
the evaluations after which a run's ratio first reaches it, mean ± std over
the runs that did (how many did, of all).

Outputs under ``--out`` (default benchmarks/results): ``strategies_<tag>.csv``
(every run's ratio after every evaluation), ``strategies_<tag>.md`` (mean ± std
per budget), ``hv_<objective>_<tag>.png``, ``controller_<tag>.csv`` (ask times).

``--keep STRATEGY ...``: those strategies' runs are not run (nor read from
``--runs``) but read from the committed outputs of an earlier run of the same
study (``strategies_<tag>.csv``, ``controller_<tag>.csv`` under ``--out``): after a
change to one strategy, the baselines' hours of runs are not repeated. Whoever
keeps a strategy vouches that it has not changed since those outputs were made;
a kept run the outputs do not hold is an error naming it."""

from __future__ import annotations

import argparse
import copy
import csv
import gzip
import hashlib
import json
import re
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from benchmarks import RESULTS, STATE
from benchmarks.objectives import LiveFlowObjective, TableObjective, make_objective
from edalize_dse.pareto import normalized_hypervolume
from edalize_dse.space import load_space
from edalize_dse.store import Evaluation
from edalize_dse.strategies import make_strategy, option_defaults, parse_options, strategy_class

_OBJECTIVES = {}


# A table objective may carry a split for the transfer study: ``table:SPACE,TABLE#PARAM=V1/V2``
# sets the rows whose PARAM is V1 or V2 aside as the prior (not in the pool, not in the front).
SPLIT = "#"
# A strategy named ``<name>+prior`` is that strategy warm-started with the split's prior rows.
WITH_PRIOR = "+prior"
# ``<name>@KEY=VALUE,KEY=VALUE`` is a variant of ``<name>`` with those options (over any
# ``--option``), a row of its own: the ablations are rows of one study.
VARIANT = "@"
# ``<name>-unaware`` is ``<name>`` told no QoR constraint: the baseline of constraint awareness.
UNAWARE = "-unaware"
# ``table:SPACE,TABLE where C1; C2``: the table judged by these QoR constraints besides its space's.
WHERE = " where "


def strategy_setup(strategy: str, options: dict) -> tuple[str, dict, bool]:
    """A row's strategy -> (registered name, its options, whether it is warm-started)."""
    prior = strategy.removesuffix(UNAWARE).endswith(WITH_PRIOR)
    name, _, variant = strategy.removesuffix(UNAWARE).removesuffix(WITH_PRIOR).partition(VARIANT)
    opts = dict(options.get(name, {}))
    if variant:
        opts.update(parse_options(variant.split(",")))
    return name, opts, prior


def parse_split(text: str):
    """``PARAM=V1/V2`` -> (PARAM, [V1, V2]) with the values as text (typed by the objective)."""
    name, _, values = text.partition("=")
    if not name or not values:
        raise SystemExit(f"strategy_bench: split '{text}' is not PARAM=VALUE[/VALUE...]")
    return name, values.split("/")


def label(spec: str) -> str:
    """The objective's name in the outputs: a live run without its work folder, a
    table by its file's name (and its split)."""
    kind, _, rest = spec.partition(":")
    if kind == "live":
        return spec.split(",")[0]
    if kind == "table":
        rest, where, constraints = rest.partition(WHERE)
        rest, sep, split = rest.partition(SPLIT)
        return f"table:{Path(rest.split(',', 1)[1]).name.split('.')[0]}{sep}{split}{where}{constraints}"
    return spec


def with_constraints(spec: str, constraints: list[str]) -> str:
    """A table problem judged by these QoR constraints too (``--constraint``)."""
    if not constraints:
        return spec
    if not spec.startswith("table:"):
        raise SystemExit(f"strategy_bench: --constraint applies to table problems, not {spec}")
    return spec + ("; " if WHERE in spec else WHERE) + "; ".join(constraints)


def _objective(spec):
    if spec not in _OBJECTIVES:
        kind, _, rest = spec.partition(":")
        if kind == "table":
            rest, _, where = rest.partition(WHERE)
            rest, _, split_text = rest.partition(SPLIT)
            space, table = rest.split(",", 1)
            split = None
            if split_text:
                name, values = parse_split(split_text)
                params = load_space(space).parameters
                if name not in params:
                    raise SystemExit(f"strategy_bench: split '{split_text}': no parameter '{name}' in {space}")
                split = (name, [v for v in params[name].values() or [] if str(v) in values])
            start = time.perf_counter()
            constraints = [c.strip() for c in where.split(";") if c.strip()]
            _OBJECTIVES[spec] = TableObjective(space, table, split=split, constraints=constraints)
            _OBJECTIVES[spec].load_s = time.perf_counter() - start
        elif kind == "live":
            space, workdir = rest.split(",", 1)
            _OBJECTIVES[spec] = LiveFlowObjective(space, workdir)
        else:
            _OBJECTIVES[spec] = make_objective(spec)
    return _OBJECTIVES[spec]


SLOW_FIRST = ("qnehvi", "diffusion", "dosa", "motpe")


def objective_identity(spec: str) -> str:
    """What a saved run's result depends on besides the strategy: the objective's
    name, and for a table the contents of its space file and table."""
    kind, _, rest = spec.partition(":")
    if kind == "table":
        rest, where, constraints = rest.partition(WHERE)
        rest, sep, split = rest.partition(SPLIT)
        digest = hashlib.sha256((sep + split).encode()) if split else hashlib.sha256()
        if where:
            digest.update((where + constraints).encode())
        for path in rest.split(",", 1):
            # The content, not the file: a re-compressed table is the same objective.
            digest.update((gzip.open if path.endswith(".gz") else open)(path, "rb").read())
        if _objective(spec).sampled:
            # The strategies of a sampled table see only its rows
            # (objectives.RowSpace); runs saved under the earlier nearest-row mapping differ.
            digest.update(b"strategies restricted to the rows")
        return f"table-{digest.hexdigest()[:16]}"
    return label(spec)


def strategy_defaults(strategy: str) -> dict:
    """The registered strategy's constructor defaults, as saved runs record them (JSON form)."""
    return json.loads(json.dumps(option_defaults(strategy_class(strategy_setup(strategy, {})[0]))))


def run_file(spec, strategy, seed, budget, batch, options) -> str:
    settings = json.dumps(
        [objective_identity(spec), strategy, seed, budget, batch, strategy_setup(strategy, options)[1]], sort_keys=True
    )
    # The whole label, sanitised: cut at its last slash, a split ("800/1000") kept only its
    # last value and the problem's name was lost.
    name = re.sub(r"[^A-Za-z0-9]+", "-", label(spec)).strip("-")
    return f"{name}_{strategy}_seed{seed}_{hashlib.sha256(settings.encode()).hexdigest()[:12]}.json"


def answered_by(strat, proposed: dict, row: dict) -> None:
    """A pool-based table answered ``proposed`` with another point, ``row``: the
    strategy's record of the ask moves to the row (the proposal stays seen, so it is
    not proposed again), and so does a per-ask handle a strategy keeps (the Optuna
    strategies' open trial, so NSGA-II's generations stay whole; Optuna then records
    the row's values at the proposed parameters, its own record of the ask)."""
    space = strat.space
    was, now = space.canonical(proposed), space.canonical(row)
    strat.pending.discard(was)
    strat.evaluated.add(was)
    strat.pending.add(now)
    handles = getattr(strat, "trials", None)
    if isinstance(handles, dict) and was in handles:
        handles[now] = handles.pop(was)


def run_one(spec: str, strategy: str, seed: int, budget: int, batch: int, options: dict):
    """One run; returns (minimisation-form QoR per evaluation, or None when it failed or
    broke a QoR constraint; ask seconds per round; lookups legalised to a table row).

    A table is pool-based (``TableObjective.claim``): each proposal is answered by a
    row the run has not evaluated (the nearest one when the proposal is not such a
    row) and the strategy is told that row. ``<name>+prior``: the strategy is first
    warm-started with the split's prior rows (never counted in the budget);
    ``<name>-unaware``: it is told no QoR constraint."""
    import torch

    torch.set_num_threads(1)
    objective = _objective(spec)
    space = objective.space
    name, opts, prior = strategy_setup(strategy, options)
    told = space
    if strategy.endswith(UNAWARE):
        told = copy.copy(space)
        told.qor_constraints = []
    strat = make_strategy(name, told, seed, **opts)
    if prior:
        strat.warm_start(objective.prior())
    legalised_before = getattr(objective, "legalised", 0)
    rows, asks = run_loop(objective, strat, budget, batch)
    return (
        spec,
        strategy,
        seed,
        rows,
        asks,
        getattr(objective, "legalised", 0) - legalised_before,
        strategy_defaults(strategy),
    )


def run_loop(objective, strat, budget: int, batch: int):
    """The ask/tell loop of a run with ``batch`` workers against ``objective``, to
    ``budget`` evaluations: (minimisation-form QoR per evaluation, or None when it failed
    or broke a QoR constraint; ask seconds per round). Every evaluation is judged by
    the objective's constraints, whatever the strategy was told."""
    from edalize_dse.qor_constraints import violation

    space = objective.space
    pool = hasattr(objective, "claim")
    taken: set = set()
    rows, asks = [], []
    while len(rows) < budget:
        start = time.perf_counter()
        points = strat.ask(min(batch, budget - len(rows)))
        asks.append(time.perf_counter() - start)
        if not points:
            break
        evs = []
        for p in points:
            if pool:
                row, qor = objective.claim(p, taken)
                if space.canonical(row) != space.canonical(p):
                    answered_by(strat, p, row)
                p = row
            else:
                qor = objective.evaluate(p)
            ev = Evaluation(space.point_id(p), p, "ok" if qor else "failed", dict(qor or {}))
            ev.violation = violation(ev.qor, space.qor_constraints) if qor else None
            evs.append(ev)
            rows.append([o.sign * qor[o.name] for o in space.objectives] if ev.feasible else None)
        strat.tell(evs)
    return rows, asks


REACH = (0.90, 0.95)  # hypervolume ratios whose first crossing is reported


def evaluations_to(curve, goal: float):
    """The number of evaluations after which the ratio first reaches ``goal``, or None."""
    for k, value in enumerate(curve, 1):
        if value >= goal:
            return k
    return None


def reach_cell(counts) -> str:
    """Mean ± std of the runs that got there, and how many of them did."""
    got = np.array([c for c in counts if c is not None], dtype=float)
    if not len(got):
        return f"— (0/{len(counts)})"
    return f"{got.mean():.0f} ± {got.std(ddof=1) if len(got) > 1 else 0.0:.0f} ({len(got)}/{len(counts)})"


def mean_std(values) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.3f}"


def feasible_share(rows, init: int):
    """The share of a run's evaluations after the first ``init`` that succeeded and met the
    constraints (None for a run read from earlier outputs, whose rows are not kept)."""
    if rows is None:
        return None
    after = rows[init:]
    return sum(row is not None for row in after) / len(after) if after else 0.0


def oracle_reach(front: np.ndarray, goal: float) -> int:
    """Evaluations to ``goal`` of the true front's hypervolume for a strategy that knows every
    point's QoR and picks, one at a time, the true-front point of the largest hypervolume gain:
    the yardstick a strategy's evaluations to 95 % are read against (greedy: an upper bound
    on the fewest that would do)."""
    ideal, nadir = front.min(axis=0), front.max(axis=0)
    total = normalized_hypervolume(front, ideal, nadir)
    chosen: list[int] = []
    left = list(range(len(front)))
    while left:
        gains = [normalized_hypervolume(front[chosen + [i]], ideal, nadir) for i in left]
        best = int(np.argmax(gains))
        chosen.append(left.pop(best))
        if gains[best] >= goal * total:
            break
    return len(chosen)


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
    ap.add_argument(
        "--problems",
        nargs="+",
        default=["zdt1", "zdt2", "dtlz2"],
        help="zdt1 zdt2 dtlz2, table:SPACE.yml,TABLE.csv or live:SPACE.yml,WORKDIR",
    )
    ap.add_argument("--strategies", nargs="+", default=["random", "sobol", "nsga2", "motpe", "qnehvi", "diffusion"])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budgets", type=int, nargs="+", default=[30, 60, 100])
    ap.add_argument("--batch", type=int, default=4, help="points per ask (workers)")
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel (processes)")
    ap.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="STRATEGY:KEY=VALUE",
        help="a strategy option, e.g. diffusion:guide_scale=4",
    )
    ap.add_argument(
        "--constraint",
        action="append",
        default=[],
        help="a QoR constraint every table problem is judged by, e.g. 'wns_ps >= 0' (repeatable)",
    )
    ap.add_argument(
        "--init",
        type=int,
        default=10,
        help="evaluations counted as the initial design in the feasible share after it (constrained problems)",
    )
    ap.add_argument("--tag", default="synthetic")
    ap.add_argument(
        "--runs",
        default=None,
        help="folder of finished runs, read back instead of re-run (default benchmarks/state/strategy_runs/TAG)",
    )
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument(
        "--keep",
        nargs="+",
        default=[],
        metavar="STRATEGY",
        help="strategies whose runs are read from --out's strategies_TAG.csv and controller_TAG.csv "
        "(an earlier run of this study) instead of run",
    )
    args = ap.parse_args(argv)
    args.problems = [with_constraints(p, args.constraint) for p in args.problems]

    options: dict = {}
    for item in args.option:
        name, _, kv = item.partition(":")
        options.setdefault(name, {}).update(parse_options([kv]))
    budget = max(args.budgets)
    jobs = [
        (p, s, seed, budget, args.batch, options)
        for p in args.problems
        for s in args.strategies
        for seed in range(args.seeds)
    ]

    # The slowest strategies first, so the last runs in flight are short ones.
    def slowness(job):
        name = strategy_setup(job[1], {})[0]
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)

    jobs.sort(key=slowness)
    runs = Path(args.runs or STATE / "strategy_runs" / args.tag)
    runs.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results, todo, stale = {}, [], 0
    kept = read_kept(Path(args.out), args.tag, [j for j in jobs if j[1] in args.keep])
    for job in jobs:
        if job[1] in args.keep:
            results[job[:3]] = (job[0], job[1], job[2], None, kept[job[:3]][1], 0)
            continue
        saved = runs / run_file(*job)
        data = json.loads(saved.read_text()) if saved.is_file() else None
        if data is not None and len(data) > 6 and data[6] != strategy_defaults(job[1]):
            data, stale = None, stale + 1
        if data is not None:
            # The objective as named now (the saved run may have named the same table by another path).
            results[job[:3]] = (job[0], *data[1:6])
        else:
            todo.append(job)
    print(
        f"{len(jobs)} runs: {len(jobs) - len(todo) - len(kept)} read back from {runs}, {len(todo)} to run"
        + (f", {len(kept)} kept from {args.out}" if kept else "")
        + (f" ({stale} saved under other strategy defaults)" if stale else ""),
        flush=True,
    )

    def keep(job, res):
        # Each run is saved the moment it ends: a killed study resumes with the runs not yet saved.
        (runs / run_file(*job)).write_text(json.dumps(res))
        results[job[:3]] = res[:6]
        print(
            f"  {label(res[0])} {res[1]} seed {res[2]}: {len(res[3])} evaluations, {sum(res[4]):.1f} s asking",
            flush=True,
        )

    if args.jobs > 1 and len(todo) > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            futures = {pool.submit(run_one, *job): job for job in todo}
            for future in as_completed(futures):
                keep(futures[future], future.result())
    else:
        for job in todo:
            keep(job, run_one(*job))
    print(f"{len(todo)} runs in {time.perf_counter() - started:.0f} s")
    results = [results[job[:3]] for job in jobs]
    curves = report(results, args, Path(args.out), {key: curve for key, (curve, _) in kept.items()})
    return results, curves


def read_kept(out: Path, tag: str, jobs: list) -> dict:
    """{(problem, strategy, seed): (hypervolume ratio curve, ask seconds)} of the kept
    jobs, from an earlier run's strategies_TAG.csv and controller_TAG.csv."""
    if not jobs:
        return {}
    by_label: dict = {}
    for name, column in ((f"strategies_{tag}.csv", "hv_ratio"), (f"controller_{tag}.csv", "ask_s")):
        path = out / name
        if not path.is_file():
            raise SystemExit(f"--keep: {path} is not there; run the kept strategies (drop --keep)")
        with open(path, newline="") as fh:
            for row in csv.DictReader(fh):
                key = (row["objective"], row["strategy"], int(row["seed"]))
                by_label.setdefault(key, ([], []))[column == "ask_s"].append(float(row[column]))
    kept = {}
    for spec, strategy, seed, budget, *_ in jobs:
        curve, asks = by_label.get((label(spec), strategy, seed), ([], []))
        if len(curve) < budget:
            raise SystemExit(
                f"--keep: {out / f'strategies_{tag}.csv'} has {len(curve)} of {budget} evaluations "
                f"of {label(spec)} {strategy} seed {seed}; run it (drop {strategy} from --keep)"
            )
        kept[(spec, strategy, seed)] = (curve, asks)
    return kept


def report(results, args, out: Path, kept: dict | None = None):
    """``kept``: the curves of the runs read from earlier outputs (their rows are None)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    curves: dict = {}
    for spec in args.problems:
        mine = [r for r in results if r[0] == spec]
        reference = _objective(spec).reference()
        if reference is None and kept and any(r[3] is None for r in mine):
            raise SystemExit(
                f"--keep: {label(spec)} has no known front (the union of the runs' points is its "
                "reference), so every run must be run"
            )
        if reference is None:  # no known front: the union of all runs
            union = np.array([row for r in mine for row in r[3] if row is not None], dtype=float)
            import moocore

            front = union[moocore.is_nondominated(union)]
            ideal, nadir = front.min(axis=0), front.max(axis=0)
            reference = (ideal, nadir, normalized_hypervolume(front, ideal, nadir))
        for _, strategy, seed, rows, *_ in mine:
            curves[(spec, strategy, seed)] = (
                kept[(spec, strategy, seed)] if rows is None else hv_curve(rows, *reference)
            )

    with open(out / f"strategies_{args.tag}.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["objective", "strategy", "seed", "evaluations", "hv_ratio"])
        for (spec, strategy, seed), curve in curves.items():
            for k, value in enumerate(curve, 1):
                w.writerow([label(spec), strategy, seed, k, f"{value:.5f}"])
    with open(out / f"controller_{args.tag}.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["objective", "strategy", "seed", "round", "ask_s"])
        for spec, strategy, seed, _, asks, _ in results:
            for i, a in enumerate(asks, 1):
                w.writerow([label(spec), strategy, seed, i, f"{a:.4f}"])

    def at(curve, b):
        return curve[min(b, len(curve)) - 1]

    notes = []
    constrained = any(_objective(spec).space.qor_constraints for spec in args.problems)
    share_head = [f"feasible share after {args.init}"] if constrained else []

    lines = [
        "| objective | strategy | "
        + " | ".join(f"HV ratio @{b}" for b in args.budgets)
        + " | "
        + " | ".join(f"evals to {int(100 * g)} %" for g in REACH)
        + "".join(f" | {h}" for h in share_head)
        + " | ask s/round: mean, last |",
        "|---|---|" + "---|" * (len(args.budgets) + len(REACH) + len(share_head) + 1),
    ]
    for spec in args.problems:
        objective = _objective(spec)
        if objective.space.qor_constraints and hasattr(objective, "feasible_share"):
            notes.append(
                f"{label(spec)}: {objective.feasible_share():.1%} of the pool's successful rows meet "
                + ", ".join(c.text for c in objective.space.qor_constraints)
                + " (the share a blind draw gets)"
            )
        if isinstance(objective, TableObjective):
            notes.append(
                f"{label(spec)}: {len(objective.rows)} table rows in the pool "
                f"({'a sample of the space' if objective.sampled else 'every valid point'}; "
                f"{objective.failed} failed, {len(objective.prior_rows)} set aside as prior) loaded in "
                f"{objective.load_s:.2f} s, "
                f"{objective.flow_wall_s / 3600:.2f} h of flow wall time; "
                f"{sum(r[5] for r in results if r[0] == spec)} lookups legalised to the nearest row"
            )
        for strategy in args.strategies:
            runs = [curves[(spec, strategy, s)] for s in range(args.seeds)]
            asks = [a for r in results if r[0] == spec and r[1] == strategy for a in r[4]]
            cells = []
            for b in args.budgets:
                cells.append(mean_std([at(c, b) for c in runs]))
            for goal in REACH:
                cells.append(reach_cell([evaluations_to(c, goal) for c in runs]))
            if share_head:
                shares = [feasible_share(r[3], args.init) for r in results if r[0] == spec and r[1] == strategy]
                known = objective.space.qor_constraints and shares and None not in shares
                cells.append(mean_std(shares) if known else "—")
            last = np.mean([r[4][-1] for r in results if r[0] == spec and r[1] == strategy and r[4]])
            lines.append(
                f"| {label(spec)} | {strategy} | " + " | ".join(cells) + f" | {np.mean(asks):.3f}, {last:.3f} |"
            )
        fig, ax = plt.subplots(figsize=(6, 4))
        for strategy in args.strategies:
            runs = np.array([curves[(spec, strategy, s)] for s in range(args.seeds)])
            x = np.arange(1, runs.shape[1] + 1)
            mean, std = runs.mean(axis=0), runs.std(axis=0)
            ax.plot(x, mean, label=strategy)
            ax.fill_between(x, mean - std, mean + std, alpha=0.15)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("hypervolume ratio")
        ax.set_title(f"{label(spec)}: mean ± std over {args.seeds} seeds, batch {args.batch}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        kind, _, name = label(spec).partition(":")
        stem = re.sub(r"[^A-Za-z0-9_]+", "-", name if kind == "table" else kind)
        fig.savefig(out / f"hv_{stem}_{args.tag}.png", dpi=110)
        plt.close(fig)
    table = "\n".join(lines) + "\n" + "".join(f"\n{n}\n" for n in notes)
    (out / f"strategies_{args.tag}.md").write_text(table)
    print(table)
    return curves


if __name__ == "__main__":
    main()
