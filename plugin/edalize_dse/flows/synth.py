"""The ``synth`` flow: pyosys (Yosys) synthesis onto ASAP7 standard cells, then
OpenSTA timing and power at the target clock. Runs anywhere the two tools do."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from edalize_dse.errors import DseError, ToolFailure
from edalize_dse.generators import RtlDesign
from edalize_dse.metrics import parse_sta_log, parse_yosys_stat, sanitize_netlist_for_sta
from edalize_dse.platform import COMB_GROUPS, VT_FLAVOURS, VT_SUFFIX, find_platform
from edalize_dse.runner import run_step
from edalize_dse.templating import render_to

# ORFS's ASAP7 DONT_USE_CELLS: fractional-drive, scan and clock-gating cells.
ORFS_ASAP7_DONT_USE = ("*x1p*_ASAP7*", "*xp*_ASAP7*", "SDF*", "ICG*")
# Toggles per clock period on every net, for report_power.
DEFAULT_ACTIVITY = 0.1


class SynthFlow:
    name = "synth"
    # knob -> (default, legal values or None for a number, meaning)
    KNOBS = {
        "clock_period_ps": (1000, None, "target clock period in ps (Yosys/ABC delay target and SDC clock)"),
        "vt": ("RVT", VT_FLAVOURS, "threshold-voltage flavour of the ASAP7 cells"),
        "abc_script": ("speed", ("speed", "area"), "ABC mapping script: delay-driven or area-driven"),
    }
    METRICS = ("area_um2", "seq_area_um2", "cell_count", "wns_ps", "tns_ps", "period_ps", "fmax_mhz",
               "power_mw", "power_internal_mw", "power_switching_mw", "power_leakage_mw", "throughput_gops")

    def __init__(self, timeout_s: float | None = None):
        self.timeout_s = timeout_s
        self._platform = None
        self._versions = None

    # ---- checks before any exploration starts
    def check_knobs(self, knobs: dict) -> list[str]:
        problems = []
        for name, value in knobs.items():
            if name not in self.KNOBS:
                problems.append(f"unknown EDA knob '{name}' for flow '{self.name}' (known: {', '.join(self.KNOBS)})")
                continue
            legal = self.KNOBS[name][1]
            if legal is not None and value not in legal:
                problems.append(f"knob '{name}' = {value!r}; flow '{self.name}' accepts {', '.join(legal)}")
            if legal is None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
                problems.append(f"knob '{name}' = {value!r} must be a positive number")
        return problems

    def check_platform(self) -> None:
        """Find the ASAP7 platform (no tool runs). Raises DseError."""
        self._platform = find_platform()

    def preflight(self) -> dict:
        """Check the tools (the platform is ``check_platform``'s job); return their versions.

        Raises DseError."""
        if shutil.which("sta") is None:
            raise DseError("OpenSTA ('sta') not found on PATH: install it with 'apt-get install opensta' "
                           "(or run 'make demo', which installs it)")
        try:
            yosys = subprocess.run([sys.executable, "-m", "edalize_dse.pyosys_main", "--version"],
                                   capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            raise DseError("pyosys did not answer within 120 s; check the installation with "
                           f"'{sys.executable} -c \"import pyosys\"'") from None
        if yosys.returncode != 0:
            last = (yosys.stderr.strip().splitlines() or ["no output"])[-1]
            raise DseError(f"pyosys (Yosys from PyPI) cannot be run ({last}): install it with "
                           f"'{sys.executable} -m pip install pyosys'")
        sta = subprocess.run(["sta", "-version"], capture_output=True, text=True, timeout=60)
        self._versions = {"yosys": yosys.stdout.strip(), "opensta": sta.stdout.strip() or "unknown"}
        return dict(self._versions)

    @property
    def platform(self):
        if self._platform is None:
            self._platform = find_platform()
        return self._platform

    # ---- one evaluation
    def knob_values(self, eda: dict) -> dict:
        return {**{k: v[0] for k, v in self.KNOBS.items()}, **eda}

    def run(self, design: RtlDesign, eda: dict, workdir: Path) -> tuple[dict, dict]:
        """Synthesize and time ``design``; return (metrics, step wall times in s)."""
        knobs = self.knob_values(eda)
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        libs = self.platform.liberty(knobs["vt"])
        all_libs = [str(p) for p in libs.values()]
        suffix = VT_SUFFIX[knobs["vt"]]
        period = float(knobs["clock_period_ps"])
        abc_name = f"abc_{knobs['abc_script']}.abc"
        ctx = dict(
            point_id=workdir.name, top=design.top, vt=knobs["vt"],
            verilog_files=[str(Path(f).resolve()) for f in design.files],
            seq_libs=[str(libs["SEQ"])], comb_libs=[str(libs[g]) for g in COMB_GROUPS], all_libs=all_libs, dont_use=ORFS_ASAP7_DONT_USE,
            abc_script=knobs["abc_script"], abc_script_file=abc_name,
            abc_uses_delay=knobs["abc_script"] == "speed", clock_period_ps=f"{period:g}",
            tie_hi=f"TIEHIx1_ASAP7_75t_{suffix}", tie_lo=f"TIELOx1_ASAP7_75t_{suffix}",
            stat_json="stat.json", netlist="netlist.v",
            clock_port="clk", io_delay_ps="0", activity=DEFAULT_ACTIVITY,
        )
        render_to(workdir / abc_name, f"synth/{abc_name}.j2", **ctx)
        render_to(workdir / "synth.ys", "synth/synth.ys.j2", **ctx)
        timings = {}
        timings["synth_s"] = run_step("synth", [sys.executable, "-m", "edalize_dse.pyosys_main", "synth.ys"],
                                      workdir, workdir / "yosys.log", self.timeout_s)
        area = parse_yosys_stat(workdir / "stat.json", workdir / "yosys.log")
        sanitize_netlist_for_sta(workdir / "netlist.v")

        render_to(workdir / "sta.tcl", "synth/sta.tcl.j2", **ctx)
        timings["sta_s"] = run_step("sta", ["sta", "-no_init", "-exit", "sta.tcl"],
                                    workdir, workdir / "sta.log", self.timeout_s)
        sta = parse_sta_log(workdir / "sta.log")

        period_achieved = period - sta["wns_ps"]
        if period_achieved <= 0:
            raise ToolFailure("sta", f"non-positive achieved period {period_achieved} ps", workdir / "sta.log")
        metrics = {
            **area,
            "wns_ps": sta["wns_ps"],
            "tns_ps": sta["tns_ps"],
            "period_ps": period_achieved,
            "fmax_mhz": 1e6 / period_achieved,
            "power_mw": sta["power_total_w"] * 1e3,
            "power_internal_mw": sta["power_internal_w"] * 1e3,
            "power_switching_mw": sta["power_switching_w"] * 1e3,
            "power_leakage_mw": sta["power_leakage_w"] * 1e3,
        }
        return metrics, timings
