"""Every strategy through FuseSoC on the live flow (pyosys + OpenSTA on ASAP7),
budget 8, on the tiny 4x4 space; the model-based ones start their models after
4 points so their model rounds run on real QoR."""

import json
import sqlite3
import subprocess

import pytest
from test_fusesoc_flow import WORK, fusesoc_cmd

from conftest import CORES

TINY = CORES / "spaces" / "gemmini_tiny.yml"
OPTIONS = {
    "diffusion": "init_points=4,train_steps=400,finetune_steps=100",
    "qnehvi": "init_points=4",
    "nsga2": "population_size=4",
    "motpe": "startup_trials=4",
}


@pytest.mark.parametrize("strategy", ["random", "sobol", "nsga2", "motpe", "qnehvi", "diffusion"])
def test_strategy_runs_through_fusesoc_on_the_live_flow(tmp_path, platform_dir, tools, strategy):
    extra = ["--strategy_options", OPTIONS[strategy]] if strategy in OPTIONS else []
    run = subprocess.run(
        fusesoc_cmd(
            "--space", str(TINY), "--strategy", strategy, "--budget", "8", "--workers", "2", "--seed", "3", *extra
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
