"""Runs the generator's verification matrix (``gemmini_sim.verification_cases``) in Icarus
Verilog, checks each result bit-exactly against the numpy reference, and writes the
cycle count of every multiply to benchmarks/results/sim_cycles.json (the data the
performance model is validated against).

    ASAP7_PLATFORM_DIR=../shared/pdk/asap7 .venv/bin/python -m benchmarks.sim_cycles [--out FILE]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from edalize_dse.generators.embedded import command_cycles
from edalize_dse.generators.gemmini_sim import cycle_record, run_case, verification_cases

OUT = Path(__file__).resolve().parent / "results" / "sim_cycles.json"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    records, start = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for case in verification_cases():
            res, expected = run_case(case, Path(tmp) / case.name)
            if not np.array_equal(res.c, expected):
                raise SystemExit(f"{case.name}: simulation differs from the reference")
            m, k, n = case.shape
            rec = cycle_record(case, res)
            rec["model_cycles"] = command_cycles(
                case.config, m // case.dim, k // case.dim, n // case.dim, rec["mode"] == "WS"
            )
            rec["macs_per_cycle"] = round(m * k * n / res.cycles, 3)
            records.append(rec)
            print(f"{case.name:32s} M,K,N={m},{k},{n}  cycles={res.cycles}  MACs/cycle={rec['macs_per_cycle']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(records, indent=1) + "\n")
    print(f"{len(records)} cases, all bit-exact, {time.perf_counter() - start:.1f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
