"""The ``orfs`` flow: each point through the full OpenROAD-flow-scripts ASAP7 flow
(synthesis, floorplan, placement, CTS, routing, finish) of a user's ORFS checkout.

Per point it renders a design ``config.mk`` and ``constraint.sdc`` (ORFS variable
names only), runs ``make -C $FLOW_HOME DESIGN_CONFIG=... WORK_HOME=... FLOW_VARIANT=<id>
finish metadata-generate`` and reads the QoR from ORFS's ``metadata.json`` under the
same metric names the synth flow uses. OpenROAD cannot be installed on every
machine: everything up to the ``make`` call is tested here, the run itself where
``FLOW_HOME`` points at a real checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from edalize_dse import sdc
from edalize_dse.errors import DseError, ToolFailure
from edalize_dse.flows.base import Flow
from edalize_dse.flows.knobs import (
    Knob,
    as_switch,
    fraction,
    one_of,
    optional,
    percent,
    positive_int,
    positive_number,
    utilisation,
)
from edalize_dse.flows.synth import SynthFlow, vt_list
from edalize_dse.frontends import uses_slang
from edalize_dse.generators import RtlDesign, define_args, yosys_value
from edalize_dse.runner import run_step, tail
from edalize_dse.templating import render_to

# The synth flow's knobs that ORFS has too (abc_script only as ABC_AREA's two values).
SHARED_KNOBS = ("clock_period_ps", "ASAP7_USE_VT", "SYNTH_HIERARCHICAL", "DONT_USE_CELLS", "io_delay_pct", "CORNER")
FLOW_TARGETS = ("finish", "metadata-generate")


def _knobs() -> dict[str, Knob]:
    synth = SynthFlow.KNOBS
    knobs = [synth[name] for name in SHARED_KNOBS]
    knobs.insert(
        2,
        Knob(
            "abc_script",
            "speed",
            "ABC script: speed (ABC_AREA=0) or area (ABC_AREA=1)",
            one_of("speed", "area"),
            "speed, area",
            orfs="ABC_AREA",
        ),
    )
    knobs += [
        Knob(
            "CORE_UTILIZATION",
            40,
            "core area utilisation in % (floorplan)",
            utilisation,
            "0 < % < 100",
            orfs="CORE_UTILIZATION",
        ),
        Knob(
            "PLACE_DENSITY",
            0.6,
            "target placement density (global placement)",
            fraction,
            "(0, 1]",
            orfs="PLACE_DENSITY",
        ),
        Knob(
            "TNS_END_PERCENT",
            100,
            "% of violating endpoints repaired (timing repair)",
            percent,
            "0 <= % <= 100",
            orfs="TNS_END_PERCENT",
        ),
        Knob(
            "CTS_CLUSTER_SIZE",
            None,
            "sinks per clock-tree cluster (unset: ORFS default)",
            optional(positive_int),
            "a positive integer",
            orfs="CTS_CLUSTER_SIZE",
        ),
        Knob(
            "CTS_CLUSTER_DIAMETER",
            None,
            "clock-tree cluster diameter in um (unset: ORFS default)",
            optional(positive_number),
            "a positive number",
            orfs="CTS_CLUSTER_DIAMETER",
        ),
    ]
    return {k.name: k for k in knobs}


def find_flow_home(environ=None) -> Path:
    """The ORFS ``flow`` folder from $FLOW_HOME. Raises DseError naming what is missing."""
    env = os.environ if environ is None else environ
    home = env.get("FLOW_HOME")
    if not home:
        raise DseError(
            "the orfs flow runs OpenROAD-flow-scripts: set FLOW_HOME to the 'flow' folder of an ORFS "
            "checkout (the one with its Makefile and platforms/asap7); FLOW_HOME is not set"
        )
    root = Path(home)
    for needed in ("Makefile", "platforms/asap7"):
        if not (root / needed).exists():
            raise DseError(f"FLOW_HOME={root} is not an OpenROAD-flow-scripts 'flow' folder: it has no {needed}")
    return root.resolve()


class OrfsFlow(Flow):
    name = "orfs"
    KNOBS = _knobs()
    METRICS = (
        "area_um2",
        "stdcell_area_um2",
        "macro_area_um2",
        "cell_count",
        "wns_ps",
        "tns_ps",
        "period_ps",
        "fmax_mhz",
        "power_mw",
        "power_internal_mw",
        "power_switching_mw",
        "power_leakage_mw",
        "drc_errors",
        "wirelength_um",
    )

    def __init__(self, timeout_s: float | None = None, frontend: str = "auto", **_ignored):
        self.frontend = frontend
        # Options of other flows (the synth result cache, activity) do not apply:
        # ORFS keeps its own results per FLOW_VARIANT.
        self.timeout_s = timeout_s
        self.flow_home: Path | None = None

    # ---- checks before any exploration starts
    def check_platform(self, corners=("TC",), vts=("RVT",)) -> None:
        """Find ORFS ($FLOW_HOME); its platform has every corner's libraries."""
        self.flow_home = find_flow_home()

    def preflight(self) -> dict:
        if self.flow_home is None:
            self.check_platform()
        versions = {"orfs": _git_describe(self.flow_home)}
        openroad = os.environ.get("OPENROAD_EXE") or shutil.which("openroad")
        if not openroad:
            raise DseError(
                "OpenROAD not found: source the ORFS environment (e.g. '. $FLOW_HOME/../env.sh') "
                "so that 'openroad' is on PATH or OPENROAD_EXE is set"
            )
        run = subprocess.run([openroad, "-version"], capture_output=True, text=True, timeout=120)
        versions["openroad"] = (run.stdout.strip() or run.stderr.strip() or "unknown").splitlines()[0]
        if shutil.which("make") is None:
            raise DseError("GNU make not found on PATH: install it (apt-get install make)")
        return versions

    # ---- one evaluation
    def render(self, design: RtlDesign, eda: dict, workdir: Path, point_id: str | None = None) -> dict:
        """Write ``config.mk`` and ``constraint.sdc`` for one point into ``workdir``; return the context."""
        problems = self.check_knobs(eda)
        if problems:
            raise ToolFailure("orfs", problems[0])
        knobs = self.knob_values(eda)
        workdir = Path(workdir).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        missing_lef = [m.name for m in design.macros if not m.lef]
        if missing_lef:
            raise ToolFailure(
                "orfs", f"macro(s) {', '.join(missing_lef)} have no LEF view: ORFS needs one to place them"
            )
        point_id = point_id or workdir.parent.name
        variables = [
            ("ASAP7_USE_VT", " ".join(vt_list(knobs["ASAP7_USE_VT"]))),
            ("ABC_AREA", 1 if knobs["abc_script"] == "area" else 0),
            ("SYNTH_HIERARCHICAL", int(as_switch(knobs["SYNTH_HIERARCHICAL"]))),
            ("DONT_USE_CELLS", knobs["DONT_USE_CELLS"]),
            ("CORE_UTILIZATION", f"{knobs['CORE_UTILIZATION']:g}"),
            ("PLACE_DENSITY", f"{knobs['PLACE_DENSITY']:g}"),
            ("TNS_END_PERCENT", f"{knobs['TNS_END_PERCENT']:g}"),
            ("CORNER", knobs["CORNER"]),
        ]
        if uses_slang(self.frontend, design.files):
            variables.append(("SYNTH_HDL_FRONTEND", "slang"))
        period = float(knobs["clock_period_ps"])
        user_sdc = None
        if design.sdc is not None:  # the design's own constraints, its clock moved as AutoTuner does
            user_sdc = sdc.read(design.sdc)
            if "clock_period_ps" in eda:
                user_sdc = sdc.with_period(user_sdc, period, str(design.sdc))
            else:
                period = sdc.base_period(user_sdc, str(design.sdc))
        for name in ("CTS_CLUSTER_SIZE", "CTS_CLUSTER_DIAMETER"):
            if knobs[name] is not None:
                variables.append((name, f"{knobs[name]:g}"))
        ctx = dict(
            point_id=point_id,
            top=design.top,
            nickname=f"dse_{design.top}".lower(),
            config_mk=str(workdir / "config.mk"),
            sdc_file=str(workdir / "constraint.sdc"),
            verilog_files=[str(Path(f).resolve()) for f in design.files],
            include_dirs=[str(Path(d).resolve()) for d in design.include_dirs],
            defines=define_args(design.defines),
            top_params=[(k, yosys_value(v)) for k, v in sorted(design.parameters.items()) if v is not None],
            variables=variables,
            macro_lefs=[str(Path(m.lef).resolve()) for m in design.macros],
            macro_libs=[str(Path(m.liberty).resolve()) for m in design.macros],
            clock_port=design.clock_port,
            clock_period_ps=f"{period:g}",
            io_delay_pct=f"{float(knobs['io_delay_pct']):g}",
        )
        render_to(workdir / "config.mk", "orfs/config.mk.j2", **ctx)
        if user_sdc is None:
            render_to(workdir / "constraint.sdc", "orfs/constraint.sdc.j2", **ctx)
        else:
            (workdir / "constraint.sdc").write_text(user_sdc)
        return ctx

    def command(self, ctx: dict, work_home: Path) -> list[str]:
        return [
            "make",
            "-C",
            str(self.flow_home),
            f"DESIGN_CONFIG={ctx['config_mk']}",
            f"WORK_HOME={work_home}",
            f"FLOW_VARIANT={ctx['point_id']}",
            *FLOW_TARGETS,
        ]

    def run(self, design: RtlDesign, eda: dict, workdir: Path) -> tuple[dict, dict]:
        if self.flow_home is None:
            self.check_platform()
        workdir = Path(workdir).resolve()
        ctx = self.render(design, eda, workdir)
        work_home = workdir / "work"
        variant_dir = ("asap7", ctx["nickname"], ctx["point_id"])
        try:
            wall = run_step("orfs", self.command(ctx, work_home), workdir, workdir / "orfs.log", self.timeout_s)
        except ToolFailure as failure:
            raise failed_stage(work_home.joinpath("logs", *variant_dir), failure) from None
        metadata = work_home.joinpath("reports", *variant_dir, "metadata.json")
        return parse_metadata(metadata, float(ctx["clock_period_ps"])), {"orfs_s": wall}


