"""QoR read from tool reports, and the metrics derived from them.

Units are part of every name: um2, ps, mhz, mw, gops."""

from __future__ import annotations

import json
import re
from pathlib import Path

from edalize_dse.errors import ToolFailure
from edalize_dse.runner import tail

# OpenSTA's report_power table rows: group, internal, switching, leakage, total (W), share.
_POWER_ROW = re.compile(r"^(Sequential|Combinational|Macro|Pad|Total)\s+([-+\deE.]+)\s+([-+\deE.]+)\s+"
                        r"([-+\deE.]+)\s+([-+\deE.]+)")
_METRIC = re.compile(r"^DSE_METRIC (\S+) (.+)$")
# Debian's OpenSTA (2019) does not parse 'signed' in declarations that Yosys writes.
_SIGNED_DECL = re.compile(r"^(\s*(?:input|output|inout|wire|reg))\s+signed\b", re.MULTILINE)


def parse_yosys_stat(stat_json: Path, log: Path) -> dict:
    """Area and cell counts of the top module from ``stat -json -liberty``."""
    try:
        text = Path(stat_json).read_text()
        doc = json.loads(text[text.index("{"):])
        design = doc["design"]
        return {
            "area_um2": float(design["area"]),
            "seq_area_um2": float(design.get("sequential_area", 0.0)),
            "cell_count": int(design["num_cells"]),
        }
    except (OSError, ValueError, KeyError) as exc:
        raise ToolFailure("synth", f"unparsable Yosys statistics {stat_json}: {exc}", log, tail(log)) from None


def sanitize_netlist_for_sta(netlist: Path) -> None:
    path = Path(netlist)
    path.write_text(_SIGNED_DECL.sub(r"\1", path.read_text()))


def parse_sta_log(log: Path) -> dict:
    """WNS/TNS (ps) and the power table (W) from the OpenSTA log of ``sta.tcl``."""
    text = Path(log).read_text(errors="replace")
    values = {}
    for line in text.splitlines():
        m = _METRIC.match(line.strip())
        if m:
            values[m.group(1)] = m.group(2).strip()
        m = _POWER_ROW.match(line.strip())
        if m and m.group(1) == "Total":
            internal, switching, leakage, total = (float(m.group(i)) for i in range(2, 6))
            values.update(power_internal_w=internal, power_switching_w=switching,
                          power_leakage_w=leakage, power_total_w=total)
    errors = [ln for ln in text.splitlines() if ln.startswith("Error")]
    needed = ("wns_ps", "tns_ps", "power_total_w")
    missing = [k for k in needed if k not in values]
    if missing or errors:
        reason = errors[0] if errors else f"no {', '.join(missing)} in the OpenSTA report"
        raise ToolFailure("sta", reason, log, tail(log))
    try:
        return {
            "wns_ps": float(values["wns_ps"]),
            "tns_ps": float(values["tns_ps"]),
            "power_internal_w": values["power_internal_w"],
            "power_switching_w": values["power_switching_w"],
            "power_leakage_w": values["power_leakage_w"],
            "power_total_w": values["power_total_w"],
        }
    except ValueError as exc:
        raise ToolFailure("sta", f"unparsable OpenSTA value: {exc}", log, tail(log)) from None


def derive(metrics: dict, design_info: dict) -> dict:
    """Add the metrics computed from tool results and the design's facts."""
    out = dict(metrics)
    if "pes" in design_info and "fmax_mhz" in out:
        # Peak: every PE does one multiply-accumulate (2 ops) per cycle.
        out["throughput_gops"] = 2.0 * design_info["pes"] * out["fmax_mhz"] / 1e3
    return out
