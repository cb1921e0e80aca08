"""Analytical model vs RTL simulation: predicted cycles of every multiply of the
verification matrix (benchmarks/results/sim_cycles.json, written by sim_cycles.py)
against the cycles the simulated controller took. Prints the table for BENCHMARKS.md.

    .venv/bin/python benchmarks/validate_cycles.py
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from edalize_dse.workload.hardware import block_cycles
from edalize_dse.workload.model import ArrayModel, blocks, cost

RESULTS = Path(__file__).resolve().parent / "results" / "sim_cycles.json"


def predicted(record: dict) -> float:
    """One controller command over the whole multiply (as the test bench issues it)."""
    dim = record["dim"]
    hw = ArrayModel(dim=dim, dataflows=(record["mode"],), block_cycles=block_cycles(record), sp_bytes=1e12,
                    acc_bytes=1e12, in_bytes=record["inputType"] / 8, acc_elem_bytes=record["accType"] / 8,
                    clock_mhz=1.0, e_mac_pj=0, e_sp_read_pj=0, e_sp_write_pj=0, e_acc_read_pj=0, e_acc_write_pj=0,
                    leakage_mw=0, dram_bytes_per_cycle=1e12)
    nb = blocks((record["M"], record["K"], record["N"]), dim)
    with torch.no_grad():
        v = cost(hw, nb, torch.tensor([float(x) for x in nb], dtype=torch.float64), "mkn", record["mode"])
    return float(v["compute_cycles"])


def main() -> None:
    records = json.loads(RESULTS.read_text())
    print("| case | DIM | dataflow | mesh x tile | tile_latency, output delay | M, K, N | simulated | predicted | error |")
    print("|---|---:|---|---|---|---|---:|---:|---:|")
    worst = 0.0
    for r in records:
        p = predicted(r)
        err = 100 * (p - r["cycles"]) / r["cycles"]
        worst = max(worst, abs(err))
        print(f"| {r['case']} | {r['dim']} | {r['mode']} | {r['meshRows']}x{r['tileRows']} | "
              f"{r['tile_latency']}, {r['mesh_output_delay']} | {r['M']}, {r['K']}, {r['N']} | {r['cycles']} | "
              f"{p:.0f} | {err:+.2f} % |")
    print(f"\n{len(records)} multiplies, largest error {worst:.2f} %")


if __name__ == "__main__":
    main()
