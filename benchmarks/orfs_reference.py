"""Our synth flow against OpenROAD-flow-scripts' own results on ORFS's ASAP7 designs.

    python -m benchmarks.orfs_reference [--designs DIR] [--only gcd uart] [--label after]

Per design folder under ``--designs`` (default ``../shared/orfs/designs``, else
``$FLOW_HOME/designs/asap7``): the design is read as ``edalize-dse import-orfs`` reads
it (config.mk through make, its SDC, macros, include folders, SystemVerilog through
slang) and run once through the synth flow at ORFS's own clock and settings (the SDC as
it is, ABC_AREA's script, RVT), result cache off. Compared with the reference values of
its ``rules-base.json`` (README of the reference data: ORFS's margins undone):

- area: our standard-cell area against ORFS's synthesis area (rule / 1.15);
- timing: our WNS against ORFS's post-CTS and final WS (rule + 5 % of the period), the
  gap as a share of the period;
- what is left of the electrical checks (pins over max_transition, drivers over
  max_capacitance), the repair's work, and the seconds per point.

Writes ``benchmarks/results/orfs_reference_<label>.{csv,md}``. Run with PYTHONPATH at an
older checkout's ``plugin`` and another label to measure a flow before a change: a flow
without SDC support times the generated clock (SDC period, I/O delay ``clk_io_pct``)."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
IO_PCT = re.compile(r"^\s*set\s+clk_io_pct\s+([\d.]+)", re.MULTILINE)


def default_designs() -> Path | None:
    shared = ROOT.parent / "shared" / "orfs" / "designs"
    if shared.is_dir():
        return shared
    flow = os.environ.get("FLOW_HOME")
    if flow and (Path(flow) / "designs" / "asap7").is_dir():
        return Path(flow) / "designs" / "asap7"
    return None


def reference(folder: Path, period: float) -> dict:
    """ORFS's values from rules-base.json, its margins undone."""
    rules = json.loads((folder / "rules-base.json").read_text())

    def value(name):
        return rules.get(name, {}).get("value")

    area = value("synth__design__instance__area__stdcell")
    out = {"orfs_synth_area": area / 1.15 if area is not None else None}
    for stage in ("cts", "finish"):
        ws = value(f"{stage}__timing__setup__ws")
        out[f"orfs_{stage}_ws"] = ws + 0.05 * period if ws is not None else None
    return out


def run_design(folder: Path, work: Path, corner_factor: float = 0.0) -> dict:
    from edalize_dse import sdc as sdc_mod
    from edalize_dse.flows.synth import SynthFlow
    from edalize_dse.generators import MacroView, RtlDesign
    from edalize_dse.metrics import macro_areas
    from edalize_dse.orfs_import import read_design

    design = read_design(folder / "config.mk")
    text = sdc_mod.read(design.sdc)
    period = sdc_mod.base_period(text)
    macros = [MacroView(name, lib) for lib in design.macro_libs for name in macro_areas([lib])]
    fields = {f.name for f in dataclasses.fields(RtlDesign)}
    eda = {"abc_script": "area" if design.abc_area else "speed"}
    rtl = RtlDesign(
        files=design.verilog_files,
        top=design.top,
        parameters=design.parameters,
        defines=design.defines,
        include_dirs=design.include_dirs,
        macros=macros,
    )
    flow_options = {}
    if "sdc" in fields:
        rtl.sdc = design.sdc
        flow_options["frontend"] = "slang" if design.frontend == "slang" else "auto"
    else:  # a flow from before SDC support: the generated clock at the SDC's period and I/O share
        io = IO_PCT.search(text)
        eda.update(clock_period_ps=period, io_delay_pct=float(io.group(1)) * 100 if io else 0)
    if "sdc" not in fields and any(f.suffix in (".sv", ".svh") for f in design.verilog_files):
        return {"design": folder.name, "period_ps": period, "error": "no SystemVerilog frontend in this flow"}
    flow = SynthFlow(cache=False, **flow_options)
    start = time.perf_counter()
    try:
        metrics, _ = flow.run(rtl, eda, work / folder.name / "synth")
    except Exception as exc:  # the table records why a design has no numbers
        return {"design": folder.name, "period_ps": period, "error": str(exc).splitlines()[0][:160]}
    seconds = time.perf_counter() - start
    row = {
        "design": folder.name,
        "top": design.top,
        "corner": design.corner or "BC",
        "period_ps": period,
        "area_um2": metrics["stdcell_area_um2"],
        "wns_ps": metrics["wns_ps"],
        "seconds": seconds,
        "slew_violations": metrics.get("max_slew_violations", ""),
        "cap_violations": metrics.get("max_cap_violations", ""),
        "fanout_violations": metrics.get("max_fanout_violations", ""),
        "repair_resized": metrics.get("repair_resized", ""),
        "repair_buffers": metrics.get("repair_buffers", ""),
    }
    row.update(reference(folder, period))
    if corner_factor and row["corner"] != "TC" and "sdc" in fields:
        # ORFS timed it with FF cells, corner_factor times faster than TT (corner_gap.py): the
        # same effort here is the clock slowed by that factor, and its WNS back in FF time.
        equiv, _ = flow.run(rtl, {**eda, "clock_period_ps": period * corner_factor}, work / folder.name / "equiv")
        row["area_equiv_um2"] = equiv["stdcell_area_um2"]
        row["area_equiv_ratio"] = equiv["stdcell_area_um2"] / row["orfs_synth_area"]
        row["wns_equiv_ps"] = equiv["wns_ps"] / corner_factor
        if row["orfs_cts_ws"] is not None:
            row["gap_equiv_cts_pct"] = 100.0 * (row["wns_equiv_ps"] - row["orfs_cts_ws"]) / period
    if row["orfs_synth_area"]:
        row["area_ratio"] = row["area_um2"] / row["orfs_synth_area"]
    for stage in ("cts", "finish"):
        if row[f"orfs_{stage}_ws"] is not None:
            row[f"gap_{stage}_pct"] = 100.0 * (row["wns_ps"] - row[f"orfs_{stage}_ws"]) / period
    return row


