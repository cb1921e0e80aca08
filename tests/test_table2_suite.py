"""Table 2 and the benchmark suite: the sampled table build (a fixed, seeded sample
replayed by strategy ``grid`` through the product's loop, with the real flow), the
pool-based lookup of a sampled table, the constrained synthetic problem, and the
suite's quick mode."""

import csv
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from benchmarks import strategy_bench, suite
from benchmarks.build_table import draw_sample
from benchmarks.objectives import SyntheticProblem, TableObjective
from edalize_dse.errors import DseError
from edalize_dse.generators import get_generator
from edalize_dse.space import load_space
from edalize_dse.store import Evaluation
from edalize_dse.strategies import make_strategy

from conftest import CORES, ONE_SMALL_ARRAY, REPO, write_space

BUILD_TABLE = REPO / "benchmarks" / "build_table.py"

# Six cheap points (one 2x2 int4 array), with the table-2 constraint column.
SAMPLED_SPACE = f"""
name: sampled_table
parameters:
{ONE_SMALL_ARRAY}
  clock_period_ps: {{layer: eda, type: choice, choices: [300, 1000], default: 1000}}
  ASAP7_USE_VT:    {{layer: eda, type: choice, choices: [RVT, LVT, SLVT], default: RVT}}
qor_constraints:
  - "wns_ps >= 0"
objectives:
  - {{name: area_um2, goal: min}}
  - {{name: power_mw, goal: min}}
  - {{name: fmax_mhz, goal: max}}
"""


def test_table2_space_is_wide_and_its_sample_is_fixed_distinct_and_valid(tmp_path, platform_dir):
    from edalize_dse.explore import RunConfig, check_inputs

    # Every name is a parameter of the embedded generator or a knob of the synth flow, every
    # knob value legal, the default point a valid generator configuration (no tool runs).
    space = check_inputs(RunConfig(space=str(CORES / "spaces" / "gemmini_table2.yml"), output=str(tmp_path))).space
    assert len(space.layer("eda")) >= 6 and [c.text for c in space.qor_constraints] == ["wns_ps >= 0"]
    first, again, other = draw_sample(space, 300, 0), draw_sample(space, 300, 0), draw_sample(space, 300, 1)
    assert first == again and first != other
    assert len({space.canonical(p) for p in first}) == 300 and all(space.is_valid(p) for p in first)
    dims = {p["meshRows"] * p["tileRows"] for p in first}
    assert dims == {2, 4, 8}  # 8x8 arrays are in it
    assert {p["sp_banks"] for p in first} == {1, 2, 4} and {p["tile_latency"] for p in first} == {0, 1}
    generator = get_generator("embedded")
    for point in first:  # each sampled point is a configuration the generator accepts
        assert not generator.violations(generator.resolve(space.split(point)[0]))


def test_grid_replays_a_points_file_and_refuses_a_bad_one(tmp_path):
    space = load_space(write_space(tmp_path, SAMPLED_SPACE))
    points = space.enumerate_valid()
    chosen = [points[4], points[1], points[2]]
    (tmp_path / "points.json").write_text(json.dumps({"points": chosen}))
    grid = make_strategy("grid", space, seed=0, points=str(tmp_path / "points.json"))
    grid.tell([Evaluation(space.point_id(chosen[1]), chosen[1], "ok")])  # a resumed run
    assert grid.ask(5) == [chosen[0], chosen[2]]
    (tmp_path / "bad.json").write_text(json.dumps([{**chosen[0], "clock_period_ps": 777}]))
    with pytest.raises(DseError, match="point #1 is not in space sampled_table: parameter 'clock_period_ps'"):
        make_strategy("grid", space, seed=0, points=str(tmp_path / "bad.json"))
    (tmp_path / "twice.json").write_text(json.dumps([chosen[0], chosen[0]]))
    with pytest.raises(DseError, match="listed twice"):
        make_strategy("grid", space, seed=0, points=str(tmp_path / "twice.json"))


