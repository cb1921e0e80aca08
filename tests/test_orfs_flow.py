"""The orfs flow (OpenROAD-flow-scripts) without OpenROAD: what it renders is read by
GNU make and OpenSTA, its variable names are ORFS's own, its metadata parser reads
ORFS's real metric names; live runs only where FLOW_HOME is a real checkout."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from edalize_dse.errors import DseError, ToolFailure
from edalize_dse.flows import get_flow
from edalize_dse.flows.orfs import OrfsFlow, failed_stage, find_flow_home, parse_metadata
from edalize_dse.generators import MacroView, get_generator

from conftest import ONE_SMALL_ARRAY, write_space

DEFAULT_4X4 = dict(
    meshRows=2,
    meshColumns=2,
    tileRows=2,
    tileColumns=2,
    inputType=8,
    accType=32,
    sp_capacity=16,
    sp_banks=4,
    acc_capacity=8,
    acc_banks=2,
)
EXPORTED = {
    "ASAP7_USE_VT": "RVT LVT",
    "abc_script": "area",
    "SYNTH_HIERARCHICAL": 1,
    "CORE_UTILIZATION": 55,
    "PLACE_DENSITY": 0.7,
    "TNS_END_PERCENT": 50,
    "CTS_CLUSTER_SIZE": 20,
    "CTS_CLUSTER_DIAMETER": 60,
    "clock_period_ps": 800,
    "io_delay_pct": 20,
}


def render(tmp_path, eda, design=None):
    if design is None:
        gen = get_generator("embedded")
        design = gen.generate(gen.resolve(DEFAULT_4X4), tmp_path / "p1" / "rtl")
    work = tmp_path / "p1" / "orfs"
    ctx = OrfsFlow().render(design, eda, work)
    return ctx, work


def make_value(config_mk: Path, name: str) -> str:
    """What GNU make itself makes of a variable of the rendered config.mk."""
    probe = config_mk.parent / "probe.mk"
    probe.write_text(f"include {config_mk}\nprint-%:\n\t@echo '$($*)'\n")
    run = subprocess.run(["make", "-s", "-f", str(probe), f"print-{name}"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_config_mk_sets_only_orfs_variables_and_make_reads_them(tmp_path, orfs_data):
    variables = yaml.safe_load(orfs_data.variables.read_text())
    ctx, work = render(tmp_path, EXPORTED)
    text = (work / "config.mk").read_text()
    names = [line.split()[1] for line in text.splitlines() if line.startswith("export ")]
    assert names and all(n in variables for n in names), [n for n in names if n not in variables]
    expected = {
        "PLATFORM": "asap7",
        "DESIGN_NAME": "gemmini",
        "DESIGN_NICKNAME": "dse_gemmini",
        "ASAP7_USE_VT": "RVT LVT",
        "ABC_AREA": "1",
        "SYNTH_HIERARCHICAL": "1",
        "CORE_UTILIZATION": "55",
        "PLACE_DENSITY": "0.7",
        "TNS_END_PERCENT": "50",
        "CTS_CLUSTER_SIZE": "20",
        "CTS_CLUSTER_DIAMETER": "60",
        "SDC_FILE": str(work.resolve() / "constraint.sdc"),
        "DONT_USE_CELLS": "*x1p*_ASAP7* *xp*_ASAP7* SDF* ICG*",
    }
    for name, value in expected.items():
        assert make_value(work / "config.mk", name) == value, name
    files = make_value(work / "config.mk", "VERILOG_FILES").split()
    assert [Path(f).name for f in files] == [
        "gemmini_pe.v",
        "gemmini_tile.v",
        "gemmini_mesh.v",
        "gemmini_spad.v",
        "gemmini_acc.v",
        "gemmini.v",
    ]
    assert all(Path(f).is_absolute() and Path(f).is_file() for f in files)


def test_pnr_knob_values_are_checked():
    flow = OrfsFlow()
    assert (
        flow.check_knobs(
            {
                "TNS_END_PERCENT": 100,
                "PLACE_DENSITY": 1,
                "CORE_UTILIZATION": 55.5,
                "CTS_CLUSTER_SIZE": 20,
                "CTS_CLUSTER_DIAMETER": 60.5,
            }
        )
        == []
    )
    assert "from 0 to 100" in flow.check_knobs({"TNS_END_PERCENT": 101})[0]
    assert "in (0, 1]" in flow.check_knobs({"PLACE_DENSITY": 0})[0]
    assert "between 0 and 100" in flow.check_knobs({"CORE_UTILIZATION": 100})[0]
    assert "positive integer" in flow.check_knobs({"CTS_CLUSTER_SIZE": 2.5})[0]
    assert "legal: speed, area" in flow.check_knobs({"abc_script": "balanced"})[0]


def test_unset_cts_knobs_leave_the_orfs_defaults(tmp_path):
    _, work = render(tmp_path, {})
    text = (work / "config.mk").read_text()
    assert "CTS_CLUSTER" not in text
    # The generator's SRAM macros (scratchpad 1024x32, accumulator 256x128) come with their views.
    lefs = make_value(work / "config.mk", "ADDITIONAL_LEFS").split()
    assert sorted(Path(f).name for f in lefs) == ["dse_sram_1024x32.lef", "dse_sram_256x128.lef"]
    assert make_value(work / "config.mk", "ABC_AREA") == "0"


def test_sdc_is_read_by_opensta_with_the_clock_and_io_delays(tmp_path, platform_dir, tools):
    """The rendered constraint.sdc on the synthesized netlist of the same point, in OpenSTA."""
    gen = get_generator("embedded")
    design = gen.generate(
        gen.resolve(dict(DEFAULT_4X4, meshRows=1, meshColumns=1, inputType=4, accType=16, spatialArrayOutputType=12)),
        tmp_path / "p1" / "rtl",
    )
    get_flow("synth", cache=False).run(design, {}, tmp_path / "p1" / "synth")
    ctx, work = render(tmp_path, {"clock_period_ps": 800, "io_delay_pct": 25}, design)
    synth_tcl = (tmp_path / "p1" / "synth" / "sta.tcl").read_text()
    libs = [line for line in synth_tcl.splitlines() if line.startswith("read_liberty")]
    script = work / "check_sdc.tcl"
    script.write_text(
        "\n".join(
            libs
            + [
                f"read_verilog {tmp_path / 'p1' / 'synth' / 'netlist.v'}",
                "link_design gemmini",
                f"read_sdc {work / 'constraint.sdc'}",
                "report_clock_properties",
                'puts "DSE_DELAY [get_property [get_ports clk] direction]"',
            ]
        )
        + "\n"
    )
    # The synth flow's liberty paths are relative to its run folder.
    run = subprocess.run(
        ["sta", "-no_init", "-exit", str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path / "p1" / "synth",
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0 and "Error" not in out, out[-2000:]
    assert "core_clock" in out and "800.00" in out


def test_macro_lefs_and_libs_become_additional_files(tmp_path, platform_dir):
    gen = get_generator("embedded")
    design = gen.generate(gen.resolve(DEFAULT_4X4), tmp_path / "p1" / "rtl")
    lib = platform_dir / "lib" / "NLDM" / "fakeram7_64x21.lib"
    lef = platform_dir / "lef" / "fakeram7_64x21.lef"
    design.macros = [MacroView("fakeram7_64x21", lib, lef)]
    _, work = render(tmp_path, {}, design)
    assert make_value(work / "config.mk", "ADDITIONAL_LEFS") == str(lef.resolve())
    assert make_value(work / "config.mk", "ADDITIONAL_LIBS") == str(lib.resolve())
    design.macros = [MacroView("fakeram7_64x21", lib)]
    with pytest.raises(ToolFailure, match="no LEF view"):
        render(tmp_path, {}, design)


def test_vlogparams_become_verilog_top_params(tmp_path):
    from edalize_dse.generators.core import CoreGenerator

    rtl = Path(__file__).resolve().parents[1] / "cores" / "mac_lanes" / "rtl" / "mac_lanes.v"
    gen = CoreGenerator({"top": "mac_lanes", "files": [str(rtl)], "parameters": {"WIDTH": 8, "LANES": 2}})
    design = gen.generate(gen.resolve({"LANES": 4}), tmp_path / "p1" / "rtl")
    _, work = render(tmp_path, {}, design)
    assert make_value(work / "config.mk", "VERILOG_TOP_PARAMS") == "LANES 4 WIDTH 8"
    assert make_value(work / "config.mk", "VERILOG_FILES") == str(rtl)


def test_the_make_command_is_the_documented_one(tmp_path):
    ctx, work = render(tmp_path, {})
    flow = OrfsFlow()
    flow.flow_home = Path("/opt/orfs/flow")
    cmd = flow.command(ctx, work / "work")
    assert cmd == [
        "make",
        "-C",
        "/opt/orfs/flow",
        f"DESIGN_CONFIG={work.resolve() / 'config.mk'}",
        f"WORK_HOME={work / 'work'}",
        "FLOW_VARIANT=p1",
        "finish",
        "metadata-generate",
    ]


# ---- metadata.json, with ORFS's metric names and magnitudes (shared/orfs/asap7/*/rules-base.json)
def reference_metadata(orfs_data, design):
    if not orfs_data.rules(design).is_file():
        pytest.skip(f"{orfs_data.origin} has no asap7 design '{design}'")
    rules = json.loads(orfs_data.rules(design).read_text())
    return {key: rule["value"] for key, rule in rules.items()}


@pytest.mark.parametrize("design", ["gcd", "aes", "riscv32i-mock-sram", "jpeg"])
def test_metadata_of_a_finished_run(tmp_path, orfs_data, design):
    doc = reference_metadata(orfs_data, design)
    doc["finish__power__total"] = 2.5e-3  # W, as ORFS's report_power writes it
    doc["detailedroute__route__drc_errors"] = 0
    doc["detailedroute__route__wirelength"] = 12345
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps(doc))
    qor = parse_metadata(path, clock_period_ps=1000)
    assert qor["area_um2"] == pytest.approx(doc["finish__design__instance__area"])
    assert qor["wns_ps"] == pytest.approx(doc["finish__timing__setup__ws"])
    assert qor["period_ps"] == pytest.approx(1000 - doc["finish__timing__setup__ws"])
    assert qor["fmax_mhz"] == pytest.approx(1e6 / qor["period_ps"])
    assert qor["power_mw"] == pytest.approx(2.5)
    assert qor["drc_errors"] == 0 and qor["wirelength_um"] == 12345
    assert qor["macro_area_um2"] == 0 and qor["stdcell_area_um2"] == qor["area_um2"]


def test_metadata_of_a_run_that_stopped_in_placement(tmp_path, orfs_data):
    doc = {
        k: v
        for k, v in reference_metadata(orfs_data, "ibex").items()
        if k.split("__")[0] in ("synth", "floorplan", "placeopt")
    }
    doc["globalroute__timing__setup__ws"] = "N/A"
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ToolFailure) as err:
        parse_metadata(path, 1000)
    assert "unfinished run" in err.value.reason and "'placeopt'" in err.value.reason
    with pytest.raises(ToolFailure, match="no metadata.json"):
        parse_metadata(tmp_path / "absent.json", 1000)


def test_failed_make_names_the_stage_with_its_log(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    for i, name in enumerate(("1_1_yosys", "2_1_floorplan", "3_3_place_gp")):
        (logs / f"{name}.log").write_text(f"{name} output\nError: GPL-0302 divergence\n")
        os.utime(logs / f"{name}.log", (1000 + i, 1000 + i))
    failure = failed_stage(logs, ToolFailure("orfs", "exited with status 2", tmp_path / "orfs.log"))
    assert failure.step == "orfs/3_3_place_gp" and "GPL-0302" in failure.log_tail
    assert str(failure) == "orfs/3_3_place_gp: exited with status 2"


# ---- FLOW_HOME
def test_flow_home_is_required_and_checked(tmp_path):
    with pytest.raises(DseError, match="set FLOW_HOME"):
        find_flow_home({})
    with pytest.raises(DseError, match="has no Makefile"):
        find_flow_home({"FLOW_HOME": str(tmp_path)})


SPACE = (
    """
