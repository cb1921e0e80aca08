"""The synth flow's EDA knobs (rendered into the tool scripts, and moving the real
tools' results), their ORFS names, and the content-addressed result cache."""

import csv
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from edalize_dse.flows import get_flow
from edalize_dse.flows.synth import ORFS_ASAP7_DONT_USE, SynthFlow
from edalize_dse.generators import get_generator
from edalize_dse.metrics import derive

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
SMALL = dict(
    meshRows=1,
    meshColumns=1,
    tileRows=2,
    tileColumns=2,
    inputType=4,
    accType=16,
    spatialArrayOutputType=12,
    sp_capacity=1,
    sp_banks=1,
    acc_capacity=1,
    acc_banks=1,
)


def design_of(tmp_path, hw, name="d"):
    gen = get_generator("embedded")
    return gen.generate(gen.resolve(hw), tmp_path / name / "rtl")


def rendered(tmp_path, eda):
    design = design_of(tmp_path, SMALL)
    work = tmp_path / "d" / "synth"
    work.mkdir(parents=True, exist_ok=True)
    get_flow("synth", cache=False).render(design, eda, work)
    return {name: (work / name).read_text() for name in ("synth.ys", "sta.tcl")}, work


# ---- ORFS names
def test_capital_knobs_and_orfs_counterparts_are_orfs_variables(orfs_data):
    variables = yaml.safe_load(orfs_data.variables.read_text())
    for knob in SynthFlow.KNOBS.values():
        if knob.name.isupper():
            assert knob.name in variables, f"{knob.name} is named like an ORFS variable but ORFS has none"
            assert knob.orfs == knob.name
        if knob.orfs:
            assert knob.orfs in variables, knob.orfs
    # The knobs the issue names map onto ORFS exactly.
    assert {"ASAP7_USE_VT", "SYNTH_HIERARCHICAL", "DONT_USE_CELLS"} <= set(SynthFlow.KNOBS)
    assert SynthFlow.KNOBS["abc_script"].orfs == "ABC_AREA"
    assert SynthFlow.KNOBS["DONT_USE_CELLS"].default == ORFS_ASAP7_DONT_USE


# ---- every knob reaches the scripts
def test_defaults_render_a_flat_speed_run_with_orfs_dont_use(tmp_path, platform_dir, tools):
    texts, work = rendered(tmp_path, {})
    ys = texts["synth.ys"]
    assert "synth -top gemmini -flatten\n" in ys and "-booth" not in ys and "abc -dff" not in ys
    for pattern in ORFS_ASAP7_DONT_USE.split():
        assert f"-dont_use {pattern}" in ys
    assert "-script abc_speed.abc" in ys and (work / "abc_speed.abc").is_file()
    abc = (work / "abc_speed.abc").read_text()
    # ORFS's driver and load for ABC, depth rounds, then buffering and sizing against them.
    assert "buffer -c -p" in abc and abc.count("&if -g -K 6") == 3 and "upsize -c -D 1000" in abc
    assert (work / "abc.constr").read_text() == "set_driving_cell BUFx2_ASAP7_75t_R\nset_load 3.898\n"
    assert "-constr abc.constr" in ys
    assert "source repair.tcl" in texts["sta.tcl"] and "write_verilog netlist_repaired.v" in texts["sta.tcl"]
    assert "set_input_delay 0 -clock clk" in texts["sta.tcl"]
    # RTL is named relative to the run folder: the output directory is not in the scripts.
    assert "read_verilog -sv ../rtl/gemmini_mesh.v" in ys and "read_verilog -sv ../rtl/gemmini.v" in ys
    # Files generated for the point (RTL, macro views) are named relative to the run folder.
    assert str(tmp_path) not in ys and "read_liberty -lib ../rtl/macros/" in ys


