"""The benchmark suite, one command: every strategy on the synthetic problems, on
both tabulated ASAP7 benchmarks, and the transfer study on the tables.

    nice python -m benchmarks.suite            # make suite: the whole suite (hours)
    python -m benchmarks.suite --quick         # seconds: 2 seeds, small budgets, synthetic problems
    # after a change to diffusion only: the baselines' results are read from benchmarks/results
    nice python -m benchmarks.suite --strategies diffusion nsga2 motpe sobol random --keep nsga2 motpe sobol random

Parts (``--parts``, default all four):

- ``synthetic``: ``objectives.PROBLEM_SPECS`` (convex, concave, disconnected,
  degenerate, 3 and 4 objectives, constrained), each on the mixed space with the
  true front of the discretised problem.
- ``narrow``: ``objectives.NARROW_SPECS``, narrow spaces of four 10-level ordinal
  parameters and a 10-level choice (fronts of several shapes, 5-100 % feasible), and the
  hardware-like one pool-based.
- ``tables``: table 1 (``gemmini_table``, every point) and table 2
  (``gemmini_table2``, a sample; pool-based, feasible front under ``wns_ps >= 0``);
  a table whose CSV is not there is skipped with one line saying so.
- ``transfer``: on each table, the rows of one clock set are the prior and the
  others the pool: each strategy runs without a prior and warm-started with it
  (``<strategy>+prior``: ``strategy.warm_start(evaluations)`` before the first
  ask; the prior is never counted in the budget).

Every run goes through ``strategy_bench.py`` (same replay loop, same saved runs:
a killed suite resumes where it stopped). Outputs under ``--out``: each part's
``strategies_suite-<part>.md/.csv`` and plots as ``strategy_bench`` writes them,
and ``suite.md`` (``suite-quick.md`` with ``--quick``): per problem and budget the
mean hypervolume ratio per strategy (best in bold), the evaluations to 95 % of the
true front beside an oracle's (a strategy that knew every point's QoR), each
strategy's worst case over the problems (its mean HV ratio relative to the best
strategy's, at each budget), and for the transfer study the evaluations to 95 %
without and with the prior and their ratio."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from benchmarks import RESULTS, ROOT, STATE, strategy_bench
from benchmarks.objectives import NARROW_SPECS, POOL_SUFFIX, PROBLEM_SPECS

TABLES = {
    # name: (space, table, the transfer split: the prior's clock set)
    "gemmini_table": (
        "cores/spaces/gemmini_table.yml",
        "benchmarks/tables/gemmini_table.csv.gz",
        "clock_period_ps=500",
    ),
    "gemmini_table2": (
        "cores/spaces/gemmini_table2.yml",
        "benchmarks/tables/gemmini_table2.csv.gz",
        "clock_period_ps=800/1000",
    ),
}
STRATEGIES = ["diffusion", "qnehvi", "nsga2", "motpe", "sobol", "random"]
PARTS = ("synthetic", "narrow", "tables", "transfer")
# The narrow part: every narrow problem as it is, and the hardware-like one pool-based too.
NARROW = [*NARROW_SPECS, "narrow_hardware" + POOL_SUFFIX]
GOAL = 0.95


def settings(quick: bool) -> dict:
    """Seeds, budgets and batch of each part (``--quick``: a smoke run in seconds)."""
    if quick:
        return {
            "synthetic": dict(seeds=2, budgets=[8, 16], batch=4),
            "narrow": dict(seeds=2, budgets=[8, 16], batch=4),
            "tables": dict(seeds=2, budgets=[8, 16], batch=4),
            "transfer": dict(seeds=2, budgets=[16], batch=4),
        }
    return {
        "synthetic": dict(seeds=5, budgets=[30, 60, 100], batch=4),
        "narrow": dict(seeds=5, budgets=[25, 50, 100], batch=4),
        "tables": dict(seeds=10, budgets=[25, 50, 100, 200], batch=8),
        # 200 evaluations and 10 seeds: without a prior, table 2's runs need up to 180 to get
        # to 95 % (at 100, 3 of 5 had not), and the ratio's two means must both be whole.
        "transfer": dict(seeds=10, budgets=[50, 100, 200], batch=8),
    }


def table_spec(name: str, split: bool = False) -> str:
    space, table, prior = TABLES[name]
    return f"table:{ROOT / space},{ROOT / table}" + (f"{strategy_bench.SPLIT}{prior}" if split else "")


def run_part(tag: str, problems: list[str], strategies: list[str], conf: dict, args) -> dict:
    """One strategy_bench study; returns its curves {(problem, strategy, seed): ratios}."""
    argv = [
        "--tag",
        tag,
        "--problems",
        *problems,
        "--strategies",
        *strategies,
        "--seeds",
        str(conf["seeds"]),
        "--budgets",
        *map(str, conf["budgets"]),
        "--batch",
        str(conf["batch"]),
        "--jobs",
        str(args.jobs),
        "--out",
        str(args.out),
        "--runs",
        str(Path(args.runs) / tag),
    ]
    for option in args.option:
        argv += ["--option", option]
    kept = [s for s in strategies if s in args.keep or strategy_bench.strategy_setup(s, {})[0] in args.keep]
    if kept:
        argv += ["--keep", *kept]
    _, curves = strategy_bench.main(argv)
    return curves


def mean_at(curves, problem, strategy, seeds, budget) -> float:
    return float(np.mean([c[min(budget, len(c)) - 1] for c in (curves[(problem, strategy, s)] for s in range(seeds))]))


def reach(curves, problem, strategy, seeds) -> str:
    return strategy_bench.reach_cell(
        [strategy_bench.evaluations_to(curves[(problem, strategy, s)], GOAL) for s in range(seeds)]
    )


def hv_section(title: str, curves, problems, strategies, conf) -> list[str]:
    budgets = conf["budgets"]
    lines = [
        f"## {title}",
        "",
        f"Mean hypervolume ratio over {conf['seeds']} seeds (batch {conf['batch']}; best of each column in "
        f"bold) and evaluations to {int(GOAL * 100)} % of the true front (mean ± std of the runs that got "
        "there, how many did); *oracle*: the evaluations a strategy that knew every point's QoR would need "
        "(the true front's points, greedily by hypervolume gain).",
        "",
        "| problem | strategy | " + " | ".join(f"HV @{b}" for b in budgets) + f" | evals to {int(GOAL * 100)} % |",
        "|---|---|" + "---|" * (len(budgets) + 1),
    ]
    for problem in problems:
        means = {s: [mean_at(curves, problem, s, conf["seeds"], b) for b in budgets] for s in strategies}
        best = [max(means[s][i] for s in strategies) for i in range(len(budgets))]
        for s in strategies:
            cells = [f"**{v:.3f}**" if v == best[i] else f"{v:.3f}" for i, v in enumerate(means[s])]
            lines.append(
                f"| {strategy_bench.label(problem)} | {s} | "
                + " | ".join(cells)
                + f" | {reach(curves, problem, s, conf['seeds'])} |"
            )
        lines.append(
            f"| {strategy_bench.label(problem)} | *oracle* | "
            + " | ".join("" for _ in budgets)
            + f" | {oracle(problem)} |"
        )
    return lines + [""]


def oracle(problem: str) -> int:
    """Evaluations to the goal of a strategy that knows every point's QoR (strategy_bench.oracle_reach)."""
    return strategy_bench.oracle_reach(strategy_bench._objective(problem).true_front(), GOAL)


