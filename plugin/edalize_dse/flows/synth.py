"""The ``synth`` flow: pyosys (Yosys) synthesis onto ASAP7 standard cells, then
OpenSTA timing and power at the target clock. Runs anywhere the two tools do.

Every knob is rendered into the Jinja tool scripts in ``templates/synth/``;
every metric is read from a tool report (Yosys ``stat -json``, the OpenSTA log)."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from edalize_dse.cache import ResultCache, RunKey
from edalize_dse.errors import DseError, ToolFailure
from edalize_dse.flows.knobs import (Knob, as_switch, check_all, non_negative_int, one_of, percentage,
                                     positive_number, switch)
from edalize_dse.generators import RtlDesign, define_args
from edalize_dse.metrics import macro_areas, parse_sta_log, parse_yosys_stat, sanitize_netlist_for_sta
from edalize_dse.platform import COMB_GROUPS, VT_FLAVOURS, VT_SUFFIX, find_platform
from edalize_dse.runner import run_step
from edalize_dse.templating import render_to, templates_dir

# ORFS's ASAP7 DONT_USE_CELLS: fractional-drive, scan and clock-gating cells.
ORFS_ASAP7_DONT_USE = "*x1p*_ASAP7* *xp*_ASAP7* SDF* ICG*"
# Flip-flop cells (knob flop_cells). dfflibmap takes a non-inverting flop over any
# inverting one, and ASAP7's only non-inverting D flops are the x4 cells (0.3645 um2);
# 'x1' leaves them out of flop mapping so it picks DFFHQNx1 (0.2916 um2, as ORFS's
# synthesis does before OpenROAD resizes). This flow has no sizing step after
# synthesis: an x1 flop then drives its whole fanout (a control flop of the 4x4
# array: 198 fF, 828 ps), so 'x4' is the default (BENCHMARKS.md, issue 13).
FLOP_MAP_DONT_USE = {"x4": (), "x1": ("DFFHQx4_ASAP7_75t_*", "DFFLQx4_ASAP7_75t_*")}
# Toggles per clock period on every net, for report_power.
DEFAULT_ACTIVITY = 0.1
# metric (mW) -> entry of the OpenSTA power report (metrics.parse_sta_log, W).
POWER_METRICS = {"power_mw": "total", "power_internal_mw": "internal", "power_switching_mw": "switching",
                 "power_leakage_mw": "leakage", "power_seq_mw": "sequential", "power_comb_mw": "combinational",
                 "power_macro_mw": "macro"}


def abc_scripts() -> tuple[str, ...]:
    """Names of the ABC scripts shipped as ``templates/synth/abc/<name>.abc.j2``."""
    return tuple(sorted(p.name[:-len(".abc.j2")] for p in (templates_dir() / "synth" / "abc").glob("*.abc.j2")))


def vt_list(value) -> list[str]:
    return str(value).split()


def _check_vt(value):
    flavours = vt_list(value) if isinstance(value, str) else []
    if not flavours or any(v not in VT_FLAVOURS for v in flavours) or len(set(flavours)) != len(flavours):
        return "must list distinct flavours, the primary first"
    return None


def _check_dont_use(value):
    if not isinstance(value, str):
        return "must be a string of cell-name patterns separated by spaces"
    return None


def _knobs() -> dict[str, Knob]:
    scripts = abc_scripts()
    knobs = [
        Knob("clock_period_ps", 1000, "target clock period in ps (ABC's delay target and the SDC clock)",
             positive_number, "a positive number of ps"),
        Knob("ASAP7_USE_VT", "RVT", "threshold flavours the mapper may use; the first also gives the tie cells",
             _check_vt, "space-separated RVT, LVT, SLVT (e.g. 'RVT LVT')", orfs="ASAP7_USE_VT"),
        Knob("abc_script", "speed", "ABC mapping script (templates/synth/abc/<name>.abc.j2)",
             one_of(*scripts), ", ".join(scripts), orfs="ABC_AREA"),
        Knob("booth", False, "Booth-encoded multipliers (Yosys 'synth -booth')", switch, "0/1"),
        Knob("SYNTH_HIERARCHICAL", 0, "1: keep the module hierarchy (map each module alone); 0: flatten",
             switch, "0/1", orfs="SYNTH_HIERARCHICAL"),
        Knob("retime", False, "pass flip-flops through ABC and retime them (abc -dff)", switch, "0/1"),
        Knob("DONT_USE_CELLS", ORFS_ASAP7_DONT_USE, "cell-name patterns the mappers must not use",
             _check_dont_use, "a string of patterns", orfs="DONT_USE_CELLS"),
        Knob("flop_cells", "x4", "D flip-flop cells: x4 (non-inverting DFFHQx4, drives its fanout unsized) or x1 "
             "(DFFHQNx1, 20 % smaller, as ORFS maps before OpenROAD resizes)", one_of(*FLOP_MAP_DONT_USE),
             "x4, x1"),
        Knob("max_fanout", 0, "ABC buffers nets above this fanout (0: ABC's own default / no buffering pass)",
             non_negative_int, "an integer >= 0"),
        Knob("io_delay_pct", 0, "input arrival and output required time, % of the clock period (SDC)",
             percentage, "0 <= pct < 100"),
    ]
    return {k.name: k for k in knobs}


# What synthesis alone measures (metrics.parse_yosys_stat): kept with a cached netlist.
AREA_METRICS = ("area_um2", "stdcell_area_um2", "macro_area_um2", "seq_area_um2", "comb_area_um2",
                "cell_count", "macro_count")


@dataclass
class StepKeys:
    """The cache keys of one run's two steps; the STA key includes the netlist's."""
    synth: RunKey
    sta: RunKey

    def digest(self) -> str:
        """The whole run's key (the STA key covers the netlist's)."""
        return self.sta.digest()


class SynthFlow:
    name = "synth"
    KNOBS = _knobs()
    METRICS = ("area_um2", "stdcell_area_um2", "macro_area_um2", "seq_area_um2", "comb_area_um2",
               "cell_count", "macro_count", "wns_ps", "tns_ps", "period_ps", "fmax_mhz",
               "power_mw", "power_internal_mw", "power_switching_mw", "power_leakage_mw",
               "power_seq_mw", "power_comb_mw", "power_macro_mw")

    def __init__(self, timeout_s: float | None = None, cache: bool = True, cache_dir: str | None = None,
                 activity: float = DEFAULT_ACTIVITY):
        self.timeout_s = timeout_s
        self.cache = ResultCache(cache_dir) if cache else None
        if not 0 < activity <= 2:
            raise DseError(f"flow option activity = {activity}: toggles per clock must be in (0, 2]")
        self.activity = activity
        self._platform = None
        self._versions = None
        self._identity = None

    # ---- checks before any exploration starts
    def check_knobs(self, knobs: dict) -> list[str]:
        return check_all(self.KNOBS, knobs, self.name)

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

    def tool_identity(self) -> dict:
        """What identifies the tools in a cache key, found without starting Yosys
        (loading pyosys takes seconds): the pyosys release and OpenSTA's version."""
        if self._identity is None:
            try:
                pyosys = importlib.metadata.version("pyosys")
            except importlib.metadata.PackageNotFoundError:
                pyosys = "missing"
            try:
                sta = subprocess.run(["sta", "-version"], capture_output=True, text=True, timeout=60).stdout.strip()
            except OSError:
                sta = "missing"
            self._identity = {"pyosys": pyosys, "opensta": sta}
        return self._identity

    # ---- one evaluation
    def knob_values(self, eda: dict) -> dict:
        return {**{k: v.default for k, v in self.KNOBS.items()}, **eda}

    def render(self, design: RtlDesign, eda: dict, workdir: Path) -> tuple[dict, "StepKeys"]:
        """Render the tool scripts of one run into ``workdir``; return the context and the cache keys."""
        knobs = self.knob_values(eda)
        problems = self.check_knobs(eda)
        if problems:
            raise ToolFailure("synth", problems[0])
        flavours = vt_list(knobs["ASAP7_USE_VT"])
        libs = {vt: self.platform.liberty(vt) for vt in flavours}
        seq_libs = [libs[vt]["SEQ"] for vt in flavours]
        # ABC wants each flavour's groups in COMB_GROUPS order (see platform.py).
        comb_libs = [libs[vt][g] for vt in flavours for g in COMB_GROUPS]
        macro_paths = [Path(m.liberty).resolve() for m in design.macros]
        # Views generated for this point are named relative to the run folder, like its RTL.
        macro_libs = [_script_path(p, workdir) for p in macro_paths]
        period = float(knobs["clock_period_ps"])
        io_delay_ps = period * float(knobs["io_delay_pct"]) / 100.0
        suffix = VT_SUFFIX[flavours[0]]
        script = knobs["abc_script"]
        abc_file = f"abc_{script}.abc"
        rtl = [Path(f).resolve() for f in design.files]
        ctx = dict(
            point_id=workdir.parent.name, top=design.top, vt_flavours=flavours,
            verilog_files=[_script_path(f, workdir) for f in rtl],
            defines=define_args(design.defines),
            include_dirs=[str(Path(d).resolve()) for d in design.include_dirs],
            # A vlogparam without a value is not set (edalize): the RTL's own default holds.
            parameters=[(k, yosys_value(v)) for k, v in sorted(design.parameters.items()) if v is not None],
            seq_libs=seq_libs, comb_libs=comb_libs, macro_libs=macro_libs,
            stat_libs=seq_libs + comb_libs + macro_libs, sta_libs=seq_libs + comb_libs + macro_libs,
            macro_cells=sorted({m.name for m in design.macros}),
            dont_use=str(knobs["DONT_USE_CELLS"]).split(),
            abc_script=script, abc_script_file=abc_file, abc_uses_delay=script != "area",
            abc_period_ps=f"{period:g}", clock_period_ps=f"{period:g}",
            flatten=not as_switch(knobs["SYNTH_HIERARCHICAL"]), booth=as_switch(knobs["booth"]),
            retime=as_switch(knobs["retime"]), max_fanout=int(knobs["max_fanout"]),
            tie_hi=f"TIEHIx1_ASAP7_75t_{suffix}", tie_lo=f"TIELOx1_ASAP7_75t_{suffix}",
            alias_buffer=f"BUFx2_ASAP7_75t_{suffix}", flop_dont_use=list(FLOP_MAP_DONT_USE[knobs["flop_cells"]]),
            stat_json="stat.json", netlist="netlist.v", clock_port=design.clock_port,
            io_delay_pct=f"{float(knobs['io_delay_pct']):g}", io_delay_ps=f"{io_delay_ps:g}",
            activity=self.activity,
        )
        texts = {}
        for out, template in ((abc_file, f"synth/abc/{script}.abc.j2"), ("synth.ys", "synth/synth.ys.j2"),
                              ("sta.tcl", "synth/sta.tcl.j2")):
            texts[out] = render_to(workdir / out, template, **ctx).read_text()
        # One cache entry per step: the netlist (synthesis) and the timing/power (STA) of
        # that netlist. A change that touches only the STA script (activity, the power
        # rule) re-runs STA on the cached netlist.
        tools = self.tool_identity()
        labels = (ctx["point_id"],)
        synth_files = {f"rtl:{i}": p for i, p in enumerate(rtl)}
        synth_files.update({f"lib:{i}": p for i, p in enumerate(seq_libs + comb_libs + macro_paths)})
        synth_key = RunKey("synth:synthesis", {n: texts[n] for n in (abc_file, "synth.ys")}, synth_files,
                           {"pyosys": tools["pyosys"]}, labels=labels)
        sta_files = {f"lib:{i}": p for i, p in enumerate(seq_libs + comb_libs + macro_paths)}
        sta_key = RunKey("synth:sta", {"sta.tcl": texts["sta.tcl"], "netlist": synth_key.digest()}, sta_files,
                         {"opensta": tools["opensta"]}, labels=labels)
        return ctx, StepKeys(synth_key, sta_key)

    def run(self, design: RtlDesign, eda: dict, workdir: Path) -> tuple[dict, dict]:
        """Synthesize and time ``design``; return (metrics, step wall times in s).

        ``timings['cache_hit']`` is 1 when the whole result came from the cache; a
        cached netlist alone skips synthesis (no ``synth_s``) and runs STA."""
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        ctx, keys = self.render(design, eda, workdir)
        if self.cache is None:
            return self._run_tools(design, ctx, workdir)
        start = time.perf_counter()
        sta_digest, synth_digest = keys.sta.digest(), keys.synth.digest()
        hit = self.cache.get(sta_digest, copy_reports_to=workdir)
        if hit is not None:
            (workdir / "CACHE_HIT").write_text(f"{sta_digest}\n{self.cache.directory}\n")
            return hit["metrics"], {"cache_s": time.perf_counter() - start, "cache_hit": 1}
        netlist = self.cache.get(synth_digest, copy_reports_to=workdir)
        cache_s = time.perf_counter() - start
        metrics, timings = self._run_tools(design, ctx, workdir, area=netlist["metrics"] if netlist else None)
        if netlist is not None:
            timings["cache_s"] = cache_s
        else:
            self.cache.put(synth_digest, {k: metrics[k] for k in AREA_METRICS}, {"synth_s": timings["synth_s"]},
                           [workdir / n for n in ("netlist.v", "stat.json", "synth.ys", ctx["abc_script_file"])])
        self.cache.put(sta_digest, metrics, timings, [workdir / n for n in ("stat.json", "sta.log", "synth.ys",
                                                                            "sta.tcl")])
        return metrics, timings

    def _run_tools(self, design: RtlDesign, ctx: dict, workdir: Path, area: dict | None = None) -> tuple[dict, dict]:
        """Synthesis (unless ``area`` is given: its netlist is already in ``workdir``), then STA."""
        timings = {}
        if area is None:
            timings["synth_s"] = run_step("synth", [sys.executable, "-m", "edalize_dse.pyosys_main", "synth.ys"],
                                          workdir, workdir / "yosys.log", self.timeout_s)
            area = parse_yosys_stat(workdir / "stat.json", workdir / "yosys.log",
                                    macro_areas([m.liberty for m in design.macros]))
            sanitize_netlist_for_sta(workdir / "netlist.v")
        timings["sta_s"] = run_step("sta", ["sta", "-no_init", "-exit", "sta.tcl"],
                                    workdir, workdir / "sta.log", self.timeout_s)
        sta = parse_sta_log(workdir / "sta.log")
        period_achieved = sta["period_ps"]  # target - WNS: the clock the power report uses
        if period_achieved <= 0:
            raise ToolFailure("sta", f"non-positive achieved period {period_achieved} ps", workdir / "sta.log")
        metrics = {
            **area,
            "wns_ps": sta["wns_ps"],
            "tns_ps": sta["tns_ps"],
            "period_ps": period_achieved,
            "fmax_mhz": 1e6 / period_achieved,
            **{name: sta["power_w"][group] * 1e3 for name, group in POWER_METRICS.items()},
        }
        return metrics, timings


def _script_path(path: Path, workdir: Path) -> str:
    """A file generated for this point is named relative to the run folder, anything
    else absolutely: either way the scripts do not depend on the output directory
    (the cache key replaces absolute paths by the files' hashes)."""
    point = workdir.resolve().parent
    if point in path.parents:
        return os.path.relpath(path, workdir.resolve())
    return str(path)


def yosys_value(value) -> str:
    """A parameter value as Yosys's ``chparam -set`` reads it."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace('"', '\\"') + '"'