def test_each_knob_changes_the_scripts(tmp_path, platform_dir, tools):
    texts, work = rendered(
        tmp_path,
        {
            "booth": 1,
            "SYNTH_HIERARCHICAL": 1,
            "retime": True,
            "max_fanout": 8,
            "io_delay_pct": 20,
            "clock_period_ps": 800,
            "abc_script": "balanced",
            "ASAP7_USE_VT": "LVT RVT",
            "DONT_USE_CELLS": "SDF* ICG*",
        },
    )
    ys, sta = texts["synth.ys"], texts["sta.tcl"]
    assert "synth -top gemmini -booth\n" in ys  # hierarchy kept, Booth on
    assert "dfflibmap -prepare" in ys and "abc -dff -D 800 -script abc_balanced.abc" in ys
    abc = (work / "abc_balanced.abc").read_text()
    assert "buffer -N 8 -p" in abc and "dretime" in abc and "&nf -p -D 800" in abc
    assert "set_input_delay 160 -clock clk" in sta and "set_output_delay 160 -clock clk" in sta
    assert "create_clock -name clk -period 800" in sta
    # Both flavours go to the mappers and to STA; the primary one gives the tie cells.
    for text in (ys, sta):
        assert "asap7sc7p5t_SEQ_LVT" in text and "asap7sc7p5t_SEQ_RVT" in text
    assert "TIEHIx1_ASAP7_75t_L" in ys
    assert "-dont_use SDF* -dont_use ICG*" in ys and "*x1p*" not in ys


def test_bad_knob_value_fails_the_point_not_the_process(tmp_path, platform_dir, tools):
    from edalize_dse.errors import ToolFailure

    with pytest.raises(ToolFailure, match="knob 'abc_script'"):
        rendered(tmp_path, {"abc_script": "nonexistent"})


# ---- the knobs move the real tools' results
@pytest.fixture(scope="module")
def knob_runs(tmp_path_factory, platform_dir, tools):
    tmp = tmp_path_factory.mktemp("knobs")
    design = design_of(tmp, DEFAULT_4X4)
    flow = get_flow("synth", cache=False)
    knobs = {
        "base": {},
        "area": {"abc_script": "area"},
        "hier": {"SYNTH_HIERARCHICAL": 1},
        "mixed_vt": {"ASAP7_USE_VT": "RVT SLVT"},
        "retime": {"retime": 1},
    }

    def run(name):
        metrics, _ = flow.run(design, knobs[name], tmp / name / "synth")
        return name, (derive(metrics, design.info), tmp / name / "synth")

    # Two at a time, as a run with two workers does: each synthesis uses one core.
    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(run, knobs))


def test_area_script_gives_a_smaller_area_than_speed(knob_runs):
    assert knob_runs["area"][0]["area_um2"] < knob_runs["base"][0]["area_um2"]


def test_hierarchical_synthesis_keeps_modules_and_counts_their_area(knob_runs):
    flat, _ = knob_runs["base"]
    hier, work = knob_runs["hier"]
    netlist = (work / "netlist.v").read_text()
    assert "module gemmini_tile" in netlist or "module gemmini_pe" in netlist
    assert "module gemmini_tile" not in (knob_runs["base"][1] / "netlist.v").read_text()
    # stat -top sums the hierarchy: same order of area, all sequential cells counted.
    assert hier["seq_area_um2"] == pytest.approx(flat["seq_area_um2"], rel=0.05)
    assert 0.8 < hier["area_um2"] / flat["area_um2"] < 1.5
    assert hier["fmax_mhz"] > 0


def test_mixed_vt_uses_both_flavours_and_sits_between(knob_runs):
    base, _ = knob_runs["base"]
    mixed, work = knob_runs["mixed_vt"]
    netlist = (work / "netlist.v").read_text()
    assert "_ASAP7_75t_R " in netlist and "_ASAP7_75t_SL " in netlist
    assert mixed["fmax_mhz"] > base["fmax_mhz"] and mixed["power_leakage_mw"] > base["power_leakage_mw"]


