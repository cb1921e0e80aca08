"""The default 4x4 int8 point at two clock targets through the synth flow: the
figures of BENCHMARKS.md's "One operating point" and "Flip-flop cells" tables.

    python -m benchmarks.operating_point [--flop-cells x1]

Prints, per clock target, standard-cell and sequential area, fmax, power and
leakage (cache off: every number is a tool run). The old power rule's column came
from the same script under a version without --flop-cells (git history)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from edalize_dse.flows import get_flow
from edalize_dse.generators import get_generator

DEFAULT_4X4 = dict(
    meshRows=2,
    meshColumns=2,
    tileRows=2,
    tileColumns=2,
    inputType=8,
    accType=32,
    sp_capacity=16,
    sp_banks=4,
    acc_capacity=8,
    acc_banks=2,
)
FIGURES = ("stdcell_area_um2", "seq_area_um2", "fmax_mhz", "power_mw", "power_leakage_mw", "wns_ps")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flop-cells", help="the synth flow's flop_cells knob (x4, x1)")
    args = ap.parse_args(argv)
    eda = {"flop_cells": args.flop_cells} if args.flop_cells else {}
    gen = get_generator("embedded")
    out = {}
    with tempfile.TemporaryDirectory(prefix="dse-operating-point-") as tmp:
        design = gen.generate(gen.resolve(DEFAULT_4X4), Path(tmp) / "rtl")
        for clock in (500, 1000):
            metrics, _ = get_flow("synth", cache=False).run(
                design, {"clock_period_ps": clock, **eda}, Path(tmp) / f"synth_{clock}"
            )
            out[clock] = {k: round(metrics[k], 4) for k in FIGURES}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