def worst_case_section(parts: list) -> list[str]:
    """Per strategy and budget, its worst mean HV ratio relative to the best strategy's on the
    same problem, over every problem of ``parts`` [(curves, problems, strategies, conf)]: a
    default is judged by the problem it does worst on. Budgets are those every part has."""
    budgets = sorted(set.intersection(*(set(conf["budgets"]) for *_, conf in parts)))
    strategies = [s for s in parts[0][2] if all(s in p[2] for p in parts)]
    if not budgets or not strategies:
        return []
    worst = {s: [(2.0, 0.0, "")] * len(budgets) for s in strategies}
    for curves, problems, _, conf in parts:
        for problem in problems:
            for i, b in enumerate(budgets):
                means = {s: mean_at(curves, problem, s, conf["seeds"], b) for s in strategies}
                best = max(means.values())
                for s in strategies:
                    ratio = means[s] / best if best > 0 else 1.0
                    if ratio < worst[s][i][0]:
                        worst[s][i] = (ratio, best - means[s], strategy_bench.label(problem))
    top = [max(worst[s][i][0] for s in strategies) for i in range(len(budgets))]
    lines = [
        "## Worst case over the problems",
        "",
        "Per strategy and budget: its lowest mean HV ratio relative to the best strategy's on the same "
        "problem, over every problem above (the transfer study aside), with how far below the best's mean "
        "it is there and which problem that is; the best worst case of each column in bold.",
        "",
        "| strategy | " + " | ".join(f"worst @{b}" for b in budgets) + " |",
        "|---|" + "---|" * len(budgets),
    ]
    for s in strategies:
        cells = []
        for i, (ratio, gap, problem) in enumerate(worst[s]):
            value = f"**{ratio:.3f}**" if ratio == top[i] else f"{ratio:.3f}"
            cells.append(f"{value} ({gap:.3f} below, {problem})" if gap > 0 else f"{value} (best on every problem)")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return lines + [""]