def test_retiming_run_maps_every_flip_flop(knob_runs):
    retimed, work = knob_runs["retime"]
    assert retimed["seq_area_um2"] > 0
    assert "$_DFF" not in (work / "netlist.v").read_text()
    assert retimed["area_um2"] != knob_runs["base"][0]["area_um2"]


# ---- the result cache
def test_identical_point_is_answered_from_the_cache(tmp_path, platform_dir, tools):
    cache = tmp_path / "cache"
    flow = get_flow("synth", cache_dir=str(cache))
    design = design_of(tmp_path, SMALL, "first")
    first, t1 = flow.run(design, {"abc_script": "area"}, tmp_path / "first" / "synth")
    assert "cache_hit" not in t1 and t1["synth_s"] > 0

    # Same point from another output directory, by a fresh flow object: a hit.
    again = get_flow("synth", cache_dir=str(cache))
    design2 = design_of(tmp_path / "elsewhere", SMALL, "second")
    second, t2 = again.run(design2, {"abc_script": "area"}, tmp_path / "elsewhere" / "second" / "synth")
    assert t2["cache_hit"] == 1 and "synth_s" not in t2
    assert second == first
    work = tmp_path / "elsewhere" / "second" / "synth"
    assert (work / "CACHE_HIT").is_file() and (work / "sta.log").is_file() and (work / "stat.json").is_file()

    # Another knob value, or another RTL, is another key.
    _, t3 = again.run(design2, {"abc_script": "speed"}, tmp_path / "third" / "synth")
    assert "cache_hit" not in t3
    other = design_of(tmp_path, dict(SMALL, inputType=8), "fourth")
    _, t4 = again.run(other, {"abc_script": "area"}, tmp_path / "fourth" / "synth")
    assert "cache_hit" not in t4


def test_a_changed_sta_script_reruns_sta_on_the_cached_netlist(tmp_path, platform_dir, tools):
    """The cache works per step: another activity changes only the STA script, so the
    second run takes the netlist from the cache and runs STA alone."""
    cache = tmp_path / "cache"
    design = design_of(tmp_path, SMALL, "p")
    low, t_low = get_flow("synth", cache_dir=str(cache), activity=0.1).run(design, {}, tmp_path / "p" / "a")
    assert t_low["synth_s"] > 0 and t_low["sta_s"] > 0
    high, t_high = get_flow("synth", cache_dir=str(cache), activity=0.2).run(design, {}, tmp_path / "p" / "b")
    assert "synth_s" not in t_high and t_high["sta_s"] > 0 and "cache_hit" not in t_high
    assert (tmp_path / "p" / "b" / "netlist.v").read_text() == (tmp_path / "p" / "a" / "netlist.v").read_text()
    # Same netlist: same area and timing; twice the toggles: more switching power, the same leakage.
    assert high["area_um2"] == low["area_um2"] and high["wns_ps"] == low["wns_ps"]
    assert high["power_switching_mw"] == pytest.approx(2 * low["power_switching_mw"], rel=1e-3)
    assert high["power_leakage_mw"] == pytest.approx(low["power_leakage_mw"])


def test_cache_key_follows_file_contents_not_paths(tmp_path, platform_dir, tools):
    flow = get_flow("synth", cache=False)
    d1 = design_of(tmp_path / "a", SMALL, "p1")
    d2 = design_of(tmp_path / "b", SMALL, "p2")
    (tmp_path / "a" / "p1" / "w").mkdir(parents=True)
    (tmp_path / "b" / "p2" / "w").mkdir(parents=True)
    _, k1 = flow.render(d1, {}, tmp_path / "a" / "p1" / "w")
    _, k2 = flow.render(d2, {}, tmp_path / "b" / "p2" / "w")
    assert k1.digest() == k2.digest()
    assert k1.digest() != flow.render(d2, {"max_fanout": 8}, tmp_path / "b" / "p2" / "w")[1].digest()
    d2.files[0].write_text(d2.files[0].read_text() + "\n// changed\n")
    assert k1.digest() != flow.render(d2, {}, tmp_path / "b" / "p2" / "w")[1].digest()


