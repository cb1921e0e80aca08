"""Analytical model vs RTL simulation: predicted cycles of every multiply of the
verification matrix (benchmarks/results/sim_cycles.json, written by sim_cycles.py)
and of a sweep of further matrix shapes simulated here (Icarus, each result checked
bit-exactly against the numpy reference), against the cycles the simulated
controller took. Prints the table for BENCHMARKS.md and writes
benchmarks/results/model_validation.json.

    ASAP7_PLATFORM_DIR=../shared/pdk/asap7 .venv/bin/python -m benchmarks.validate_cycles
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from edalize_dse.workload.hardware import block_cycles
from edalize_dse.workload.model import ArrayModel, blocks, cost

RESULTS = Path(__file__).resolve().parent / "results" / "sim_cycles.json"
OUT = Path(__file__).resolve().parent / "results" / "model_validation.json"
# Shapes beyond the verification matrix: thin, wide, deep and square (multiples of DIM: software pads).
SWEEP = (
    (4, 4, 4),
    (4, 16, 8),
    (12, 8, 4),
    (16, 4, 16),
    (8, 20, 12),
    (20, 8, 8),
    (4, 32, 4),
    (24, 12, 8),
    (16, 16, 4),
    (8, 8, 28),
    (12, 12, 12),
    (28, 4, 12),
)


def sweep_records() -> list[dict]:
    from edalize_dse.generators.gemmini_sim import Case, _config, cycle_record, run_case

    widths = dict(inputType=8, spatialArrayOutputType=20, accType=32, sp_capacity=4, acc_capacity=4)
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for m, k, n in SWEEP:
            for ws in (False, True):
                case = Case(
                    f"sweep_{'ws' if ws else 'os'}_{m}x{k}x{n}",
                    _config(2, 2, "BOTH", widths, sp_banks=2, acc_banks=2),
                    (m, k, n),
                    ws=ws,
                )
                res, expected = run_case(case, Path(tmp) / case.name)
                if not np.array_equal(res.c, expected):
                    raise SystemExit(f"{case.name}: simulated result differs from the reference")
                records.append(cycle_record(case, res))
    return records


def predicted(record: dict) -> float:
    """One controller command over the whole multiply (as the test bench issues it)."""
    dim = record["dim"]
    hw = ArrayModel(
        dim=dim,
        dataflows=(record["mode"],),
        block_cycles=block_cycles(record),
        sp_bytes=1e12,
        acc_bytes=1e12,
        in_bytes=record["inputType"] / 8,
        acc_elem_bytes=record["accType"] / 8,
        clock_mhz=1.0,
        e_mac_pj=0,
        e_sp_read_pj=0,
        e_sp_write_pj=0,
        e_acc_read_pj=0,
        e_acc_write_pj=0,
        leakage_mw=0,
        dram_bytes_per_cycle=1e12,
    )
    nb = blocks((record["M"], record["K"], record["N"]), dim)
    with torch.no_grad():
        v = cost(hw, nb, torch.tensor([float(x) for x in nb], dtype=torch.float64), "mkn", record["mode"])
    return float(v["compute_cycles"])


def main() -> None:
    records = json.loads(RESULTS.read_text()) + sweep_records()
    print(
        "| case | DIM | dataflow | mesh x tile | tile_latency, output delay | M, K, N | simulated | predicted | error |"
    )
    print("|---|---:|---|---|---|---|---:|---:|---:|")
    worst = 0.0
    for r in records:
        p = predicted(r)
        err = 100 * (p - r["cycles"]) / r["cycles"]
        worst = max(worst, abs(err))
        print(
            f"| {r['case']} | {r['dim']} | {r['mode']} | {r['meshRows']}x{r['tileRows']} | "
            f"{r['tile_latency']}, {r['mesh_output_delay']} | {r['M']}, {r['K']}, {r['N']} | {r['cycles']} | "
            f"{p:.0f} | {err:+.2f} % |"
        )
    shapes = {(r["M"], r["K"], r["N"]) for r in records}
    print(f"\n{len(records)} multiplies of {len(shapes)} shapes, largest error {worst:.2f} %")
    OUT.write_text(json.dumps([dict(r, predicted=predicted(r)) for r in records], indent=1))


if __name__ == "__main__":
    main()
