"""Time to a result when nothing needs a tool: `fusesoc run --target=dse` on an
exploration whose points are all finished (a resumed CI job, a re-run after a
report change). Everything it spends is the product's own overhead.

    python -m benchmarks.startup_time [--runs 5] [--budget 2]

The first run fills the store (its tool time is not counted); each timed run
then resumes it: FuseSoC, the flow's input checks, `python -m edalize_dse run`,
the preflight, the store, the reports. Prints min/median/max wall seconds and
the share of the `edalize_dse run` process alone."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUSESOC = str(Path(sys.executable).with_name("fusesoc"))
WORK = Path("build") / "edalize-dse_accel_gemmini_0.1.0" / "dse"


def fusesoc_run(cwd: Path, budget: int) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            FUSESOC,
            "--cores-root",
            str(ROOT / "cores"),
            "run",
            "--target=dse",
            "edalize-dse:accel:gemmini",
            "--budget",
            str(budget),
            "--seed",
            "1",
        ],
        cwd=cwd,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def dse_run(cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "edalize_dse", "run", "--config", "dse-run.json", "--no-progress"],
        cwd=cwd / WORK,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--budget", type=int, default=2)
    args = ap.parse_args(argv)
    if not os.environ.get("ASAP7_PLATFORM_DIR") and (ROOT.parent / "shared" / "pdk" / "asap7").is_dir():
        os.environ["ASAP7_PLATFORM_DIR"] = str(ROOT.parent / "shared" / "pdk" / "asap7")
    with tempfile.TemporaryDirectory(prefix="dse-startup-") as tmp:
        cwd = Path(tmp)
        os.environ["EDALIZE_DSE_CACHE"] = str(cwd / "cache")
        fusesoc_run(cwd, args.budget)  # fills the store
        whole = [fusesoc_run(cwd, args.budget) for _ in range(args.runs)]
        alone = [dse_run(cwd) for _ in range(args.runs)]
    for name, values in (
        ("fusesoc run (resumed, nothing to evaluate)", whole),
        ("  of which python -m edalize_dse run", alone),
    ):
        print(
            f"{name}: median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f}, "
            f"{len(values)} runs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