name: orfs_mix
parameters:
"""
    + ONE_SMALL_ARRAY
    + """  PLACE_DENSITY: {layer: eda, type: choice, choices: [0.5, 0.7], default: 0.5}
"""
)


@pytest.mark.parametrize("fidelity", ["orfs", "synth+orfs"])
def test_orfs_fidelity_without_flow_home_is_one_error_at_start(tmp_path, platform_dir, fidelity):
    space = write_space(tmp_path, SPACE)
    env = {k: v for k, v in os.environ.items() if k != "FLOW_HOME"}
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
            "--fidelity",
            fidelity,
            "--budget",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "edalize-dse: error: the orfs flow runs OpenROAD-flow-scripts: set FLOW_HOME to the 'flow' folder of an "
        "ORFS checkout (the one with its Makefile and platforms/asap7); FLOW_HOME is not set"
    ]
    assert not (tmp_path / "out").exists()


def test_pnr_knob_is_refused_by_the_synth_fidelity(tmp_path, platform_dir):
    space = write_space(tmp_path, SPACE)
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
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2
    assert "parameter 'PLACE_DENSITY': fidelity 'synth' has no such EDA knob" in run.stderr


def live_flow_home():
    try:
        return find_flow_home()
    except DseError as exc:
        return str(exc)


@pytest.mark.skipif(
    not isinstance(live_flow_home(), Path), reason=f"live ORFS run needs a real checkout: {live_flow_home()}"
)
def test_live_orfs_run_of_a_small_point(tmp_path):
    flow = get_flow("orfs")
    flow.check_platform()
    flow.preflight()
    gen = get_generator("embedded")
    design = gen.generate(
        gen.resolve(dict(DEFAULT_4X4, meshRows=1, meshColumns=1, inputType=4, accType=16, spatialArrayOutputType=12)),
        tmp_path / "p1" / "rtl",
    )
    qor, timings = flow.run(design, {"clock_period_ps": 1000}, tmp_path / "p1" / "orfs")
    assert qor["area_um2"] > 0 and qor["fmax_mhz"] > 0 and timings["orfs_s"] > 0
