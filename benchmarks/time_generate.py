"""Wall time of generating the RTL (Jinja templates), the SRAM macro views (liberty +
behavioural model) of one configuration, SRAM model fit included on the first call.

    ASAP7_PLATFORM_DIR=../shared/pdk/asap7 .venv/bin/python -m benchmarks.time_generate [--repeats 5]

Prints a Markdown table (median and max of the repeats after the first) for BENCHMARKS.md."""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from edalize_dse.generators import get_generator, sram

CONFIGS = {
    "gemmini_small default (4x4 BOTH, sp 16 KiB/4, acc 8 KiB/2)": dict(
        meshRows=2, meshColumns=2, tileRows=2, tileColumns=2, sp_capacity=16, sp_banks=4, acc_capacity=8, acc_banks=2
    ),
    "8x8 WS, tile_latency 1": dict(
        meshRows=4,
        meshColumns=4,
        tileRows=2,
        tileColumns=2,
        dataflow="WS",
        sp_capacity=32,
        sp_banks=2,
        acc_capacity=16,
        acc_banks=2,
        tile_latency=1,
    ),
    "Gemmini default (16x16 BOTH, sp 256 KiB/4, acc 64 KiB/2)": {},
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    gen = get_generator("embedded")
    t0 = time.perf_counter()
    sram.platform_model()
    fit_s = time.perf_counter() - t0
    print(f"SRAM model fit (parse 9 fakeram7 files, once per process): {fit_s:.4f} s\n")
    print("| configuration | first (s) | median (s) | max (s) | files |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, hw in CONFIGS.items():
            cfg = gen.resolve(hw)
            assert not gen.violations(cfg)
            times = []
            for r in range(args.repeats + 1):
                start = time.perf_counter()
                design = gen.generate(cfg, Path(tmp) / f"{len(label)}_{r}")
                times.append(time.perf_counter() - start)
            n = len(design.files) + len(design.sim_files) + len(design.macros)
            rest = times[1:]
            print(f"| {label} | {times[0]:.4f} | {statistics.median(rest):.4f} | {max(rest):.4f} | {n} |")


if __name__ == "__main__":
    main()
