"""The tabulated benchmark: the ``grid`` strategy that lists a space, the resumable
table build (killed at a random moment and resumed, with the real flow), the
lookup objective, and the committed table itself."""

import csv
import gzip
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from benchmarks.objectives import TableObjective
from benchmarks.strategy_bench import evaluations_to, hv_curve, reach_cell
from edalize_dse.errors import SpaceError
from edalize_dse.space import load_space
from edalize_dse.store import Evaluation
from edalize_dse.strategies import make_strategy

from conftest import CORES, ONE_SMALL_ARRAY, REPO, write_space

BUILD_TABLE = REPO / "benchmarks" / "build_table.py"
TABLE = REPO / "benchmarks" / "tables" / "gemmini_table.csv.gz"
TABLE_SPACE = CORES / "spaces" / "gemmini_table.yml"

# Six cheap points: one 2x2 int4 array x two clock targets x three threshold flavours.
SMALL_TABLE_SPACE = f"""
name: small_table
parameters:
{ONE_SMALL_ARRAY}
  clock_period_ps: {{layer: eda, type: choice, choices: [500, 1000], default: 1000}}
  ASAP7_USE_VT:    {{layer: eda, type: choice, choices: [RVT, LVT, SLVT], default: RVT}}
objectives:
  - {{name: area_um2, goal: min}}
  - {{name: power_mw, goal: min}}
  - {{name: fmax_mhz, goal: max}}
"""


def test_grid_lists_every_valid_point_once_and_a_resumed_grid_skips_the_told(tmp_path):
    space = load_space(write_space(tmp_path, SMALL_TABLE_SPACE))
    grid = make_strategy("grid", space, seed=0)
    first = grid.ask(4)
    rest = grid.ask(10)
    assert len(first) == 4 and len(rest) == 2 and grid.ask(1) == []
    assert sorted(map(space.canonical, first + rest)) == sorted(map(space.canonical, space.enumerate_valid()))
    # A resumed run is told the finished points (here the 2nd and 3rd) before it asks.
    resumed = make_strategy("grid", space, seed=0)
    resumed.tell([Evaluation(space.point_id(p), p, "ok") for p in first[1:3]])
    again = resumed.ask(10)
    assert [space.canonical(p) for p in again] == [space.canonical(p) for p in [first[0], first[3], *rest]]


def test_grid_refuses_a_space_too_big_to_list(tmp_path):
    text = "\n".join(
        ["name: big", "parameters:"]
        + [f"  p{i}: {{layer: hardware, type: int, low: 0, high: 99, default: 0}}" for i in range(4)]
    )
    space = load_space(write_space(tmp_path, text))
    with pytest.raises(SpaceError, match="strategy 'grid' lists every point.*100,000,000"):
        make_strategy("grid", space, seed=0)


def _rows(store):
    if not store.exists():
        return []
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)  # read-only: never create it here
    try:
        return db.execute(
            "SELECT id, point_id, started_at, finished_at, status FROM evaluations ORDER BY id"
        ).fetchall()
    except sqlite3.OperationalError:  # the table is not there yet
        return []
    finally:
        db.close()


