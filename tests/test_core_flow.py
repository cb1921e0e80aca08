"""Any FuseSoC core with a `flow: dse` target: the core's own RTL is synthesized and
its vlogparams are the hardware layer (cores/mac_lanes, the shipped example)."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from edalize_dse.errors import DseError
from edalize_dse.flows import get_flow
from edalize_dse.generators import get_generator

from conftest import CORES

FUSESOC = str(Path(sys.executable).with_name("fusesoc"))
RTL = CORES / "mac_lanes" / "rtl" / "mac_lanes.v"
CORE = {"top": "mac_lanes", "files": [str(RTL)], "parameters": {"WIDTH": 8, "ACC": 40, "LANES": 2, "PIPE": 0}}


def test_vlogparams_reach_yosys_and_change_the_design(tmp_path, platform_dir, tools):
    gen = get_generator("core", core=CORE)
    assert set(gen.PARAMETERS) == {"WIDTH", "ACC", "LANES", "PIPE"}
    flow = get_flow("synth", cache=False)
    areas = {}
    for lanes in (1, 4):
        design = gen.generate(gen.resolve({"LANES": lanes}), tmp_path / f"l{lanes}" / "rtl")
        metrics, _ = flow.run(design, {}, tmp_path / f"l{lanes}" / "synth")
        areas[lanes] = metrics["area_um2"]
        script = (tmp_path / f"l{lanes}" / "synth" / "synth.ys").read_text()
        assert f"chparam -set LANES {lanes} mac_lanes" in script and "chparam -set ACC 40 mac_lanes" in script
        # The core's file is named absolutely (it lives outside the point's folder).
        assert f"read_verilog -sv {RTL}" in script
    assert areas[4] > 3 * areas[1]


def test_core_generator_needs_the_cores_files():
    with pytest.raises(DseError, match="generator 'core' explores a FuseSoC core"):
        get_generator("core")
    with pytest.raises(DseError, match="core file.*not found"):
        get_generator("core", core={"top": "x", "files": ["/nonexistent/x.v"]})


def test_user_core_explored_through_fusesoc(tmp_path, platform_dir, tools):
    run = subprocess.run(
        [
            FUSESOC,
            "--cores-root",
            str(CORES),
            "run",
            "--target=dse",
            "edalize-dse:example:mac_lanes",
            "--budget",
            "4",
            "--ACC",
            "32",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    work = tmp_path / "build" / "edalize-dse_example_mac_lanes_0.1.0" / "dse"
    config = json.loads((work / "dse-run.json").read_text())["flow"]
    assert config["generator"] == "core" and config["core"]["top"] == "mac_lanes"
    # A vlogparam given on the command line is the fixed value of a parameter the space leaves out.
    assert config["core"]["parameters"]["ACC"] == 32
    with open(work / "results" / "evaluations.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and all(r["status"] == "ok" for r in rows)
    for r in rows:
        script = (work / "results" / "points" / r["point_id"] / "synth" / "synth.ys").read_text()
        for name in ("WIDTH", "LANES", "PIPE"):
            assert f"chparam -set {name} {r[name]} mac_lanes" in script
        assert "chparam -set ACC 32 mac_lanes" in script
        assert float(r["area_um2"]) > 0 and float(r["fmax_mhz"]) > 0
    assert "fmax_mhz (max)" in run.stdout