SPACE_WITH_BROKEN_KNOB = (
    """
name: one_bad_knob_value
parameters:
"""
    + ONE_SMALL_ARRAY
    + """  abc_script:  {layer: eda, type: choice, choices: [speed, area], default: speed}
  # '*' forbids every cell: Yosys cannot map a flip-flop, a real tool failure.
  DONT_USE_CELLS: {layer: eda, type: choice, choices: ["SDF* ICG*", "*"], default: "SDF* ICG*"}
"""
)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "edalize_dse", *args], capture_output=True, text=True, timeout=900)


def test_failing_synthesis_is_stored_and_a_second_run_hits_the_cache(tmp_path, platform_dir, tools):
    space = write_space(tmp_path, SPACE_WITH_BROKEN_KNOB)
    config = {
        "space": str(space),
        "output": str(tmp_path / "out1"),
        "budget": 4,
        "workers": 2,
        "cache_dir": str(tmp_path / "cache"),
    }
    (tmp_path / "run1.json").write_text(json.dumps(config))
    run = run_cli("run", "--config", str(tmp_path / "run1.json"), "--no-progress")
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "out1" / "evaluations.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    failed = [r for r in rows if r["status"] == "failed"]
    assert {r["DONT_USE_CELLS"] for r in failed} == {"*"} and len(failed) == 2
    for r in failed:
        # The tool's own first error line, then its exit status.
        assert r["error"].startswith("synth: ERROR: ") and r["error"].endswith("(exit status 1)")
        assert r["log_path"].endswith("yosys.log")
    assert all(r["cache_hit"] == "0" for r in rows)

    # The same exploration into another output directory: the good points come from the cache.
    (tmp_path / "run2.json").write_text(json.dumps(dict(config, output=str(tmp_path / "out2"))))
    run2 = run_cli("run", "--config", str(tmp_path / "run2.json"), "--no-progress")
    assert run2.returncode == 0, run2.stderr
    with open(tmp_path / "out2" / "evaluations.csv") as fh:
        rows2 = {r["point_id"]: r for r in csv.DictReader(fh)}
    for r in rows:
        if r["status"] == "ok":
            hit = rows2[r["point_id"]]
            assert hit["cache_hit"] == "1" and hit["area_um2"] == r["area_um2"] and hit["fmax_mhz"] == r["fmax_mhz"]
        else:
            assert rows2[r["point_id"]]["cache_hit"] == "0"  # failures are never cached


MULTIPLIER = """
module mult_in(input clk, input [7:0] a, input [7:0] b, output reg [15:0] p);
  // The multiplier sits between the input ports and the only register.
  always @(posedge clk) p <= a * b;
endmodule
"""


def test_io_delay_tightens_the_paths_from_the_inputs(tmp_path, platform_dir, tools):
    """The Gemmini array registers every port (io_delay_pct moves nothing there, see
    BENCHMARKS.md); on a design with logic behind its inputs it costs slack 1:1."""
    from edalize_dse.generators import RtlDesign

    (tmp_path / "rtl").mkdir()
    (tmp_path / "rtl" / "mult_in.v").write_text(MULTIPLIER)
    design = RtlDesign(files=[tmp_path / "rtl" / "mult_in.v"], top="mult_in")
    flow = get_flow("synth", cache=False)
    base, _ = flow.run(design, {"clock_period_ps": 400}, tmp_path / "p0" / "synth")
    delayed, _ = flow.run(design, {"clock_period_ps": 400, "io_delay_pct": 50}, tmp_path / "p1" / "synth")
    assert base["wns_ps"] - delayed["wns_ps"] == pytest.approx(200, abs=5)
    assert delayed["fmax_mhz"] < base["fmax_mhz"]


