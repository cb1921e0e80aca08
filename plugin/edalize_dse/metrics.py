"""QoR read from tool reports, and the metrics derived from them.

Units are part of every name: um2, ps, mhz, mw, gops."""

from __future__ import annotations

import json
import re
from pathlib import Path

from edalize_dse.errors import ToolFailure
from edalize_dse.runner import tail

# OpenSTA's report_power table rows: group, internal, switching, leakage, total (W), share.
_POWER_ROW = re.compile(
    r"^(Sequential|Combinational|Macro|Pad|Total)\s+([-+\deE.]+)\s+([-+\deE.]+)\s+"
    r"([-+\deE.]+)\s+([-+\deE.]+)"
)
# A liberty cell and its area (the first 'area' inside the cell group).
_CELL_AREA = re.compile(r"\bcell\s*\(\s*\"?([\w$]+)\"?\s*\)\s*\{[^{}]*?\barea\s*:\s*([-+\deE.]+)", re.DOTALL)
# report_power -instances rows: internal, switching, leakage, total (W), instance.
_INSTANCE_POWER_ROW = re.compile(r"^([-+\deE.]+)\s+([-+\deE.]+)\s+([-+\deE.]+)\s+([-+\deE.]+)\s+\S+$")
_METRIC = re.compile(r"^DSE_METRIC (\S+) (.+)$")
# Debian's OpenSTA (2019) does not parse 'signed' in declarations that Yosys writes.
_SIGNED_DECL = re.compile(r"^(\s*(?:input|output|inout|wire|reg))\s+signed\b", re.MULTILINE)


def macro_areas(liberty_files) -> dict[str, float]:
    """Cell name -> area (um2) of every cell in the macros' liberty views."""
    areas = {}
    for path in liberty_files:
        text = Path(path).read_text(errors="replace")
        for m in _CELL_AREA.finditer(text):
            areas[m.group(1)] = float(m.group(2))
    return areas


def parse_yosys_stat(stat_json: Path, log: Path, macro_area: dict | None = None) -> dict:
    """Area split and cell counts of the top module (hierarchy included) from ``stat -json -liberty``.

    ``macro_area`` gives the area of each macro cell, so macro and standard-cell
    area can be told apart (Yosys counts both in its total)."""
    macro_area = macro_area or {}
    try:
        text = Path(stat_json).read_text()
        doc = json.loads(text[text.index("{") :])
        design = doc["design"]
        by_type = design.get("num_cells_by_type", {})
        total = float(design["area"])
        seq = float(design.get("sequential_area", 0.0))
    except (OSError, ValueError, KeyError) as exc:
        raise ToolFailure("synth", f"unparsable Yosys statistics {stat_json}: {exc}", log, tail(log)) from None
    macros = sum(n for cell, n in by_type.items() if cell in macro_area)
    macro = sum(n * macro_area[cell] for cell, n in by_type.items() if cell in macro_area)
    return {
        "area_um2": total,
        "stdcell_area_um2": total - macro,
        "macro_area_um2": macro,
        "seq_area_um2": seq,
        "comb_area_um2": total - macro - seq,
        "cell_count": int(design["num_cells"]) - macros,
        "macro_count": macros,
    }


# An instance of a Yosys internal cell ($_NOT_, $_AND_, $dff ...) left in a mapped netlist.
_INTERNAL_CELL = re.compile(r"^\s*\\?\$_?[A-Za-z_]+_?\s+\S+\s*\(", re.MULTILINE)


def sanitize_netlist_for_sta(netlist: Path) -> None:
    """Make Yosys's netlist one OpenSTA reads; fail synthesis if cells were left unmapped
    (OpenSTA would time them as black boxes, every path through them unconstrained)."""
    path = Path(netlist)
    text = path.read_text()
    unmapped = _INTERNAL_CELL.search(text)
    if unmapped:
        raise ToolFailure(
            "synth",
            f"the netlist holds a cell no library maps: {unmapped.group(0).strip()} "
            f"(technology mapping left Yosys's own cells)",
            netlist,
        )
    path.write_text(_SIGNED_DECL.sub(r"\1", text))


