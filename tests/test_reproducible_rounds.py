"""Same command, same seed, any number of workers: the same points and the same
results. Through FuseSoC (`fusesoc run --target=dse`) on the real tools, with the
diffusion strategy small enough that its model rounds run after a 4-point initial
design: rounds of 4 (round_size), budget 10, once with one worker and once with
two; then a run stopped at 8 and resumed to 10 continues the same sequence. The
runs share a result cache, so a point the first run measured is read back, not
synthesised again: every point is still proposed by the loop each time."""

import json
import re
import sqlite3
import subprocess

import pytest
from test_fusesoc_flow import WORK, fusesoc_cmd

from conftest import ONE_SMALL_ARRAY, write_space

SPACE = f"""
name: rounds_tiny
parameters:
{ONE_SMALL_ARRAY}
  clock_period_ps: {{layer: eda, type: choice, choices: [300, 500, 700, 900, 1100, 1300], default: 900}}
  ASAP7_USE_VT: {{layer: eda, type: choice, choices: [RVT, LVT, SLVT], default: RVT}}
  abc_script: {{layer: eda, type: choice, choices: [speed, area], default: speed}}
objectives:
  - {{name: area_um2, goal: min}}
  - {{name: power_mw, goal: min}}
  - {{name: fmax_mhz, goal: max}}
"""

TINY_DIFFUSION = "init_points=4,train_steps=50,finetune_steps=20,candidates=32,targets=4,ddim_steps=5"


def explore(cwd, space, cache, budget, workers):
    run = subprocess.run(
        fusesoc_cmd(
            "--space",
            str(space),
            "--budget",
            str(budget),
            "--workers",
            str(workers),
            "--seed",
            "3",
            "--round_size",
            "4",
            "--strategy_options",
            TINY_DIFFUSION,
            "--cache_dir",
            str(cache),
        ),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return cwd / WORK / "results"


def told_rounds(out):
    """Each round's points in the order the strategy was told them (controller.log)."""
    found = re.findall(r"round (\d+): .* told ([0-9a-f ]+)$", (out / "controller.log").read_text(), re.M)
    return [(int(r), ids.split()) for r, ids in found]


def results(out):
    with sqlite3.connect(out / "dse.sqlite") as db:
        rows = db.execute("SELECT point_id, round, status, qor FROM evaluations").fetchall()
    return {
        pid: (rnd, status, {k: v for k, v in json.loads(qor).items() if not k.startswith("time_")})
        for pid, rnd, status, qor in rows
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory, platform_dir, tools):
    base = tmp_path_factory.mktemp("rounds")
    space, cache = write_space(base, SPACE), base / "cache"
    outs = {}
    for workers in (1, 2):
        (base / f"w{workers}").mkdir()
        outs[workers] = explore(base / f"w{workers}", space, cache, 10, workers)
    (base / "resumed").mkdir()
    explore(base / "resumed", space, cache, 8, 2)
    outs["resumed"] = explore(base / "resumed", space, cache, 10, 2)
    return outs


def test_one_or_two_workers_propose_the_same_points_with_the_same_results(runs):
    one, two = told_rounds(runs[1]), told_rounds(runs[2])
    assert [len(ids) for _, ids in one] == [4, 4, 2]
    assert one == two  # the same points, in the same order, round by round
    assert len({p for _, ids in one for p in ids}) == 10
    assert results(runs[1]) == results(runs[2])
    log = (runs[2] / "controller.log").read_text()
    assert "diffusion round 2:" in log  # two model rounds ran after the initial design


def test_a_resumed_run_continues_the_same_sequence(runs):
    resumed = told_rounds(runs["resumed"])
    assert resumed[-1] == told_rounds(runs[1])[-1]  # the round asked after the resume
    assert results(runs["resumed"]) == results(runs[1])
