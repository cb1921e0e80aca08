"""Workload QoR on the live flow: latency and energy per ResNet-50 inference as
objectives, through FuseSoC, with each point's own synthesis results in the model."""

import csv
import subprocess
import sys
from pathlib import Path

from conftest import CORES

FUSESOC = str(Path(sys.executable).with_name("fusesoc"))


def test_resnet50_objectives_through_fusesoc(tmp_path, platform_dir, tools):
    run = subprocess.run(
        [
            FUSESOC,
            "--cores-root",
            str(CORES),
            "run",
            "--target=dse",
            "edalize-dse:accel:gemmini",
            "--budget",
            "6",
            "--strategy",
            "random",
            "--seed",
            "3",
            "--workload",
            "resnet50",
            "--objectives",
            "latency_ms,energy_mj,area_um2",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=3000,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = tmp_path / "build" / "edalize-dse_accel_gemmini_0.1.0" / "dse" / "results"
    with open(results / "evaluations.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6 and all(r["status"] == "ok" for r in rows), [r["error"] for r in rows]
    for r in rows:
        latency, energy = float(r["latency_ms"]), float(r["energy_mj"])
        # 4.1 GMAC on arrays of 16 to 64 PEs below 1.5 GHz: tens of ms at the very least.
        assert 10 < latency < 100_000 and 0 < energy < 10_000
        assert float(r["time_workload_s"]) > 0
    assert "latency_ms (min), energy_mj (min), area_um2 (min)" in run.stdout
    with open(results / "pareto.csv") as fh:
        assert len(list(csv.DictReader(fh))) >= 1
