"""ResNet-50 (or another workload) on the default configuration of
cores/spaces/gemmini_small.yml: the point is synthesized (synth flow, result cache
on), the analytical model takes that point's own fmax, standard-cell power and
SRAM macro energies, and every layer is mapped by gradient search. Prints the
per-layer breakdown, the totals and the wall time of the mapping search.

    ASAP7_PLATFORM_DIR=../shared/pdk/asap7 .venv/bin/python -m benchmarks.workload_resnet50 [--workload resnet50]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from edalize_dse.flows import get_flow
from edalize_dse.generators import get_generator
from edalize_dse.metrics import derive
from edalize_dse.space import load_space
from edalize_dse.workload.hardware import array_model
from edalize_dse.workload.layers import load_workload
from edalize_dse.workload.mapping import gradient_search

SPACE = Path(__file__).resolve().parents[1] / "cores" / "spaces" / "gemmini_small.yml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="resnet50")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    space = load_space(SPACE)
    point = space.default_point()
    hw_params, eda = space.split(point)
    generator = get_generator("embedded")
    config = generator.resolve(hw_params)
    flow = get_flow("synth")
    flow.preflight()
    with tempfile.TemporaryDirectory() as tmp:
        design = generator.generate(config, Path(tmp) / "rtl")
        metrics, _ = flow.run(design, eda, Path(tmp) / "synth")
        qor = derive(metrics, design.info)
        hw = array_model(config, qor, design.info, design.macros, float(eda.get("clock_period_ps", 1000)))
    workload = load_workload(args.workload)
    start = time.perf_counter()
    mappings = gradient_search(hw, [layer.gemm() for layer in workload.layers], objective="edp")
    search_s = time.perf_counter() - start
    print(f"Point: {point}")
    print(
        f"Model inputs: DIM {hw.dim}, dataflows {hw.dataflows}, block cycles {hw.block_cycles}, "
        f"fmax {hw.clock_mhz:.1f} MHz, E_MAC {hw.e_mac_pj:.4f} pJ, scratchpad row r/w {hw.e_sp_read_pj:.3f}/"
        f"{hw.e_sp_write_pj:.3f} pJ, accumulator row r/w {hw.e_acc_read_pj:.3f}/{hw.e_acc_write_pj:.3f} pJ, "
        f"leakage {hw.leakage_mw:.4f} mW, DRAM {hw.dram_bytes_per_cycle:g} B/cycle at "
        f"{hw.e_dram_pj_per_byte:g} pJ/B"
    )
    print(f"Mapping search (gradient, {len(workload.layers)} layer shapes, {args.threads} threads): {search_s:.2f} s\n")
    print("| layer | count | M, K, N | tiles (blocks) | order | dataflow | bound | latency ms | energy uJ |")
    print("|---|---:|---|---|---|---|---|---:|---:|")
    total_ms = total_uj = 0.0
    for layer, m in zip(workload.layers, mappings):
        ms = m.cycles * layer.count / (hw.clock_mhz * 1e3)
        uj = m.energy_pj * layer.count * 1e-6
        total_ms += ms
        total_uj += uj
        print(
            f"| {layer.name} | {layer.count} | {', '.join(map(str, layer.gemm()))} | "
            f"{'x'.join(map(str, m.tiles))} | {m.order} | {m.dataflow} | {m.bound} | {ms:.3f} | {uj:.2f} |"
        )
    print(f"| **total** | | {workload.macs / 1e9:.3f} GMAC | | | | | **{total_ms:.2f}** | **{total_uj:.1f}** |")
    print(f"\nlatency {total_ms:.2f} ms, energy {total_uj / 1e3:.4f} mJ per inference")


if __name__ == "__main__":
    main()
