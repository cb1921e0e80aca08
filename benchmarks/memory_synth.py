"""Area, leakage and power of the generator's memories through the real synth flow:
the default point of cores/spaces/gemmini_small.yml and variations of its scratchpad
and accumulator (capacity, banks), plus the largest array of the space.

    ASAP7_PLATFORM_DIR=../shared/pdk/asap7 .venv/bin/python -m benchmarks.memory_synth

Prints a Markdown table for BENCHMARKS.md."""

import tempfile
from pathlib import Path

from edalize_dse.flows import get_flow
from edalize_dse.generators import get_generator
from edalize_dse.metrics import derive
from edalize_dse.space import load_space

SPACE = Path(__file__).resolve().parents[1] / "cores" / "spaces" / "gemmini_small.yml"
VARIANTS = {
    "default (4x4 BOTH, sp 16 KiB/4, acc 8 KiB/2)": {},
    "sp_capacity 32": {"sp_capacity": 32},
    "sp_banks 1": {"sp_banks": 1},
    "sp_banks 2": {"sp_banks": 2},
    "acc_capacity 16": {"acc_capacity": 16},
    "acc_banks 4": {"acc_banks": 4},
    "dataflow OS": {"dataflow": "OS"},
    "dataflow WS": {"dataflow": "WS"},
    "8x8 BOTH (2x2 mesh of 4x4 tiles)": {"tileRows": 4, "tileColumns": 4},
    "8x8 BOTH (8x8 mesh of 1x1 tiles)": {"meshRows": 8, "meshColumns": 8, "tileRows": 1, "tileColumns": 1},
}


def main():
    space = load_space(SPACE)
    hw, eda = space.split(space.default_point())
    gen = get_generator("embedded")
    flow = get_flow("synth", cache=False)
    print(
        "| variant | macros | macro area (um²) | std-cell area (um²) | total area (um²) | leakage (mW) "
        "| macro power (mW) | total power (mW) | fmax (MHz) | synth (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, change) in enumerate(VARIANTS.items()):
            cfg = gen.resolve({**hw, **change})
            design = gen.generate(cfg, Path(tmp) / f"v{i}" / "rtl")
            metrics, times = flow.run(design, eda, Path(tmp) / f"v{i}" / "synth")
            q = derive(metrics, design.info)
            print(
                f"| {label} | {q['macro_count']} | {q['macro_area_um2']:.1f} | {q['stdcell_area_um2']:.1f} "
                f"| {q['area_um2']:.1f} | {q['power_leakage_mw']:.4f} | {q['power_macro_mw']:.3f} "
                f"| {q['power_mw']:.3f} | {q['fmax_mhz']:.1f} | {times['synth_s']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
