"""Numbers a flow engineer can trust on their own design: each test runs a
small core of its own with a trap real cores have, and fails on the code that
reported fantasy QoR, stale results or hidden causes."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from edalize_dse.flows import get_flow
from edalize_dse.generators import RtlDesign, get_generator

# A Wishbone-style block: the clock is not called clk, an output drives another
# output ({r, r, r, cyc} with cyc an output), and W is checked by the RTL itself.
WB_BLOCK = """
module wb_block #(parameter W = 4) (
  input  wire         wb_clk_i,
  input  wire         wb_rst_i,
  input  wire [W-1:0] a,
  output reg  [W-1:0] q,
  output wire         cyc,
  output wire [3:0]   sel
);
  generate if (W < 2) begin : too_narrow
    $error("W must be at least 2");
  end endgenerate
  reg r;
  always @(posedge wb_clk_i) begin
    if (wb_rst_i) begin q <= 0; r <= 0; end
    else begin q <= q + a; r <= ^a; end
  end
  assign cyc = q[0];
  assign sel = {r, r, r, cyc};
endmodule
"""

# Two clock domains: timing it against one clock leaves the other's registers unclocked.
TWO_CLOCKS = """
module two_clocks (input wire clk, input wire clk_b, input wire [3:0] a, output reg [3:0] x, output reg [3:0] y);
  always @(posedge clk) x <= x + a;
  always @(posedge clk_b) y <= y ^ a;
endmodule
"""

SPACE = """
name: wb_block
parameters:
  W: {layer: hardware, type: choice, choices: %s, default: %s}
  clock_period_ps: {layer: eda, type: choice, choices: [500, 800], default: 500}
objectives:
  - {name: power_mw, goal: min}
  - {name: fmax_mhz, goal: max}