def prior_ratio(curves, problem, base, primed, conf) -> str:
    """Mean evaluations to the goal with the prior over the mean without it. Runs that
    never got there count as the budget (a lower bound of what they need): a ratio
    over such runs is an upper bound, written '< r'; none when a primed run fell short."""
    budget = conf["budgets"][-1]
    reached = {
        s: [strategy_bench.evaluations_to(curves[(problem, s, seed)], GOAL) for seed in range(conf["seeds"])]
        for s in (base, primed)
    }
    if None in reached[primed]:
        return "—"
    without = [budget if r is None else r for r in reached[base]]
    bound = "< " if None in reached[base] else ""
    return f"{bound}{np.mean(reached[primed]) / np.mean(without):.2f}x"


def transfer_section(curves, problems, pairs, conf) -> list[str]:
    budgets = conf["budgets"]
    lines = [
        "## Transfer: warm start from a disjoint part of the table",
        "",
        "The prior is the rows of the clock set named after `#`; the pool (and the true front) is the "
        "other clock set. Mean hypervolume ratio over "
        f"{conf['seeds']} seeds and evaluations to {int(GOAL * 100)} %, without and with the prior, and "
        "their ratio (mean with over mean without; '< r' where some runs without it never got there, "
        f"counted as {budgets[-1]}).",
        "",
        "| problem | strategy | "
        + " | ".join(f"HV @{b} without / with" for b in budgets)
        + f" | evals to {int(GOAL * 100)} % without | with prior | with / without |",
        "|---|---|" + "---|" * (len(budgets) + 3),
    ]
    for problem in problems:
        for base, primed in pairs:
            cells = [
                f"{mean_at(curves, problem, base, conf['seeds'], b):.3f} / "
                f"{mean_at(curves, problem, primed, conf['seeds'], b):.3f}"
                for b in budgets
            ]
            lines.append(
                f"| {strategy_bench.label(problem)} | {base} | "
                + " | ".join(cells)
                + f" | {reach(curves, problem, base, conf['seeds'])} "
                f"| {reach(curves, problem, primed, conf['seeds'])} "
                f"| {prior_ratio(curves, problem, base, primed, conf)} |"
            )
        lines.append(
            f"| {strategy_bench.label(problem)} | *oracle* | "
            + " | ".join("" for _ in budgets)
            + f" | {oracle(problem)} | | |"
        )
    return lines + [""]


