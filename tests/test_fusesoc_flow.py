"""Acceptance of the vertical slice through FuseSoC: the installed package's
edalize flow `dse` on cores/gemmini.core, on the real tools."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CORES, write_space

FUSESOC = str(Path(sys.executable).with_name("fusesoc"))
VLNV = "edalize-dse:accel:gemmini"
WORK = Path("build") / "edalize-dse_accel_gemmini_0.1.0" / "dse"


def fusesoc_cmd(*extra):
    return [FUSESOC, "--cores-root", str(CORES), "run", "--target=dse", VLNV, *extra]


def store_rows(db: Path):
    with sqlite3.connect(db) as con:
        return con.execute("SELECT point_id, params, status, qor FROM evaluations ORDER BY id").fetchall()


@pytest.fixture(scope="module")
def budget6(tmp_path_factory, platform_dir, tools):
    cwd = tmp_path_factory.mktemp("fusesoc")
    run = subprocess.run(
        fusesoc_cmd("--budget", "6", "--seed", "1"), cwd=cwd, capture_output=True, text=True, timeout=1800
    )
    return cwd, run


def test_budget6_run_stores_six_good_evaluations(budget6):
    cwd, run = budget6
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    rows = store_rows(cwd / WORK / "results" / "dse.sqlite")
    assert len(rows) == 6
    for _, _, status, qor in rows:
        qor = json.loads(qor)
        assert status == "ok"
        assert qor["area_um2"] > 0 and qor["fmax_mhz"] > 0 and qor["power_mw"] > 0
    hw_keys = ("meshRows", "meshColumns", "tileRows", "tileColumns", "inputType", "accType")
    by_hw = {}
    for _, params, _, qor in rows:
        params = json.loads(params)
        by_hw.setdefault(tuple(params[k] for k in hw_keys), set()).add(json.loads(qor)["area_um2"])
    areas = [min(a) for a in by_hw.values()]
    assert len(by_hw) >= 2 and len(set(areas)) == len(areas)


def test_budget6_outputs_and_options(budget6):
    cwd, run = budget6
    out = cwd / WORK / "results"
    for name in ("evaluations.csv", "pareto.csv", "pareto.png"):
        assert (out / name).is_file(), name
    header = (out / "evaluations.csv").read_text().splitlines()[0].split(",")
    assert {"area_um2", "fmax_mhz", "power_mw", "throughput_gops", "time_synth_s", "time_sta_s"} <= set(header)
    assert len((out / "evaluations.csv").read_text().splitlines()) == 7
    doc = json.loads((cwd / WORK / "dse-run.json").read_text())
    # The run configuration is grouped by concern (options.GROUPS).
    assert list(doc) == ["run", "flow", "executor", "strategy", "workload"]
    config = {k: v for group in doc.values() for k, v in group.items()}
    # the command line (--budget 6 --seed 1) overrides the core's budget 12 / seed 0; the rest from the core
    assert (config["budget"], config["seed"], config["workers"], config["strategy"]) == (6, 1, 2, "diffusion")
    assert "Pareto front:" in run.stdout and str(out / "pareto.csv") in run.stdout


def test_kill_after_three_then_resume_ends_with_six(tmp_path, platform_dir, tools):
    store = tmp_path / WORK / "results" / "dse.sqlite"
    cmd = fusesoc_cmd("--budget", "6", "--seed", "2", "--workers", "1")
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 900
    try:
        while time.time() < deadline:
            if store.exists() and len(store_rows(store)) >= 3:
                break
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    killed_at = store_rows(store)
    assert 3 <= len(killed_at) < 6
    rerun = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=1800)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    rows = store_rows(store)
    assert len(rows) == 6
    assert len({r[0] for r in rows}) == 6
    assert rows[: len(killed_at)] == killed_at


def test_missing_platform_is_one_error_before_any_tool(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("ASAP7_PLATFORM_DIR", "FLOW_HOME")}
    run = subprocess.run(
        fusesoc_cmd("--budget", "2"), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 2  # bad input, as the run itself says it: FuseSoC exits with the run's status
    output = run.stdout + run.stderr
    errors = [line for line in output.splitlines() if "ERROR" in line or "error" in line]
    assert len(errors) == 1 and errors[0].startswith("edalize-dse: error: "), output
    assert "ASAP7_PLATFORM_DIR" in errors[0] and "FLOW_HOME" in errors[0]
    assert "edalize_dse run" not in output  # make never started the exploration
    assert not (tmp_path / WORK / "results").exists()


@pytest.mark.parametrize(
    "fragment, problem",
    [
        ("type: intt", "unknown type 'intt'"),
        ("type: choice\n    choices: []", "'choices' must be a non-empty list"),
    ],
)
def test_bad_space_file_is_one_error_naming_file_and_parameter(tmp_path, platform_dir, fragment, problem):
    space = write_space(tmp_path, f"parameters:\n  meshRows:\n    layer: hardware\n    {fragment}\n    default: 2\n")
    run = subprocess.run(fusesoc_cmd("--space", str(space)), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2
    errors = [line for line in (run.stdout + run.stderr).splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("edalize-dse: error: "), run.stdout + run.stderr
    assert str(space) in errors[0] and "parameter 'meshRows'" in errors[0] and problem in errors[0]


def test_unknown_knob_in_space_is_rejected(tmp_path, platform_dir):
    space = write_space(
        tmp_path, "parameters:\n  place_density: {layer: eda, type: float, low: 0.3, high: 0.9, default: 0.6}\n"
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "edalize_dse",
            "run",
            "--space",
            str(space),
            "--output",
            str(tmp_path / "out"),
            "--budget",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1
    assert "parameter 'place_density'" in run.stderr and "no such EDA knob" in run.stderr
