"""Every strategy through FuseSoC on the live flow (pyosys + OpenSTA on ASAP7),
budget 8, on a space of 2x2 arrays (every mesh/tile split) and a few synthesis knob
values, where a point synthesizes in seconds; the model-based ones start their models
after 4 points so their model rounds run on real QoR."""

import json
import sqlite3
import subprocess

import pytest
from test_fusesoc_flow import WORK, fusesoc_cmd

from conftest import write_space

SMALL_ARRAYS = """
name: gemmini_2x2
parameters:
  meshRows:    {layer: hardware, type: pow2, low: 1, high: 2, default: 1}
  meshColumns: {layer: hardware, type: pow2, low: 1, high: 2, default: 1}
  tileRows:    {layer: hardware, type: pow2, low: 1, high: 2, default: 2}
  tileColumns: {layer: hardware, type: pow2, low: 1, high: 2, default: 2}
  inputType:   {layer: hardware, type: choice, choices: [4, 8], default: 8}
  accType:     {layer: hardware, type: choice, choices: [16], default: 16}
  spatialArrayOutputType: {layer: hardware, type: choice, choices: [16], default: 16}
  sp_capacity: {layer: hardware, type: choice, choices: [8], default: 8}
  acc_capacity: {layer: hardware, type: choice, choices: [4], default: 4}
  clock_period_ps: {layer: eda, type: int, low: 800, high: 1000, step: 100, default: 1000}
  ASAP7_USE_VT:    {layer: eda, type: choice, choices: [RVT, LVT], default: RVT}
  abc_script:      {layer: eda, type: choice, choices: [speed, area], default: speed}
constraints:
  - {name: rows_2, expr: "meshRows * tileRows == 2"}
  - {name: columns_2, expr: "meshColumns * tileColumns == 2"}
objectives:
  - {name: area_um2, goal: min}
  - {name: power_mw, goal: min}
  - {name: throughput_gops, goal: max}
"""
OPTIONS = {
    "diffusion": "init_points=4,train_steps=400,finetune_steps=100",
    "qnehvi": "init_points=4",
    "nsga2": "population_size=4",
    "motpe": "startup_trials=4",
}


@pytest.mark.parametrize("strategy", ["random", "sobol", "nsga2", "motpe", "qnehvi", "diffusion"])
def test_strategy_runs_through_fusesoc_on_the_live_flow(tmp_path, platform_dir, tools, strategy):
    extra = ["--strategy_options", OPTIONS[strategy]] if strategy in OPTIONS else []
    space = write_space(tmp_path, SMALL_ARRAYS)
    run = subprocess.run(
        fusesoc_cmd(
            "--space", str(space), "--strategy", strategy, "--budget", "8", "--workers", "2", "--seed", "3", *extra
        ),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = tmp_path / WORK / "results"
    with sqlite3.connect(results / "dse.sqlite") as con:
        rows = con.execute("SELECT point_id, status, strategy, timings FROM evaluations").fetchall()
    assert len(rows) == 8 and len({r[0] for r in rows}) == 8
    assert all(status == "ok" and name == strategy for _, status, name, _ in rows)
    assert all("controller_s" in json.loads(timings) for *_, timings in rows)
    if strategy in ("diffusion", "qnehvi"):
        log = (results / "controller.log").read_text()
        assert f"{strategy} round 1:" in log  # a model round ran on real results, and was timed
