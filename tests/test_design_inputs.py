"""A real design's inputs in the synth flow: its own SDC (two clocks, neither called clk),
hard macros with and without a timing view, SystemVerilog through slang, a missing
`include, and what the electrical checks report."""

import logging

import pytest

from edalize_dse import sdc
from edalize_dse.errors import DseError, ToolFailure
from edalize_dse.flows.synth import SynthFlow
from edalize_dse.generators.core import CoreGenerator

TWO_DOMAINS = """module two_domains (input core_ck, input bus_ck, input [7:0] a, input [7:0] b,
                    output reg [15:0] prod, output reg [7:0] bus_q);
  reg [7:0] ra, rb;
  always @(posedge core_ck) begin ra <= a; rb <= b; prod <= ra * rb; end
  always @(posedge bus_ck) bus_q <= bus_q + b;
endmodule
"""
TWO_CLOCKS_SDC = """create_clock -name core -period 400 [get_ports core_ck]
create_clock -name bus -period 900 [get_ports bus_ck]
set_clock_groups -asynchronous -group core -group bus
set_input_delay 40 -clock core [get_ports {a b}]
set_output_delay 40 -clock core [get_ports prod]
set_output_delay 90 -clock bus [get_ports bus_q]
"""
MEM_TOP = """module mem_top (input clk, input [7:0] addr, input [31:0] wd, input we, output [31:0] rd,
                output reg [7:0] count);
  fakeram7_256x32 u_ram (.clk(clk), .rd_out(rd), .addr_in(addr), .wd_in(wd), .we_in(we), .ce_in(1'b1));
  always @(posedge clk) count <= count + 8'd1;
endmodule
"""
# The same macro declared only: no liberty view, so nothing can time it.
MEM_STUB = """(* blackbox *)
module fakeram7_256x32 (input clk, output [31:0] rd_out, input [7:0] addr_in, input [31:0] wd_in,
                        input we_in, input ce_in);
endmodule
"""
SV_TOP = """package pairs;
  typedef struct packed { logic [3:0] hi; logic [3:0] lo; } pair_t;
endpackage
module sv_top import pairs::*; (input logic clk, input pair_t in, output logic [4:0] sum);
  always_ff @(posedge clk) sum <= in.hi + in.lo;
endmodule
"""


def _core(tmp_path, files: dict, top: str, **extra) -> CoreGenerator:
    paths = []
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        paths.append(str(tmp_path / name))
    return CoreGenerator({"files": paths, "top": top, **extra}, frontend=extra.pop("frontend", "auto"))


def _run(core: CoreGenerator, tmp_path, eda=None, name="p"):
    design = core.generate({}, tmp_path / name / "rtl")
    return SynthFlow(cache=False, frontend=core.frontend).run(design, eda or {}, tmp_path / name / "synth")


def test_sdc_period_is_moved_as_autotuner_moves_it():
    orfs = "set clk_period 380\ncreate_clock -name clk -period $clk_period [get_ports clk]\n"
    assert sdc.base_period(orfs) == 380
    assert "set clk_period 250\n" in sdc.with_period(orfs, 250)
    # Without the variable every literal period scales by the same ratio (the clocks keep their relation).
    moved = sdc.with_period(TWO_CLOCKS_SDC, 200)
    assert "-name core -period 200 " in moved and "-name bus -period 450 " in moved
    with pytest.raises(DseError, match="no clock period found"):
        sdc.base_period("set_load 1 [all_outputs]\n", "x.sdc")
    assert sdc.needs_platform_constraints("source $::env(PLATFORM_DIR)/constraints.sdc\n")


def test_two_clock_sdc_times_each_clock(tmp_path, platform_dir, tools):
    (tmp_path / "two.sdc").write_text(TWO_CLOCKS_SDC)
    core = _core(tmp_path, {"two_domains.v": TWO_DOMAINS}, "two_domains", sdc=str(tmp_path / "two.sdc"))
    core.check_interface({})  # no 'clk' port, and none needed: the SDC names the clocks
    metrics, _ = _run(core, tmp_path)
    assert metrics["fmax_core_mhz"] == pytest.approx(metrics["fmax_mhz"])  # the first clock is the knob's
    assert metrics["fmax_bus_mhz"] != metrics["fmax_core_mhz"]
    log = (tmp_path / "p" / "synth" / "sta.log").read_text()
    assert "DSE_CLOCK core 400" in log and "DSE_CLOCK bus 900" in log
    # The clock knob moves both clocks together.
    moved, _ = _run(core, tmp_path, {"clock_period_ps": 200}, name="q")
    text = (tmp_path / "q" / "synth" / "constraint.sdc").read_text()
    assert "-period 200 " in text and "-period 450 " in text
    assert moved["fmax_bus_mhz"] != metrics["fmax_bus_mhz"]
    with pytest.raises(ToolFailure, match="io_delay_pct does not apply"):
        _run(core, tmp_path, {"io_delay_pct": 20}, name="r")


def test_macro_with_timing_view_counts_its_area_and_power(tmp_path, platform_dir, tools):
    lib = platform_dir / "lib" / "NLDM" / "fakeram7_256x32.lib"
    core = _core(tmp_path, {"mem_top.v": MEM_TOP}, "mem_top", macros={"liberty": [str(lib)], "lef": []})
    core.check_interface({})
    metrics, _ = _run(core, tmp_path)
    assert metrics["macro_count"] == 1 and metrics["macro_area_um2"] == pytest.approx(343.985)
    assert metrics["untimed_instances"] == 0 and metrics["power_macro_mw"] > 0


