"""The SRAM macro model: fitted to the platform's fakeram7 files, and the liberty
views it renders read by the real Yosys (pyosys) and OpenSTA."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from edalize_dse.generators import sram
from edalize_dse.templating import render_to


@pytest.fixture(scope="module")
def model(platform_dir):
    return sram.platform_model()


def test_model_is_fitted_to_the_nine_fakeram7_files(model):
    shapes = {(s.words, s.bits) for s in model.samples}
    assert (64, 21) in shapes and (2048, 39) in shapes and len(shapes) == 9
    report = model.fit_report()
    # Eight of nine shapes have the same area per bit; the model matches them within 5 %.
    close = [e for e in report["area"]["per_shape_pct"].values() if abs(e) < 5]
    assert len(close) == 8
    assert report["clk_to_q"]["value"] == pytest.approx(0.218)
    # Model of a fakeram7 shape: its area is within 5 % of the file's.
    s = next(s for s in model.samples if (s.words, s.bits) == (2048, 39))
    assert model.area(2048, 39) == pytest.approx(s.area, rel=0.05)


def test_bigger_macros_cost_more_area_and_leakage(model):
    assert model.area(1024, 64) == pytest.approx(2 * model.area(512, 64))
    assert model.leakage(1024, 64) > model.leakage(512, 64) > 0


def _yosys_stat(tmp: Path, lib: Path, words: int, bits: int) -> tuple[float, Path]:
    cell = sram.macro_name(words, bits)
    top = render_to(
        tmp / "top.v", "sim/sram_top.v.j2", top="top", cell=cell, addr_bits=sram.addr_bits(words), bits=bits
    )
    script = render_to(
        tmp / "check.ys",
        "sim/sram_check.ys.j2",
        liberty=lib,
        netlist=top,
        top="top",
        stat_file=tmp / "stat.txt",
        out_netlist=tmp / "net.v",
    )
    subprocess.run(
        [sys.executable, "-m", "edalize_dse.pyosys_main", str(script)],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp,
    )
    text = (tmp / "stat.txt").read_text()
    assert re.search(rf"\b1\s+\S+\s+{cell}\b", text), text  # one instance, kept as a black box
    area = float(re.search(r"Chip area for module '\\top':\s*([\d.]+)", text).group(1))
    return area, tmp / "net.v"


@pytest.mark.parametrize("words, bits", [(512, 32), (4096, 128), (96, 20)])
def test_liberty_view_reads_in_yosys_and_opensta(tmp_path, tools, model, words, bits):
    lib, _ = sram.write_macro(model, words, bits, tmp_path)
    area, netlist = _yosys_stat(tmp_path, lib, words, bits)
    assert area == pytest.approx(model.area(words, bits), rel=1e-4)

    tcl = render_to(
        tmp_path / "check.tcl", "sim/sram_check.tcl.j2", liberty=lib, netlist=netlist, top="top", period_ns=1.0
    )
    run = subprocess.run(["sta", "-no_init", "-exit", str(tcl)], capture_output=True, text=True, cwd=tmp_path)
    log = run.stdout + run.stderr
    assert run.returncode == 0 and "Error" not in log, log
    # Clock-to-Q of the macro is the path delay to the output; the slack follows from it.
    slack = float(re.search(r"([-\d.]+)\s+slack \(MET\)", log).group(1))
    assert slack == pytest.approx(1.0 - model.constants["clk_to_q"], abs=1e-3)
    # The macro's power is reported in the Macro group; its leakage is the model's (uW -> W).
    macro = re.search(r"^Macro\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", log, re.M)
    assert macro, log
    internal, leakage = float(macro.group(1)), float(macro.group(3))
    assert internal > 0
    assert leakage == pytest.approx(model.leakage(words, bits) * 1e-6, rel=1e-3)
    combinational = re.search(r"^Combinational\s+\S+\s+\S+\s+\S+\s+(\S+)", log, re.M)
    assert float(combinational.group(1)) == 0.0


def test_behavioural_model_reads_what_it_wrote(tmp_path, tools, model):
    _, model_v = sram.write_macro(model, 16, 12, tmp_path)
    tb = tmp_path / "tb.v"
    tb.write_text("""
module tb;
  reg clk = 0, ce = 0, we = 0; reg [3:0] addr = 0; reg [11:0] wd = 0; wire [11:0] rd;
  dse_sram_16x12 u (.clk(clk), .ce_in(ce), .we_in(we), .addr_in(addr), .wd_in(wd), .rd_out(rd));
  always #5 clk = ~clk;
  initial begin
    @(negedge clk) ce = 1; we = 1; addr = 3; wd = 12'habc;
    @(negedge clk) addr = 4; wd = 12'h123;
    @(negedge clk) we = 0; addr = 3;
    @(negedge clk) $display("RD %h", rd); ce = 0; addr = 4;
    @(negedge clk) $display("RD %h", rd); ce = 1;
    @(negedge clk) $display("RD %h", rd);
    $finish;
  end
endmodule
""")
    subprocess.run(["iverilog", "-g2012", "-o", str(tmp_path / "s.vvp"), str(tb), str(model_v)], check=True)
    out = subprocess.run(["vvp", "-n", str(tmp_path / "s.vvp")], capture_output=True, text=True, check=True).stdout
    assert re.findall(r"RD (\w+)", out) == ["abc", "abc", "123"]


def test_generated_view_parses_back_to_the_model(tmp_path, model):
    """The workload model reads energies back from the views: they must round-trip."""
    lib, _ = sram.write_macro(model, 256, 40, tmp_path)
    back = sram.parse_fakeram(lib)
    assert (back.words, back.bits) == (256, 40)
    assert back.area == pytest.approx(model.area(256, 40), abs=1e-5)
    assert back.leakage == pytest.approx(model.leakage(256, 40), abs=1e-5)
    for name in ("clk_energy", "pin_energy", "clk_to_q", "setup", "hold", "min_period"):
        assert getattr(back, name) == pytest.approx(model.constants[name], rel=1e-5), name
