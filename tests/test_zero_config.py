"""Zero-configuration start: a core whose target only says `flow: dse` (no generator
option, no design-space file) explores its own RTL in a default space and writes it for
the user."""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from edalize_dse.default_space import default_space
from edalize_dse.flows import get_flow
from edalize_dse.space import load_space

from conftest import CORES

FUSESOC = str(Path(sys.executable).with_name("fusesoc"))

CORE = """CAPI=2:
name: test:zero:mac_lanes:0.1.0
filesets:
  rtl:
    files: [mac_lanes.v]
    file_type: verilogSource
parameters:
  WIDTH: {datatype: int, default: 4, paramtype: vlogparam}
  LANES: {datatype: int, default: 1, paramtype: vlogparam}
  PIPE:  {datatype: int, default: 0, paramtype: vlogparam}
targets:
  dse:
    filesets: [rtl]
    flow: dse
    toplevel: mac_lanes
    parameters: [WIDTH, LANES, PIPE]
"""


def test_default_space_ranges_around_the_vlogparams():
    doc = default_space("x", {"WIDTH": 8, "PIPE": 0, "MODE": "fast", "EN": True}, get_flow("synth"))
    params = doc["parameters"]
    assert params["WIDTH"]["choices"] == [4, 8, 16] and params["WIDTH"]["default"] == 8
    assert params["PIPE"]["choices"] == [0, 1]
    assert "MODE" not in params and "EN" not in params  # no range can be guessed: the core's value stays
    assert params["clock_period_ps"]["choices"] == [1000, 500, 2000]
    assert {p["layer"] for p in params.values()} == {"hardware", "eda"}


def test_core_without_space_file_explores_four_points_and_writes_its_space(tmp_path, platform_dir, tools):
    core_dir = tmp_path / "cores" / "zero"
    core_dir.mkdir(parents=True)
    shutil.copy(CORES / "mac_lanes" / "rtl" / "mac_lanes.v", core_dir / "mac_lanes.v")
    (core_dir / "zero.core").write_text(CORE)
    run = subprocess.run(
        [
            FUSESOC,
            "--cores-root",
            str(tmp_path / "cores"),
            "run",
            "--target=dse",
            "test:zero:mac_lanes",
            "--budget",
            "4",
            "--workers",
            "2",
            "--strategy",
            "random",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = tmp_path / "build" / "test_zero_mac_lanes_0.1.0" / "dse" / "results"
    written = results / "default_space.yml"
    assert written.is_file()
    # Printed at the start, before the first evaluation's line.
    assert "no design-space file in the target: exploring the default space written to" in run.stdout
    assert run.stdout.index("default space written") < run.stdout.index("[1/4]")
    space = load_space(written)  # a valid space file the user can pass back
    assert space.parameters["WIDTH"].choices == (2, 4, 8) and space.parameters["PIPE"].choices == (0, 1)
    assert space.parameters["LANES"].choices == (1, 2) and "clock_period_ps" in space.parameters
    summary = yaml.safe_load((results / "summary.json").read_text())
    assert summary["counts"]["evaluations"] == 4 and summary["counts"]["ok"] == 4
    assert summary["space_file"] == str(written)
    run_config = yaml.safe_load((results.parent / "dse-run.json").read_text())
    assert run_config["flow"]["generator"] == "core"  # no generator option: the core's own RTL