def _build(space, work, table, **popen):
    return subprocess.Popen(
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
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


def test_table_build_killed_at_a_random_moment_resumes_without_loss_or_repeat(tmp_path, platform_dir, tools):
    space = write_space(tmp_path, SMALL_TABLE_SPACE)
    work, table = tmp_path / "work", tmp_path / "table.csv.gz"
    store = work / "dse.sqlite"
    proc = _build(space, work, table, start_new_session=True)
    # Wait for the first finished point, then kill the whole process group (tools
    # included, no clean-up) a random moment later, mid-way through the build.
    deadline = time.time() + 300
    while not _rows(store) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(random.Random(os.getpid()).uniform(0.0, 2.0))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _rows(store)
    assert 1 <= len(before) < 6, "the kill should land while the build runs"
    assert not table.exists()

    resumed = _build(space, work, table)
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out
    after = _rows(store)
    assert after[: len(before)] == before  # every finished point kept as it was
    assert len(after) == 6 and len({r[1] for r in after}) == 6  # each point exactly once
    assert "6 ok, 0 failed, 0 not yet run of 6 points" in out
    with gzip.open(table, "rt") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6 and {r["status"] for r in rows} == {"ok"}
    assert all(float(r["flow_wall_s"]) > 0 and r["version_yosys"] and r["version_opensta"] for r in rows)
    # A re-run with nothing left to do runs no tool and writes the same table.
    again = _build(space, work, tmp_path / "again.csv.gz")
    out, _ = again.communicate(timeout=300)
    assert again.returncode == 0 and _rows(store) == after, out
    assert (tmp_path / "again.csv.gz").read_bytes() == table.read_bytes()


def test_a_partial_table_carries_the_build_to_another_store(tmp_path, platform_dir, tools):
    """A build that cannot finish on one machine is continued elsewhere from its committed
    partial export; an export of another flow is refused."""
    space = write_space(tmp_path, SMALL_TABLE_SPACE)
    first = tmp_path / "first"
    partial = tmp_path / "partial.csv.gz"
    # Two finished points stand for a build stopped part-way.
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "edalize_dse",
            "run",
            "--space",
            str(space),
            "--output",
            str(first),
            "--strategy",
            "grid",
            "--budget",
            "2",
            "--cache-dir",
            "off",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    export = subprocess.run(
        [
            sys.executable,
            str(BUILD_TABLE),
            "--space",
            str(space),
            "--work",
            str(first),
            "--table",
            str(partial),
            "--export-only",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert export.returncode == 1 and "2 ok, 0 failed, 4 not yet run" in export.stdout
    note = json.loads((tmp_path / "partial.provenance.json").read_text())
    assert note["run_identity"]["activity"] == 0.1

    table = tmp_path / "table.csv.gz"
    cont = subprocess.run(
        [
            sys.executable,
            str(BUILD_TABLE),
            "--space",
            str(space),
            "--work",
            str(tmp_path / "second"),
            "--table",
            str(table),
            "--import",
            str(partial),
            "--workers",
            "2",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert cont.returncode == 0, cont.stdout + cont.stderr
    assert "2 finished rows imported" in cont.stdout and "6 ok, 0 failed, 0 not yet run of 6 points" in cont.stdout
    with gzip.open(partial, "rt") as fh:
        before = {tuple(r[n] for n in ("clock_period_ps", "ASAP7_USE_VT")): r for r in csv.DictReader(fh)}
    with gzip.open(table, "rt") as fh:
        after = {tuple(r[n] for n in ("clock_period_ps", "ASAP7_USE_VT")): r for r in csv.DictReader(fh)}
    assert len(after) == 6
    for key, row in before.items():  # carried over unchanged (flow_wall_s is re-summed from rounded steps)
        assert float(after[key].pop("flow_wall_s")) == pytest.approx(float(row.pop("flow_wall_s")), rel=1e-4)
        assert after[key] == row, key

    note["run_identity"]["activity"] = 0.2  # rows of another flow setting
    (tmp_path / "partial.provenance.json").write_text(json.dumps(note))
    refused = subprocess.run(
        [
            sys.executable,
            str(BUILD_TABLE),
            "--space",
            str(space),
            "--work",
            str(tmp_path / "third"),
            "--table",
            str(tmp_path / "t3.csv.gz"),
            "--import",
            str(partial),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode != 0 and "changed: activity (0.2 -> 0.1)" in refused.stdout + refused.stderr


def _write_table(path, space, rows):
    names = space.names
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*names, "status", "area_um2", "power_mw", "fmax_mhz", "flow_wall_s"])
        for point, status, qor in rows:
            w.writerow([*(point[n] for n in names), status, *(qor or ("", "", "")), 2.0])


def test_table_objective_answers_rows_marks_failures_and_legalises_to_the_nearest_row(tmp_path):
    space = load_space(write_space(tmp_path, SMALL_TABLE_SPACE))
    points = space.enumerate_valid()
    by = {(p["clock_period_ps"], p["ASAP7_USE_VT"]): p for p in points}
    rows = [
        (by[500, "RVT"], "ok", (10.0, 2.0, 900.0)),
        (by[1000, "RVT"], "ok", (9.0, 1.0, 800.0)),
        (by[500, "LVT"], "failed", None),
        (by[1000, "SLVT"], "ok", (9.5, 3.0, 950.0)),
    ]
    _write_table(tmp_path / "t.csv", space, rows)
    objective = TableObjective(tmp_path / "space.yml", tmp_path / "t.csv")
    assert objective.evaluate(by[1000, "RVT"]) == {"area_um2": 9.0, "power_mw": 1.0, "fmax_mhz": 800.0}
    assert objective.evaluate(by[500, "LVT"]) is None and objective.failed == 1
    assert objective.legalised == 0
    # (500, SLVT) is not in the table: its nearest row differs in one parameter only,
    # the clock (1000, SLVT) or the flavour (500, RVT / failed 500, LVT); the first such row wins.
    assert objective.evaluate(by[500, "SLVT"]) == {"area_um2": 10.0, "power_mw": 2.0, "fmax_mhz": 900.0}
    assert objective.legalised == 1
    assert objective.flow_wall_s == pytest.approx(8.0)
    ideal, nadir, hv = objective.reference()
    # fmax is maximised: minimisation form negates it; every ok row is on this front.
    assert list(ideal) == [9.0, 1.0, -950.0] and list(nadir) == [10.0, 3.0, -800.0] and hv > 0


def test_hypervolume_ratio_reaches_one_when_the_whole_table_is_evaluated_and_counts_the_crossing(tmp_path):
    space = load_space(write_space(tmp_path, SMALL_TABLE_SPACE))
    rng = np.random.default_rng(0)
    rows = [(p, "ok", tuple(rng.uniform(1, 10, 3))) for p in space.enumerate_valid()]
    _write_table(tmp_path / "t.csv", space, rows)
    objective = TableObjective(tmp_path / "space.yml", tmp_path / "t.csv")
    evaluated = [[o.sign * objective.evaluate(p)[o.name] for o in space.objectives] for p, _, _ in rows]
    curve = hv_curve(evaluated, *objective.reference())
    assert curve[-1] == pytest.approx(1.0) and all(a <= b + 1e-12 for a, b in zip(curve, curve[1:]))
    assert evaluations_to([0.5, 0.89, 0.93, 0.97], 0.9) == 3
    assert evaluations_to([0.5, 0.89, 0.93, 0.97], 0.95) == 4 and evaluations_to([0.5], 0.9) is None
    assert reach_cell([3, 5, None]) == "4 ± 1 (2/3)" and reach_cell([None, None]) == "— (0/2)"


def test_committed_table_covers_every_point_of_its_space():
    """benchmarks/tables/gemmini_table.csv.gz (built by benchmarks/build_table.py):
    one row per valid point, ok with every objective or failed with a reason."""
    space = load_space(TABLE_SPACE)
    objective = TableObjective(TABLE_SPACE, TABLE)
    valid = {space.canonical(p) for p in space.enumerate_valid()}
    assert set(objective.rows) == valid
    with gzip.open(TABLE, "rt") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(valid) == 1440
    for row in rows:
        assert row["status"] in ("ok", "failed")
        assert row["version_yosys"] and row["version_opensta"] and row["finished_at"]
        if row["status"] == "ok":
            assert float(row["flow_wall_s"]) > 0 and float(row["area_um2"]) > 0 and float(row["fmax_mhz"]) > 0
        else:
            assert row["error"], json.dumps(row)


def test_study_numbers_reproduce_from_the_committed_table(tmp_path):
    """The study command gives the committed numbers (benchmarks/results/strategies_table.csv):
    rerun here for the strategies whose arithmetic is numpy/scipy only, to 48 evaluations."""
    from benchmarks.strategy_bench import main

    spec = f"table:{TABLE_SPACE},{TABLE}"
    main(
        [
            "--tag",
            "check",
            "--problems",
            spec,
            "--strategies",
            "random",
            "sobol",
            "nsga2",
            "--seeds",
            "2",
            "--budgets",
            "24",
            "48",
            "--batch",
            "8",
            "--jobs",
            "1",
            "--out",
            str(tmp_path),
            "--runs",
            str(tmp_path / "runs"),
        ]
    )

    def curves(path, limit):
        with open(path) as fh:
            return {
                (r["strategy"], r["seed"], int(r["evaluations"])): float(r["hv_ratio"])
                for r in csv.DictReader(fh)
                if int(r["evaluations"]) <= limit
                and int(r["seed"]) < 2
                and r["strategy"] in ("random", "sobol", "nsga2")
            }

    rerun = curves(tmp_path / "strategies_check.csv", 48)
    committed = curves(REPO / "benchmarks" / "results" / "strategies_table.csv", 48)
    assert len(rerun) == 3 * 2 * 48 and rerun == committed