def parse_sta_log(log: Path) -> dict:
    """WNS/TNS (ps) and the power report (W, by component and by group) from the log of ``sta.tcl``."""
    text = Path(log).read_text(errors="replace")
    values = {}
    power = {}
    macro_rows = None  # per-instance power of the macros, when the script asked for it
    slew_rows = None  # report_check_types -max_transition rows, when the script asked for them
    clocks = {}
    untimed = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("DSE_UNTIMED "):
            untimed.append(" ".join(stripped.split()[1:3]))
            continue
        if stripped == "DSE_SLEW_BEGIN":
            slew_rows = []
            continue
        if stripped == "DSE_SLEW_END":
            values["max_slew_violations"] = str(sum(1 for row in slew_rows if row.endswith("(VIOLATED)")))
            slew_rows = None
            continue
        if slew_rows is not None:
            slew_rows.append(stripped)
            continue
        if stripped.startswith("DSE_CLOCK "):
            name, period, slack, achieved = stripped.split()[1:5]
            clocks[name] = {"period_ps": float(period), "slack_ps": float(slack), "achieved_ps": float(achieved)}
            continue
        if stripped.startswith("DSE_MACRO_POWER_BEGIN"):
            macro_rows = []
            continue
        if stripped.startswith("DSE_MACRO_POWER_END"):
            values["macro_rows"] = macro_rows
            macro_rows = None
            continue
        if macro_rows is not None:
            m = _INSTANCE_POWER_ROW.match(stripped)
            if m:
                macro_rows.append(float(m.group(4)))
            continue
        m = _METRIC.match(stripped)
        if m:
            values[m.group(1)] = m.group(2).strip()
        m = _POWER_ROW.match(stripped)
        if m:
            internal, switching, leakage, total = (float(m.group(i)) for i in range(2, 6))
            if m.group(1) == "Total":
                power.update(internal=internal, switching=switching, leakage=leakage, total=total)
            else:
                power[m.group(1).lower()] = total
    lines = text.splitlines()
    errors = [ln for ln in lines if ln.startswith(("Error", "DSE_ERROR "))]
    setup_problems = _check_setup_warnings(lines)
    if setup_problems and not errors:
        # A design timed only in part: its WNS and power describe some other circuit.
        errors = [
            f"design not fully constrained by the clock: {'; '.join(setup_problems)} "
            f"(check_setup in the log; is the clock port right?)"
        ]
    missing = [k for k in ("wns_ps", "tns_ps", "period_ps") if k not in values] + (
        [] if "total" in power else ["power"]
    )
    if missing or errors:
        reason = errors[0].removeprefix("DSE_ERROR ") if errors else f"no {', '.join(missing)} in the OpenSTA report"
        raise ToolFailure("sta", reason, log, tail(log))
    for group in ("sequential", "combinational", "macro"):
        power.setdefault(group, 0.0)
    if power["macro"] == 0.0 and values.get("macro_rows"):
        # OpenSTA counted these macros as combinational cells: move them.
        instances = sum(values["macro_rows"])
        power["macro"] = instances
        power["combinational"] = max(0.0, power["combinational"] - instances)
    try:
        known = ("wns_ps", "tns_ps", "period_ps")
        extra = {k: float(v) for k, v in values.items() if k not in known and k != "macro_rows"}
        return {
            "wns_ps": float(values["wns_ps"]),
            "tns_ps": float(values["tns_ps"]),
            "period_ps": float(values["period_ps"]),
            "power_w": power,
            "extra": extra,
            "clocks": clocks,
            "untimed": untimed,
        }
    except ValueError as exc:
        raise ToolFailure("sta", f"unparsable OpenSTA value: {exc}", log, tail(log)) from None


def _check_setup_warnings(lines: list[str]) -> list[str]:
    """What OpenSTA's check_setup found that makes the timing fiction (e.g. 'There are 5
    unclocked register/latch pins'), from the lines between the STA script's markers."""
    inside, found = False, []
    for line in lines:
        if line.startswith("DSE_CHECK_SETUP_BEGIN"):
            inside = True
        elif line.startswith("DSE_CHECK_SETUP_END"):
            inside = False
        elif inside and line.startswith("Warning: ") and "unconstrained endpoint" not in line:
            # Unconstrained endpoints stay in the log but do not fail the point: a pin tied to a
            # constant (a macro's enable tied high) is one and harms no figure; a register the
            # clock does not reach is reported as unclocked, and that fails it.
            found.append(line[len("Warning: ") :].strip().rstrip("."))
    return found


def derive(metrics: dict, design_info: dict) -> dict:
    """Add the metrics computed from tool results and the design's facts."""
    out = dict(metrics)
    if "pes" in design_info and "fmax_mhz" in out:
        # Peak: every PE does one multiply-accumulate (2 ops) per cycle.
        out["throughput_gops"] = 2.0 * design_info["pes"] * out["fmax_mhz"] / 1e3
    return out
