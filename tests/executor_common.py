"""What the executor tests share: a space of eight cheap points and the checks of a finished run."""

import sqlite3
import sys
from pathlib import Path

from conftest import ONE_SMALL_ARRAY

# Eight distinct points of one tiny array: EDA knobs only, a few seconds each.
SPACE = f"""
name: executor_tiny
parameters:
{ONE_SMALL_ARRAY}
  clock_period_ps: {{layer: eda, type: choice, choices: [800, 900, 1000, 1100], default: 1000}}
  ASAP7_USE_VT: {{layer: eda, type: choice, choices: [RVT, LVT], default: RVT}}
objectives:
  - {{name: area_um2, goal: min}}
  - {{name: wns_ps, goal: max}}
"""


def dse_command(space, out, *extra):
    return [
        sys.executable,
        "-m",
        "edalize_dse",
        "run",
        "--space",
        str(space),
        "--output",
        str(out),
        "--budget",
        "8",
        "--workers",
        "4",
        "--strategy",
        "random",
        "--cache-dir",
        "off",
        "--no-progress",
        *extra,
    ]


def stored(out: Path) -> list[tuple]:
    with sqlite3.connect(out / "dse.sqlite") as db:
        return db.execute("SELECT point_id, status, attempts, log_path, error FROM evaluations").fetchall()


def assert_points_with_logs(out: Path, rows):
    for point_id, status, _, log_path, error in rows:
        assert status == "ok", error
        folder = out / "points" / point_id
        assert log_path == str(folder)
        for log in ("synth/yosys.log", "synth/sta.log", "synth/netlist.v"):
            assert (folder / log).stat().st_size > 0, f"{point_id}: {log} not shipped back"