def made_by(args, parser) -> str:
    """The options that chose what the tables hold, as they would be typed: parts, problems
    and strategies other than the parser's defaults, and strategy options. Where the runs
    came from (``--runs``, ``--keep``) and how many ran at once change none of it."""
    words = [" --quick"] if args.quick else []
    for option in ("parts", "problems", "narrow", "strategies"):
        value = getattr(args, option)
        if value != parser.get_default(option):
            words.append(f" --{option} " + " ".join(value))
    words += [f" --option {o}" for o in args.option]
    return "".join(words)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 seeds, budgets 8 and 16: a smoke run in seconds")
    ap.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    ap.add_argument("--strategies", nargs="+", default=STRATEGIES)
    ap.add_argument("--problems", nargs="+", default=list(PROBLEM_SPECS), help="synthetic problems to run")
    ap.add_argument("--narrow", nargs="+", default=NARROW, help="narrow problems to run (part narrow)")
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel (processes)")
    ap.add_argument("--option", action="append", default=[], metavar="STRATEGY:KEY=VALUE")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument(
        "--keep",
        nargs="+",
        default=[],
        metavar="STRATEGY",
        help="strategies (and their +prior rows) read from --out's results of an earlier suite "
        "instead of run (strategy_bench --keep)",
    )
    ap.add_argument(
        "--runs",
        default=str(STATE / "strategy_runs"),
        help="folder of finished runs (one subfolder per part), read back instead of re-run",
    )
    args = ap.parse_args(argv)
    conf = settings(args.quick)
    suffix = "-quick" if args.quick else ""
    out = Path(args.out)
    sections, skipped = [], []

    tables = []
    for name, (space, table, _) in TABLES.items():
        if (ROOT / table).is_file():
            tables.append(name)
        elif {"tables", "transfer"} & set(args.parts):
            skipped.append(f"{name}: skipped, {table} is not built yet (benchmarks/TABLE.md says how)")

    judged = []  # (curves, problems, strategies, conf) of the parts the worst case is taken over
    if "synthetic" in args.parts:
        curves = run_part(f"suite-synthetic{suffix}", args.problems, args.strategies, conf["synthetic"], args)
        sections += hv_section("Synthetic problems", curves, args.problems, args.strategies, conf["synthetic"])
        judged.append((curves, args.problems, args.strategies, conf["synthetic"]))
    if "narrow" in args.parts:
        curves = run_part(f"suite-narrow{suffix}", args.narrow, args.strategies, conf["narrow"], args)
        sections += hv_section(
            "Narrow spaces (four 10-level ordinals and a 10-level choice)",
            curves,
            args.narrow,
            args.strategies,
            conf["narrow"],
        )
        judged.append((curves, args.narrow, args.strategies, conf["narrow"]))
    if "tables" in args.parts and tables:
        problems = [table_spec(t) for t in tables]
        curves = run_part(f"suite-tables{suffix}", problems, args.strategies, conf["tables"], args)
        sections += hv_section("Tabulated ASAP7 benchmarks", curves, problems, args.strategies, conf["tables"])
        judged.append((curves, problems, args.strategies, conf["tables"]))
    if judged:
        sections += worst_case_section(judged)
    if "transfer" in args.parts and tables:
        # Every strategy takes a prior (Strategy.warm_start): each runs without and with it.
        pairs = [(s, s + strategy_bench.WITH_PRIOR) for s in args.strategies]
        problems = [table_spec(t, split=True) for t in tables]
        curves = run_part(
            f"suite-transfer{suffix}", problems, [s for pair in pairs for s in pair], conf["transfer"], args
        )
        sections += transfer_section(curves, problems, pairs, conf["transfer"])

    for line in skipped:
        print(f"suite: {line}")
    text = "\n".join(
        [
            "# Benchmark suite" + (" (quick)" if args.quick else ""),
            "",
            f"Made by `python -m benchmarks.suite{made_by(args, ap)}`.",
            "",
            *sections,
            *(["Skipped:", "", *(f"- {line}" for line in skipped), ""] if skipped else []),
        ]
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / f"suite{suffix}.md").write_text(text)
    print(f"suite: {out / f'suite{suffix}.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