SRAM_WRAPPER = """
module sram_wrap(input clk, input we, input [5:0] addr, input [20:0] wd, output reg [20:0] rd);
  reg [5:0] addr_q; reg [20:0] wd_q; reg we_q;
  wire [20:0] q;
  always @(posedge clk) begin addr_q <= addr; wd_q <= wd; we_q <= we; rd <= q; end
  fakeram7_64x21 mem(.clk(clk), .ce_in(1'b1), .we_in(we_q), .addr_in(addr_q), .wd_in(wd_q), .rd_out(q));
endmodule
"""


def test_sram_macro_is_a_black_box_with_its_own_area_and_power(tmp_path, platform_dir, tools):
    """A platform fakeram7 macro through the flow: Yosys keeps it as one instance,
    its liberty area is reported apart from the standard cells, STA times it."""
    from edalize_dse.generators import MacroView, RtlDesign
    from edalize_dse.metrics import macro_areas

    lib = platform_dir / "lib" / "NLDM" / "fakeram7_64x21.lib"
    (tmp_path / "rtl").mkdir()
    (tmp_path / "rtl" / "sram_wrap.v").write_text(SRAM_WRAPPER)
    design = RtlDesign(
        files=[tmp_path / "rtl" / "sram_wrap.v"], top="sram_wrap", macros=[MacroView("fakeram7_64x21", lib)]
    )
    metrics, _ = get_flow("synth", cache=False).run(design, {}, tmp_path / "p" / "synth")
    area = macro_areas([lib])["fakeram7_64x21"]
    assert area == pytest.approx(56.435)
    assert metrics["macro_count"] == 1 and metrics["macro_area_um2"] == pytest.approx(area)
    assert metrics["area_um2"] == pytest.approx(metrics["stdcell_area_um2"] + area)
    assert 0 < metrics["stdcell_area_um2"] < area
    assert metrics["power_macro_mw"] > 0
    assert metrics["power_mw"] == pytest.approx(
        metrics["power_seq_mw"] + metrics["power_comb_mw"] + metrics["power_macro_mw"], rel=1e-3
    )
    netlist = (tmp_path / "p" / "synth" / "netlist.v").read_text()
    assert "fakeram7_64x21 mem" in netlist and "module fakeram7_64x21" not in netlist


def test_missing_opensta_is_one_error_before_any_point(tmp_path, platform_dir):
    space = write_space(tmp_path, SPACE_WITH_BROKEN_KNOB)
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
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
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": str(empty_bin)},
    )
    assert run.returncode == 2
    assert "OpenSTA ('sta') not found on PATH: install it with 'apt-get install opensta'" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "points").exists()


def test_retiming_a_hierarchical_design_maps(tmp_path, platform_dir, tools):
    """A row of table 2 whose retimed, hierarchical synthesis once made ABC abort (a module's
    names clash with the driver/load file when flip-flops go through ABC)."""
    hw = dict(
        meshRows=1,
        meshColumns=1,
        tileRows=2,
        tileColumns=2,
        dataflow="OS",
        inputType=8,
        spatialArrayOutputType=16,
        accType=32,
        sp_capacity=16,
        sp_banks=2,
        acc_capacity=16,
        acc_banks=1,
        tile_latency=1,
        mesh_output_delay=2,
    )
    eda = {
        "clock_period_ps": 1000,
        "ASAP7_USE_VT": "LVT",
        "abc_script": "area",
        "booth": 1,
        "retime": 1,
        "flop_cells": "x1",
        "max_fanout": 16,
        "io_delay_pct": 20,
        "SYNTH_HIERARCHICAL": 1,
    }
    metrics, _ = get_flow("synth", cache=False).run(design_of(tmp_path, hw), eda, tmp_path / "d" / "synth")
    assert metrics["seq_area_um2"] > 0 and metrics["max_slew_violations"] == 0