"""


def write_core(tmp_path, text=WB_BLOCK, name="wb_block"):
    rtl = tmp_path / f"{name}.v"
    rtl.write_text(text)
    return {"top": name, "files": [str(rtl)], "parameters": {"W": 4}, "defines": {}}


def write_run(tmp_path, core, choices="[4, 8]", default=4, out="out", extra="", **options):
    space = tmp_path / "space.yml"
    space.write_text(SPACE % (choices, default) + extra)
    config = {
        "run": {"space": str(space), "output": str(tmp_path / out), "budget": 4, "strategy": "grid"},
        "flow": {"generator": "core", "core": core, "cache_dir": "off", **options},
    }
    path = tmp_path / f"{out}.json"
    path.write_text(json.dumps(config))
    return path


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "edalize_dse", *args], capture_output=True, text=True, timeout=600)


def rows(out):
    with open(Path(out) / "evaluations.csv") as fh:
        return list(csv.DictReader(fh))


# ---- 1. an unconstrained or partly constrained design is never "ok"
def test_a_clock_port_the_top_lacks_stops_the_run_before_any_point(tmp_path, platform_dir, tools):
    config = write_run(tmp_path, write_core(tmp_path))
    run = run_cli("run", "--config", str(config), "--no-progress")
    assert run.returncode == 2, run.stdout + run.stderr
    line = run.stderr.strip()
    assert "clock port 'clk' is not a 1-bit input of 'wb_block'" in line and "look like clocks: wb_clk_i" in line
    assert len(line.splitlines()) == 1
    assert not (tmp_path / "out" / "points").exists()  # no tool ran for a point


def test_registers_of_an_unnamed_clock_fail_the_point_with_stas_reason(tmp_path, platform_dir, tools):
    core = write_core(tmp_path, TWO_CLOCKS, "two_clocks")
    design = RtlDesign(files=[Path(core["files"][0])], top="two_clocks", clock_port="clk")
    flow = get_flow("synth", cache=False)
    with pytest.raises(Exception) as failure:
        flow.run(design, {}, tmp_path / "p" / "synth")
    reason = str(failure.value)
    assert reason.startswith("sta: design not fully constrained by the clock")
    assert "4 unclocked register/latch pins" in reason


# ---- 2. stale results: the store is bound to everything results depend on
def test_a_changed_input_is_refused_naming_what_changed(tmp_path, platform_dir, tools):
    core = write_core(tmp_path)
    first = run_cli(
        "run", "--config", str(write_run(tmp_path, core, clock_port="wb_clk_i")), "--budget", "1", "--no-progress"
    )
    assert first.returncode == 0, first.stderr
    same = run_cli(
        "run", "--config", str(write_run(tmp_path, core, clock_port="wb_clk_i")), "--budget", "1", "--no-progress"
    )
    assert same.returncode == 0 and "0 evaluation(s) run now, 1 resumed" in same.stdout

    cases = {
        "activity": (dict(core), {"clock_port": "wb_clk_i", "activity": 0.3}),
        "generator inputs": (dict(core, parameters={"W": 8}), {"clock_port": "wb_clk_i"}),  # --W=8
    }
    for what, (changed_core, options) in cases.items():
        run = run_cli("run", "--config", str(write_run(tmp_path, changed_core, **options)), "--no-progress")
        assert run.returncode == 2 and f"changed: {what}" in run.stderr, (what, run.stderr)
    # Editing the RTL changes the exploration too.
    Path(core["files"][0]).write_text(WB_BLOCK.replace("q <= q + a", "q <= q - a"))
    run = run_cli("run", "--config", str(write_run(tmp_path, core, clock_port="wb_clk_i")), "--no-progress")
    assert run.returncode == 2 and "changed: generator inputs" in run.stderr and "--restart" in run.stderr
    # The way out: --restart keeps the old store aside and evaluates afresh.
    fresh = run_cli(
        "run",
        "--config",
        str(write_run(tmp_path, core, clock_port="wb_clk_i")),
        "--budget",
        "1",
        "--restart",
        "--no-progress",
    )
    assert fresh.returncode == 0 and "1 evaluation(s) run now, 0 resumed" in fresh.stdout
    assert (tmp_path / "out" / "dse.sqlite.old").is_file()


# ---- 3. defines follow edalize: None is not set, a bool is 1/0
def test_defines_follow_edalize_semantics(tmp_path, platform_dir):
    rtl = tmp_path / "d.v"
    rtl.write_text("module d(input wire clk, output wire o); assign o = 1'b0; endmodule\n")
    design = RtlDesign(files=[rtl], top="d", defines={"UNSET": None, "OFF": False, "ON": True, "N": 3, "S": "x"})
    work = tmp_path / "p" / "synth"
    work.mkdir(parents=True)
    get_flow("synth", cache=False).render(design, {}, work)
    script = (work / "synth.ys").read_text()
    assert "-DOFF=0 -DON=1 -DN=3 -DS=x" in script and "UNSET" not in script
    orfs_work = tmp_path / "p" / "orfs"
    orfs_work.mkdir()
    get_flow("orfs").render(design, {}, orfs_work)
    config_mk = (orfs_work / "config.mk").read_text()
    assert "VERILOG_DEFINES = -DOFF=0 -DON=1 -DN=3 -DS=x" in config_mk and "UNSET" not in config_mk


# ---- 4 and 5: every netlist is read by STA; one netlist, one operating point
def test_output_aliases_are_timed_and_power_is_at_the_achieved_clock(tmp_path, platform_dir, tools):
    out = tmp_path / "out"
    run = run_cli(
        "run", "--config", str(write_run(tmp_path, write_core(tmp_path), clock_port="wb_clk_i")), "--no-progress"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    by_point = {(r["W"], r["clock_period_ps"]): r for r in rows(out)}
    assert all(r["status"] == "ok" for r in by_point.values()), [r["error"] for r in by_point.values()]
    netlist = next((out / "points").glob("*/synth/netlist.v")).read_text()
    assert "assign" not in netlist  # aliases became buffers: OpenSTA 2019 reads the netlist
    for w in ("4", "8"):
        loose, tight = by_point[(w, "800")], by_point[(w, "500")]
        # Both targets are met by the same netlist: the same fmax, and power at that clock,
        # so neither point dominates the other by power alone.
        assert float(loose["fmax_mhz"]) == pytest.approx(float(tight["fmax_mhz"]), rel=1e-6)
        assert float(loose["power_mw"]) == pytest.approx(float(tight["power_mw"]), rel=1e-6)
        assert float(loose["period_ps"]) == pytest.approx(800 - float(loose["wns_ps"]))


# ---- 6. the tool's own first error line, and a run where every point failed exits non-zero
def test_a_value_the_rtl_rejects_fails_in_synthesis_with_its_message(tmp_path, platform_dir, tools):
    out = tmp_path / "out"
    config = write_run(tmp_path, write_core(tmp_path), choices="[1, 4]", default=4, clock_port="wb_clk_i")
    run = run_cli("run", "--config", str(config), "--no-progress")
    assert run.returncode == 0, run.stderr
    failed = [r for r in rows(out) if r["status"] == "failed"]
    assert {r["W"] for r in failed} == {"1"} and len(failed) == 2
    for r in failed:
        assert r["error"].startswith("synth: ") and "ERROR:W must be at least 2" in r["error"], r["error"]
        assert r["log_path"].endswith("yosys.log")
    assert "ERROR:W must be at least 2" in run.stdout  # the console line

    only_bad = write_run(tmp_path, write_core(tmp_path), choices="[1]", default=1, out="bad", clock_port="wb_clk_i")
    # The default point itself cannot elaborate: refused before any point, with Yosys's line.
    refused = run_cli("run", "--config", str(only_bad), "--no-progress")
    assert refused.returncode == 2 and "W must be at least 2" in refused.stderr


def test_a_run_in_which_every_point_failed_exits_non_zero(tmp_path, platform_dir, tools):
    # A dont-use list of every cell: Yosys cannot map a flip-flop, so each point fails in synthesis.
    knob = '  DONT_USE_CELLS: {layer: eda, type: choice, choices: ["*"], default: "*"}\n'
    config = write_run(tmp_path, write_core(tmp_path), clock_port="wb_clk_i")
    space = tmp_path / "space.yml"
    space.write_text(space.read_text().replace("objectives:", knob + "objectives:"))
    run = run_cli("run", "--config", str(config), "--budget", "2", "--no-progress")
    assert run.returncode == 4, run.stdout + run.stderr
    assert "every one of the 2 evaluations failed; the first: synth: ERROR:" in run.stderr


# ---- 7. smaller things a new user trips on
def test_check_space_checks_names_against_the_core(tmp_path, platform_dir):
    core = write_core(tmp_path)
    config = write_run(tmp_path, core, clock_port="wb_clk_i")
    assert run_cli("check-space", str(tmp_path / "space.yml"), "--config", str(config)).returncode == 0
    (tmp_path / "space.yml").write_text((tmp_path / "space.yml").read_text().replace("  W:", "  WIDTH:"))
    plain = run_cli("check-space", str(tmp_path / "space.yml"))
    assert plain.returncode == 0 and "only with --config" in plain.stdout  # says what it did not check
    checked = run_cli("check-space", str(tmp_path / "space.yml"), "--config", str(config))
    assert (
        checked.returncode == 2
        and "parameter 'WIDTH'" in checked.stderr
        and "no such hardware parameter" in checked.stderr
    )


def test_flop_cells_and_a_log_without_false_problems(tmp_path, platform_dir, tools):
    """Flops map to ORFS's DFFHQNx1 by default (the repair sizes those that drive much);
    flop_cells=x4 keeps the non-inverting DFFHQx4, 25 % larger. Repair off: the flops as mapped."""
    gen = get_generator("core", core=write_core(tmp_path), clock_port="wb_clk_i")
    design = gen.generate(gen.resolve({"W": 8}), tmp_path / "p" / "rtl")
    flow = get_flow("synth", cache=False)
    strong, _ = flow.run(design, {"flop_cells": "x4", "repair": 0}, tmp_path / "p" / "x4")
    small, _ = flow.run(design, {"repair": 0}, tmp_path / "p" / "x1")
    x4 = (tmp_path / "p" / "x4" / "netlist.v").read_text()
    x1 = (tmp_path / "p" / "x1" / "netlist.v").read_text()
    assert "DFFHQx4_ASAP7_75t_R" in x4 and "DFFHQNx1" not in x4
    assert "DFFHQNx1_ASAP7_75t_R" in x1 and "DFFHQx4" not in x1
    assert small["seq_area_um2"] == pytest.approx(strong["seq_area_um2"] * 0.2916 / 0.3645, rel=1e-6)
    log = (tmp_path / "p" / "x4" / "yosys.log").read_text()
    assert "no driver" not in log and "Found and reported 0 problems" in log