def test_macro_without_timing_view_is_named_never_silent(tmp_path, platform_dir, tools, caplog):
    core = _core(tmp_path, {"mem_top.v": MEM_TOP, "stub.v": MEM_STUB}, "mem_top")
    with caplog.at_level(logging.WARNING, logger="edalize_dse.flows.synth"):
        metrics, _ = _run(core, tmp_path)
    assert metrics["untimed_instances"] == 1
    assert "u_ram fakeram7_256x32" in (tmp_path / "p" / "synth" / "untimed.txt").read_text()
    assert any("without a timing view" in r.getMessage() and "u_ram" in r.getMessage() for r in caplog.records)


def test_systemverilog_goes_through_slang(tmp_path, platform_dir, tools):
    core = _core(tmp_path, {"sv_top.sv": SV_TOP}, "sv_top")
    core.check_interface({})
    metrics, _ = _run(core, tmp_path)
    work = tmp_path / "p" / "synth"
    assert (work / "slang.log").is_file() and "read_verilog -sv rtl_slang.v" in (work / "synth.ys").read_text()
    assert metrics["area_um2"] > 0 and metrics["cell_count"] > 0


@pytest.mark.parametrize("frontend,suffix", [("yosys", ".v"), ("slang", ".sv")])
def test_a_missing_include_names_the_file(tmp_path, platform_dir, tools, frontend, suffix):
    rtl = (
        '`include "missing_defs.vh"\nmodule inc_top (input clk, input d, output reg q);\n'
        "  always @(posedge clk) q <= d;\nendmodule\n"
    )
    core = _core(tmp_path, {f"inc_top{suffix}": rtl}, "inc_top", frontend=frontend)
    with pytest.raises(DseError, match="missing_defs.vh"):
        core.check_interface({})
    with pytest.raises(ToolFailure, match="missing_defs.vh"):
        _run(core, tmp_path)


def test_repair_leaves_no_electrical_violation_where_synthesis_left_many(tmp_path, platform_dir, tools):
    # One register driving 256 loads: the area script does not buffer, so synthesis alone
    # leaves them on a single driver.
    fanout = """module fan (input clk, input d, input [255:0] x, output reg [255:0] y);
  reg r;
  always @(posedge clk) begin r <= d; y <= x ^ {256{r}}; end
endmodule
"""
    core = _core(tmp_path, {"fan.v": fanout}, "fan")
    metrics, _ = _run(core, tmp_path, {"clock_period_ps": 300, "abc_script": "area"})
    assert metrics["max_cap_violations"] == 0 and metrics["max_slew_violations"] == 0
    assert metrics["max_fanout_violations"] == 0 and metrics["repair_buffers"] > 0
    with pytest.raises(ToolFailure, match="electrical violations left after repair"):
        _run(core, tmp_path, {"clock_period_ps": 300, "abc_script": "area", "repair": 0}, name="off")


def test_liberty_tables_normalise_units_and_respect_dont_use(platform_dir):
    from edalize_dse import liberty
    from edalize_dse.platform import find_platform

    ram = liberty.read_cells([platform_dir / "lib" / "NLDM" / "fakeram7_256x32.lib"])["fakeram7_256x32"]
    assert ram.max_cap_ff == pytest.approx(500.0) and ram.max_transition_ps == pytest.approx(227.0)  # ns, pF
    libs = find_platform().liberty("RVT")
    cells = liberty.read_cells(libs.values())
    assert cells["INVx1_ASAP7_75t_R"].max_cap_ff == pytest.approx(46.08)  # ps, fF as written
    families = liberty.families(cells, dont_use=["*xp*_ASAP7*"])
    assert families["INV_ASAP7_75t_R"][:2] == ["INVx1_ASAP7_75t_R", "INVx2_ASAP7_75t_R"]
    assert not any("xp" in c for members in families.values() for c in members)
    assert families["DFFHQN_ASAP7_75t_R"] == ["DFFHQNx1_ASAP7_75t_R", "DFFHQNx2_ASAP7_75t_R", "DFFHQNx3_ASAP7_75t_R"]
    assert liberty.drive("NAND2x1p5_ASAP7_75t_R") == 1.5 and liberty.drive("INVxp33_ASAP7_75t_R") == 0.33


def test_a_changed_sdc_or_macro_view_changes_the_run_identity(tmp_path):
    from edalize_dse.explore import RunConfig
    from edalize_dse.identity import generator_inputs

    (tmp_path / "top.v").write_text(TWO_DOMAINS)
    (tmp_path / "c.sdc").write_text(TWO_CLOCKS_SDC)
    (tmp_path / "m.lib").write_text("library (m) { cell (m) { area : 1; } }\n")
    core = {
        "files": [str(tmp_path / "top.v")],
        "top": "two_domains",
        "sdc": str(tmp_path / "c.sdc"),
        "macros": {"liberty": [str(tmp_path / "m.lib")], "lef": []},
    }
    config = RunConfig(generator="core", core=core)
    generator = CoreGenerator(core)
    before = generator_inputs(config, generator)
    (tmp_path / "c.sdc").write_text(TWO_CLOCKS_SDC.replace("900", "800"))
    after_sdc = generator_inputs(config, generator)
    (tmp_path / "m.lib").write_text("library (m) { cell (m) { area : 2; } }\n")
    assert len({before, after_sdc, generator_inputs(config, generator)}) == 3