COLUMNS = [
    "design",
    "top",
    "corner",
    "period_ps",
    "area_um2",
    "orfs_synth_area",
    "area_ratio",
    "wns_ps",
    "orfs_cts_ws",
    "orfs_finish_ws",
    "gap_cts_pct",
    "gap_finish_pct",
    "area_equiv_um2",
    "area_equiv_ratio",
    "wns_equiv_ps",
    "gap_equiv_cts_pct",
    "slew_violations",
    "cap_violations",
    "fanout_violations",
    "repair_resized",
    "repair_buffers",
    "seconds",
    "error",
]


def fmt(value, digits=1) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(rows: list[dict], label: str, command: str, corner_factor: float) -> str:
    lines = [
        f"# ORFS reference designs: synth flow ({label})",
        "",
        f"Command: `{command}`",
        "",
        "| design | ORFS corner | period ps | area um2 | ORFS synth area | ratio | WNS ps | ORFS cts WS | "
        "ORFS finish WS | gap to cts, % of period | slew / cap / fanout violations | resized / buffers | s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.get("error"):
            lines.append(f"| {r['design']} | | {fmt(r.get('period_ps'), 0)} | {r['error']} ||||||||||")
            continue
        lines.append(
            "| "
            + " | ".join(
                [
                    r["design"],
                    r["corner"],
                    fmt(r["period_ps"], 0),
                    fmt(r["area_um2"]),
                    fmt(r["orfs_synth_area"]),
                    fmt(r.get("area_ratio"), 3),
                    fmt(r["wns_ps"]),
                    fmt(r["orfs_cts_ws"]),
                    fmt(r["orfs_finish_ws"]),
                    fmt(r.get("gap_cts_pct")),
                    f"{fmt(r['slew_violations'], 0)} / {fmt(r['cap_violations'], 0)} / "
                    f"{fmt(r['fanout_violations'], 0)}",
                    f"{fmt(r['repair_resized'], 0)} / {fmt(r['repair_buffers'], 0)}",
                    fmt(r["seconds"]),
                ]
            )
            + " |"
        )
    equiv = [r for r in rows if r.get("area_equiv_um2") is not None]
    if equiv:
        lines += [
            "",
            f"Designs ORFS timed at BC (FF cells), run again at the clock x {corner_factor} (TT's delay over "
            "FF's, benchmarks/corner_gap.py), WNS divided by the same factor:",
            "",
            "| design | clock ps | area um2 | ratio to ORFS synth area | WNS in FF time, ps | ORFS cts WS | "
            "gap, % of period |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in equiv:
            lines.append(
                f"| {r['design']} | {fmt(r['period_ps'] * corner_factor, 0)} | {fmt(r['area_equiv_um2'])} | "
                f"{fmt(r['area_equiv_ratio'], 3)} | {fmt(r['wns_equiv_ps'])} | {fmt(r['orfs_cts_ws'])} | "
                f"{fmt(r.get('gap_equiv_cts_pct'))} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=Path, default=default_designs())
    parser.add_argument("--only", nargs="*", help="design folder names (default: all)")
    parser.add_argument("--label", default="after")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--corner-factor",
        type=float,
        default=1.21,
        help="TT delay over FF delay for the BC designs' second run (0: none; corner_gap.py)",
    )
    args = parser.parse_args(argv)
    if args.designs is None or not args.designs.is_dir():
        raise SystemExit("orfs_reference: no ORFS designs (../shared/orfs/designs or $FLOW_HOME/designs/asap7)")
    folders = sorted(
        p for p in args.designs.iterdir() if (p / "config.mk").is_file() and (p / "rules-base.json").is_file()
    )
    if args.only:
        folders = [p for p in folders if p.name in args.only]
    rows = []
    with tempfile.TemporaryDirectory(prefix="orfs-reference-") as tmp:
        for folder in folders:
            row = run_design(folder, Path(tmp), args.corner_factor)
            print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
            rows.append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / f"orfs_reference_{args.label}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    command = "python -m benchmarks.orfs_reference " + " ".join(argv if argv is not None else sys.argv[1:])
    (args.out / f"orfs_reference_{args.label}.md").write_text(
        markdown(rows, args.label, command.strip(), args.corner_factor)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