def _git_describe(path: Path) -> str:
    try:
        run = subprocess.run(
            ["git", "-C", str(path), "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=30
        )
        return run.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def failed_stage(log_dir: Path, failure: ToolFailure) -> ToolFailure:
    """Name the ORFS stage that failed (its newest log, e.g. ``3_3_place_gp``) with that log's tail."""
    logs = sorted(Path(log_dir).glob("*.log"), key=lambda p: p.stat().st_mtime) if Path(log_dir).is_dir() else []
    if not logs:
        return failure
    last = logs[-1]
    return ToolFailure(f"orfs/{last.stem}", failure.reason, last, tail(last))


# ORFS metadata key -> our metric, with a unit factor.
_METADATA_METRICS = {
    "finish__design__instance__area": ("area_um2", 1.0),
    "finish__design__instance__area__stdcell": ("stdcell_area_um2", 1.0),
    "finish__design__instance__area__macros": ("macro_area_um2", 1.0),
    "finish__design__instance__count__stdcell": ("cell_count", 1.0),
    "finish__timing__setup__ws": ("wns_ps", 1.0),
    "finish__timing__setup__tns": ("tns_ps", 1.0),
    "finish__power__total": ("power_mw", 1e3),  # W
    "finish__power__internal__total": ("power_internal_mw", 1e3),
    "finish__power__switching__total": ("power_switching_mw", 1e3),
    "finish__power__leakage__total": ("power_leakage_mw", 1e3),
    "detailedroute__route__drc_errors": ("drc_errors", 1.0),
    "detailedroute__route__wirelength": ("wirelength_um", 1.0),
}
# Without these the run did not finish: no QoR to report.
REQUIRED_METADATA = ("finish__design__instance__area", "finish__timing__setup__ws", "finish__power__total")
# ORFS stage prefixes of metric names, in flow order, to say where a run stopped.
STAGES = (
    "synth",
    "floorplan",
    "globalplace",
    "placeopt",
    "detailedplace",
    "cts",
    "globalroute",
    "detailedroute",
    "finish",
)


def _number(value) -> bool:
    try:
        float(value)
        return not isinstance(value, bool)
    except (TypeError, ValueError):
        return False


def parse_metadata(path: Path, clock_period_ps: float) -> dict:
    """Our QoR from ORFS's ``metadata.json``. Raises ToolFailure for a missing,
    unparsable or unfinished run, naming the last stage that reported metrics."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except OSError:
        raise ToolFailure("orfs", f"no metadata.json at {path}", path) from None
    except ValueError as exc:
        raise ToolFailure("orfs", f"unparsable {path.name}: {exc}", path, tail(path)) from None
    values = {}
    for key, (metric, factor) in _METADATA_METRICS.items():
        raw = doc.get(key)
        try:
            values[metric] = float(raw) * factor
        except (TypeError, ValueError):
            continue  # absent, or "N/A"
    missing = [k for k in REQUIRED_METADATA if _METADATA_METRICS[k][0] not in values]
    if missing:
        reached = [s for s in STAGES if any(k.startswith(s + "__") and _number(v) for k, v in doc.items())]
        where = f"the last stage with metrics is '{reached[-1]}'" if reached else "no stage reported metrics"
        raise ToolFailure("orfs", f"unfinished run: {path.name} has no {', '.join(missing)} ({where})", path)
    area = values["area_um2"]
    values.setdefault("macro_area_um2", 0.0)
    values.setdefault("stdcell_area_um2", area - values["macro_area_um2"])
    period = clock_period_ps - values["wns_ps"]
    if period <= 0:
        raise ToolFailure("orfs", f"non-positive achieved period {period} ps", path)
    values["period_ps"] = period
    values["fmax_mhz"] = 1e6 / period
    for count in ("cell_count", "drc_errors"):
        if count in values:
            values[count] = int(values[count])
    return values