def _build(space, work, table, *extra):
    return subprocess.run(
        [
            sys.executable,
            str(BUILD_TABLE),
            "--space",
            str(space),
            "--work",
            str(work),
            "--table",
            str(table),
            "--workers",
            "2",
            "--no-progress",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


def _stored(store):
    if not store.exists():
        return []
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)  # read-only: never create it here
    try:
        return db.execute("SELECT id, point_id, finished_at FROM evaluations ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # the table is not there yet
        return []
    finally:
        db.close()


def test_sampled_table_build_is_fixed_resumable_and_has_a_constraint_column(tmp_path, platform_dir, tools):
    space = write_space(tmp_path, SAMPLED_SPACE)
    work, table = tmp_path / "work", tmp_path / "table.csv.gz"
    store = work / "dse.sqlite"
    # Killed (the whole process group, tools included) once its first point has finished ...
    proc = subprocess.Popen(
        [
            sys.executable,
            str(BUILD_TABLE),
            "--space",
            str(space),
            "--work",
            str(work),
            "--table",
            str(table),
            "--workers",
            "1",
            "--no-progress",
            "--sample",
            "3",
            "--sample-seed",
            "3",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 300
    while not _stored(store) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _stored(store)
    assert 1 <= len(before) < 3 and not table.exists()
    # ... and resumed: the finished points kept, the others run, none twice.
    run = _build(space, work, table, "--sample", "3", "--sample-seed", "3")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 ok, 0 failed, 0 not yet run of 3 points" in run.stdout
    after = _stored(store)
    assert after[: len(before)] == before and len({r[1] for r in after}) == len(after) == 3
    sample = json.loads((work / "sample.json").read_text())
    assert (sample["size"], sample["seed"]) == (3, 3)
    assert sample["points"] == draw_sample(load_space(space), 3, 3)
    with gzip.open(table, "rt") as fh:
        rows = list(csv.DictReader(fh))
    # The rows are the sample, in the order drawn, with the verdict of wns_ps >= 0.
    assert [(int(r["clock_period_ps"]), r["ASAP7_USE_VT"]) for r in rows] == [
        (p["clock_period_ps"], p["ASAP7_USE_VT"]) for p in sample["points"]
    ]
    for r in rows:
        assert (r["violation"] == "") == (float(r["wns_ps"]) >= 0)
    note = json.loads((tmp_path / "table.provenance.json").read_text())
    assert note["sample"]["size"] == 3 and note["sample"]["seed"] == 3 and note["qor_constraints"] == ["wns_ps >= 0"]
    # The same command again runs no tool and writes the same table.
    again = _build(space, work, tmp_path / "again.csv.gz", "--sample", "3", "--sample-seed", "3")
    assert again.returncode == 0 and (tmp_path / "again.csv.gz").read_bytes() == table.read_bytes()
    assert _stored(store) == after
    # The export carries the build to a new store (another machine): nothing left to run, same table.
    moved = _build(
        space,
        tmp_path / "work2",
        tmp_path / "moved.csv.gz",
        "--sample",
        "3",
        "--sample-seed",
        "3",
        "--import",
        str(table),
    )
    assert moved.returncode == 0 and "3 finished rows imported" in moved.stdout, moved.stdout + moved.stderr
    assert (tmp_path / "moved.csv.gz").read_bytes() == table.read_bytes()
    # Another seed on the same work folder is refused before anything runs.
    other = _build(space, work, table, "--sample", "3", "--sample-seed", "4")
    assert other.returncode == 2 and "holds a sample of another build (different seed)" in other.stderr


# A hand-written sampled table: 5 of the 9 points of a 3 x 3 space, one infeasible (c > 0).
POOL_SPACE = """
name: pool
parameters:
  a: {layer: hardware, type: int, low: 0, high: 2, default: 0}
  b: {layer: eda, type: int, low: 0, high: 2, default: 0}
qor_constraints:
  - "c <= 0"
objectives:
  - {name: f1, goal: min}
  - {name: f2, goal: min}
"""
POOL_ROWS = [  # a, b, f1, f2, c
    (0, 0, 1.0, 4.0, 0.0),
    (2, 2, 4.0, 1.0, 0.0),
    (1, 1, 2.0, 2.0, 0.0),
    (0, 2, 0.5, 0.5, 1.0),
    (2, 0, 3.0, 3.0, 0.0),
]


def _pool_table(tmp_path):
    space = write_space(tmp_path, POOL_SPACE)
    path = tmp_path / "pool.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "status", "f1", "f2", "c"])
        for row in POOL_ROWS:
            w.writerow([*row[:2], "ok", *row[2:]])
    return space, path


def test_a_sampled_table_is_pool_based(tmp_path):
    space, path = _pool_table(tmp_path)
    table = TableObjective(space, path)
    assert table.sampled and len(table.rows) == 5
    taken: set = set()
    # A row is itself; a point that is no row gets the nearest row not yet taken (ties: earlier row).
    assert table.claim({"a": 1, "b": 1}, taken)[0] == {"a": 1, "b": 1} and table.legalised == 0
    assert table.claim({"a": 1, "b": 1}, taken)[0] == {"a": 0, "b": 0}  # taken: the next nearest (earlier of ties)
    assert table.claim({"a": 2, "b": 1}, taken)[0] == {"a": 2, "b": 2}
    assert table.legalised == 2
    # The true front is the feasible rows' (the infeasible (0.5, 0.5) row would dominate it).
    ideal, nadir, _ = table.reference()
    assert ideal.tolist() == [1.0, 1.0] and nadir.tolist() == [4.0, 4.0]


def test_a_run_on_a_sampled_table_evaluates_only_its_rows_each_once(tmp_path):
    space, path = _pool_table(tmp_path)
    spec = f"table:{space},{path}"
    # The strategies' space is the rows (RowSpace): a point of the 3 x 3 box that is no row is invalid.
    table = strategy_bench._objective(spec)
    assert table.space.violations({"a": 1, "b": 0}) == ["not a row of the table"]
    assert table.space.is_valid({"a": 1, "b": 1})
    for strategy in ("random", "sobol", "motpe"):
        _, _, _, rows, _, legalised, _ = strategy_bench.run_one(spec, strategy, 0, 5, 2, {})
        # Each strategy proposes rows by itself (its own legalisation): nothing is moved after the fact.
        assert legalised == 0, strategy
        # Every row exactly once; the infeasible one counts as no front point.
        assert sorted(r for r in rows if r is not None) == sorted([list(r[2:4]) for r in POOL_ROWS if r[4] <= 0])
        assert rows.count(None) == 1


def test_a_split_table_sets_the_prior_rows_aside_from_the_pool_and_the_front(tmp_path):
    space, path = _pool_table(tmp_path)
    table = strategy_bench._objective(f"table:{space},{path}#a=0")
    assert sorted(json.loads(k)["b"] for k in table.prior_rows) == [0, 2] and len(table.rows) == 3
    prior = table.prior()
    assert [(e.params, e.status, e.violation) for e in prior] == [
        ({"a": 0, "b": 0}, "ok", None),
        ({"a": 0, "b": 2}, "ok", "c <= 0 (c = 1)"),
    ]
    # The pool answers a prior point with its nearest pool row, never the prior row itself.
    row, _ = table.claim({"a": 0, "b": 0}, set())
    assert row["a"] != 0
    ideal, nadir, _ = table.reference()  # the pool's feasible front: (2, 2), (4, 1), (3, 3) dominated
    assert ideal.tolist() == [2.0, 1.0] and nadir.tolist() == [4.0, 2.0]


def test_the_constrained_synthetic_problem_exposes_its_constraint_as_a_qor_constraint():
    problem = SyntheticProblem("c2dtlz2")
    assert [c.text for c in problem.space.qor_constraints] == ["g1 <= 0"]
    point = problem.space.default_point()
    metrics = problem.evaluate(point)
    assert set(metrics) == {"f1", "f2", "g1"}
    ideal, nadir, hv = problem.reference()
    assert hv > 0 and np.all(nadir > ideal)


def test_the_oracle_picks_the_true_fronts_points_of_largest_gain_first():
    # A line front of 11 points: the two ends hold most of the hypervolume (the reference lies a
    # tenth beyond the nadir), the points between add ever less.
    t = np.linspace(0.0, 1.0, 11)
    front = np.column_stack([t, 1.0 - t])
    assert strategy_bench.oracle_reach(front, 1e-9) == 1
    assert strategy_bench.oracle_reach(front, 1.0) == 11
    reach = [strategy_bench.oracle_reach(front, g) for g in (0.5, 0.8, 0.9, 0.95)]
    assert reach == sorted(reach) and reach[0] < reach[-1] < 11
    # The synthetic problem's known front: far fewer than its points.
    zdt1 = strategy_bench._objective("zdt1").true_front()
    assert 2 <= strategy_bench.oracle_reach(zdt1, 0.95) < len(zdt1)


@pytest.mark.slow  # every strategy on the synthetic problems
def test_suite_quick_runs_the_synthetic_problems_and_resumes(tmp_path, capsys):
    argv = [
        "--quick",
        "--parts",
        "synthetic",
        "--problems",
        "zdt3",
        "c2dtlz2",
        "--strategies",
        "random",
        "sobol",
        "--jobs",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--runs",
        str(tmp_path / "runs"),
    ]
    assert suite.main(argv) == 0
    text = (tmp_path / "out" / "suite-quick.md").read_text()
    assert "## Synthetic problems" in text
    # The report names the command that made it (what it ran, not where its runs are kept).
    made = "--quick --parts synthetic --problems zdt3 c2dtlz2 --strategies random sobol"
    assert f"Made by `python -m benchmarks.suite {made}`." in text
    for problem in ("zdt3", "c2dtlz2"):
        for strategy in ("random", "sobol"):
            assert f"| {problem} | {strategy} |" in text
        front = strategy_bench._objective(problem).true_front()
        assert f"| {problem} | *oracle* |  |  | {strategy_bench.oracle_reach(front, suite.GOAL)} |" in text
    capsys.readouterr()
    assert suite.main(argv) == 0  # every run read back, none run again
    assert "8 runs: 8 read back" in capsys.readouterr().out
    assert (tmp_path / "out" / "suite-quick.md").read_text() == text


@pytest.mark.slow  # two strategies on a synthetic and a narrow problem
def test_suite_judges_each_strategy_by_its_worst_problem(tmp_path):
    argv = ["--quick", "--parts", "synthetic", "narrow", "--problems", "zdt3", "--narrow", "narrow_convex"]
    argv += ["--strategies", "random", "sobol", "--jobs", "1", "--out", str(tmp_path), "--runs", str(tmp_path / "r")]
    assert suite.main(argv) == 0
    text = (tmp_path / "suite-quick.md").read_text()
    assert "## Narrow spaces" in text and "| narrow_convex | sobol |" in text
    worst = text.split("## Worst case over the problems")[1]
    rows = [line.split(" | ") for line in worst.splitlines() if line.startswith(("| random", "| sobol"))]
    assert len(rows) == 2 and all(len(row) == 3 for row in rows)  # strategy, @8, @16
    for column in (1, 2):
        values = [float(row[column].split()[0].strip("*")) for row in rows]
        # The better of two is best on at least one problem: the column's best worst case is
        # at most 1, and whichever strategy is worse somewhere is named with that problem.
        assert max(values) <= 1.0 and all(0.0 <= v <= 1.0 for v in values)
        assert sum("**" in row[column] for row in rows) >= 1
        for row, value in zip(rows, values):
            assert value == 1.0 or any(p in row[column] for p in ("zdt3", "narrow_convex"))


@pytest.mark.slow  # a strategy's runs on the synthetic problems
def test_suite_keeps_a_strategys_results_from_its_earlier_outputs_instead_of_running_it(tmp_path, capsys):
    # After a change to one strategy the baselines are not run again: --keep reads their
    # curves and ask times back from the committed CSVs, and the report is the same.
    out = tmp_path / "out"
    argv = [
        "--quick",
        "--parts",
        "synthetic",
        "--problems",
        "zdt3",
        "--strategies",
        "random",
        "sobol",
        "--jobs",
        "1",
        "--out",
        str(out),
    ]
    assert suite.main(argv + ["--runs", str(tmp_path / "runs")]) == 0
    text = (out / "suite-quick.md").read_text()
    report = (out / "strategies_suite-synthetic-quick.md").read_text()
    capsys.readouterr()
    assert suite.main(argv + ["--runs", str(tmp_path / "fresh"), "--keep", "sobol"]) == 0
    printed = capsys.readouterr().out
    assert "4 runs: 0 read back from" in printed and ", 2 to run, 2 kept from" in printed
    assert (out / "suite-quick.md").read_text() == text

    def sobol_cells(md):  # the kept row's cells, the ask times (rounded in the CSV) aside
        return [line.split(" | ")[:-1] for line in md.splitlines() if "| sobol |" in line]

    assert sobol_cells((out / "strategies_suite-synthetic-quick.md").read_text()) == sobol_cells(report) != []
    assert not list((tmp_path / "fresh").rglob("*sobol*"))  # kept, so neither run nor saved
    # A kept strategy the outputs do not hold is an error naming it, before anything runs.
    with pytest.raises(SystemExit, match="motpe seed 0; run it"):
        suite.main(
            [
                "--quick",
                "--parts",
                "synthetic",
                "--problems",
                "zdt3",
                "--strategies",
                "random",
                "motpe",
                "--jobs",
                "1",
                "--out",
                str(out),
                "--runs",
                str(tmp_path / "fresh"),
                "--keep",
                "motpe",
            ]
        )


def test_suite_transfer_part_runs_with_and_without_the_prior(tmp_path, capsys):
    assert (
        suite.main(
            [
                "--quick",
                "--parts",
                "transfer",
                "--strategies",
                "random",
                "--jobs",
                "1",
                "--out",
                str(tmp_path / "out"),
                "--runs",
                str(tmp_path / "runs"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    text = (tmp_path / "out" / "suite-quick.md").read_text()
    if not (REPO / "benchmarks" / "tables" / "gemmini_table2.csv.gz").exists():
        assert "gemmini_table2: skipped" in out
    else:  # the committed table 2: its transfer split is run too
        assert "| table:gemmini_table2#clock_period_ps=800/1000 | random |" in text
    assert "## Transfer" in text and "| table:gemmini_table#clock_period_ps=500 | random |" in text


def test_transfer_ratio_is_the_mean_with_the_prior_over_the_mean_without_and_a_bound_when_runs_fall_short():
    conf = dict(seeds=2, budgets=[50, 100])

    def curve(reached_at):  # a hypervolume ratio that first reaches 95 % after reached_at evaluations
        return [0.5] * (reached_at - 1) + [0.96] * (100 - reached_at + 1) if reached_at else [0.5] * 100

    def ratio(without, with_prior):
        curves = {("p", "s", k): curve(r) for k, r in enumerate(without)}
        curves.update({("p", "s+prior", k): curve(r) for k, r in enumerate(with_prior)})
        return suite.prior_ratio(curves, "p", "s", "s+prior", conf)

    assert ratio([40, 60], [10, 20]) == "0.30x"
    # A run without the prior that never got there needs more than the budget: counted as
    # 100, the ratio is an upper bound (15 / 80).
    assert ratio([60, None], [10, 20]) == "< 0.19x"
    assert ratio([40, 60], [10, None]) == "—"  # a primed run fell short: no ratio


def test_a_strategy_variant_is_a_row_of_its_own_with_its_options(tmp_path):
    name, opts, prior = strategy_bench.strategy_setup(
        "diffusion@kappa=0,explore=0.1+prior", {"diffusion": {"kappa": 1.0, "cfg_weight": 2.0}}
    )
    assert (name, opts, prior) == ("diffusion", {"kappa": 0, "explore": 0.1, "cfg_weight": 2.0}, True)
    assert strategy_bench.strategy_setup("motpe", {}) == ("motpe", {}, False)
    args = ("zdt1", 0, 30, 4, {})
    files = {strategy_bench.run_file(args[0], s, *args[1:]) for s in ("diffusion", "diffusion@kappa=0")}
    assert len(files) == 2  # saved apart, so neither is read back as the other
    space, path = _pool_table(tmp_path)
    spec = f"table:{space},{path}"
    # A split's run is named by its problem and the whole split (its values hold a slash).
    split_file = strategy_bench.run_file(f"{spec}#a=0/2", "diffusion", *args[1:])
    assert "/" not in split_file and "pool-a-0-2_diffusion_seed0" in split_file
    # The variant's options reach the strategy (a wrong one is the strategy's own error).
    with pytest.raises(DseError, match="popsize"):
        strategy_bench.run_one(spec, "nsga2@popsize=4", 0, 4, 2, {})
    assert len(strategy_bench.run_one(spec, "nsga2@population_size=4", 0, 4, 2, {})[3]) == 4


def test_a_saved_run_made_under_other_strategy_defaults_runs_again(tmp_path, capsys):
    # A changed default keeps the run's file name (the name hashes the command's settings),
    # so the file records the defaults and a mismatch is stale, never read back as current.
    space, path = _pool_table(tmp_path)
    argv = [
        "--tag",
        "t",
        "--problems",
        f"table:{space},{path}",
        "--strategies",
        "nsga2",
        "--seeds",
        "1",
        "--budgets",
        "4",
        "--batch",
        "2",
        "--jobs",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--runs",
        str(tmp_path / "runs"),
    ]
    first, _ = strategy_bench.main(argv)
    saved = next((tmp_path / "runs").glob("*.json"))
    data = json.loads(saved.read_text())
    assert data[6] == strategy_bench.strategy_defaults("nsga2") and data[6]
    assert strategy_bench.main(argv)[0] == first  # same defaults: read back
    assert "1 read back" in capsys.readouterr().out
    data[6] = {**data[6], "population_size": 999}
    data[3] = [[9.0, 9.0]] * len(data[3])  # what the stale run would report if it were read back
    saved.write_text(json.dumps(data))
    again, _ = strategy_bench.main(argv)
    assert "0 read back" in capsys.readouterr().out
    assert [r[3] for r in again] == [r[3] for r in first]  # run again: its own rows, not the stale ones
    assert json.loads(saved.read_text())[6] == strategy_bench.strategy_defaults("nsga2")


def test_predictor_headroom_replaces_the_predictor_by_the_truth(tmp_path):
    """The headroom benchmark runs the default controller with the true QoR as its
    predictor's answer: it must do better than with that answer blurred, on the same seed."""
    from benchmarks import predictor_headroom

    out = tmp_path / "headroom.md"
    predictor_headroom.main(["--seeds", "1", "--budget", "16", "--noise", "0", "0.5", "--jobs", "1", "--out", str(out)])
    text = out.read_text()
    assert text.startswith(
        "Made by `PYTHONPATH=plugin python -m benchmarks.predictor_headroom --seeds 1 --budget 16 --noise 0 0.5`"
    )
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| gemmini_table |")]
    assert [r[1] for r in rows] == ["true QoR", "true QoR + noise sd 0.5"]
    truth, blurred = (float(r[-1].rstrip(" |")) for r in rows)
    assert truth > blurred + 0.02
