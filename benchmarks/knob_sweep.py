"""How each EDA knob of the synth flow moves area, fmax and power.

The default 4x4 configuration of cores/spaces/gemmini_small.yml is run once
with the flow's defaults and once per listed knob value (one knob changed at a
time), with the result cache off so every row is a real tool run. Writes a
markdown table (for BENCHMARKS.md) and the raw numbers as JSON.

    ASAP7_PLATFORM_DIR=../shared/pdk/asap7 .venv/bin/python -m benchmarks.knob_sweep
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from edalize_dse.flows import get_flow
from edalize_dse.flows.synth import ORFS_ASAP7_DONT_USE
from edalize_dse.generators import get_generator
from edalize_dse.metrics import derive
from edalize_dse.space import load_space

REPO = Path(__file__).resolve().parents[1]
SPACE = REPO / "cores" / "spaces" / "gemmini_small.yml"

# One knob at a time, away from the flow default.
VARIANTS = [
    ("clock_period_ps", 600),
    ("clock_period_ps", 1500),
    ("ASAP7_USE_VT", "LVT"),
    ("ASAP7_USE_VT", "SLVT"),
    ("ASAP7_USE_VT", "RVT LVT"),
    ("ASAP7_USE_VT", "RVT SLVT"),
    ("abc_script", "balanced"),
    ("abc_script", "area"),
    ("booth", 1),
    ("SYNTH_HIERARCHICAL", 1),
    ("retime", 1),
    ("DONT_USE_CELLS", "SDF* ICG*"),
    ("DONT_USE_CELLS", ORFS_ASAP7_DONT_USE + " *x1_ASAP7*"),
    ("max_fanout", 4),
    ("max_fanout", 16),
    ("io_delay_pct", 20),
    ("io_delay_pct", 60),
]
COLUMNS = ("area_um2", "seq_area_um2", "cell_count", "fmax_mhz", "wns_ps", "power_mw", "power_leakage_mw")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "knob_sweep.json"))
    args = parser.parse_args()
    space = load_space(SPACE)
    hw, _ = space.split(space.default_point())
    generator = get_generator("embedded")
    flow = get_flow("synth", cache=False)
    flow.preflight()
    rows = []
    with tempfile.TemporaryDirectory(prefix="knob-sweep-") as tmp:
        design = generator.generate(generator.resolve(hw), Path(tmp) / "rtl")
        for i, (knob, value) in enumerate([(None, None)] + VARIANTS):
            eda = {} if knob is None else {knob: value}
            start = time.perf_counter()
            metrics, timings = flow.run(design, eda, Path(tmp) / f"run{i}" / "synth")
            wall = time.perf_counter() - start
            metrics = derive(metrics, design.info)
            rows.append(dict(knob=knob or "(defaults)", value=value, metrics=metrics, timings=timings, wall_s=wall))
            print(f"{knob}={value!r}: " + ", ".join(f"{c}={metrics[c]:.4g}" for c in COLUMNS), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(dict(hardware=hw, tools=flow.tool_versions, rows=rows), indent=1))
    base = rows[0]["metrics"]
    print("\n| knob | value | area um2 | Δ area | fmax MHz | Δ fmax | power mW | Δ power | leakage uW | cells |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        m = r["metrics"]

        def delta(key):
            return "" if r is rows[0] else f"{100 * (m[key] / base[key] - 1):+.1f} %"

        print(
            f"| {r['knob']} | {'' if r['value'] is None else r['value']} | {m['area_um2']:.1f} | {delta('area_um2')} | "
            f"{m['fmax_mhz']:.0f} | {delta('fmax_mhz')} | {m['power_mw']:.3f} | {delta('power_mw')} | "
            f"{1e3 * m['power_leakage_mw']:.2f} | {m['cell_count']} |"
        )


if __name__ == "__main__":
    main()
