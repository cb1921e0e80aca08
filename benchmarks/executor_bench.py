"""Points per hour of each executor (local, ray, dask) with 1, 2 and 4 workers on
this machine, and the per-point overhead of the cluster executors (submit,
scheduling, node check, shipping the point folder, unpacking) as a share of the
tool time. Every run is a real `edalize-dse run` of the same eight cheap points
(a 2x2 int4 array, four clock targets x two threshold flavours), cache off.

    ASAP7_PLATFORM_DIR=../shared/pdk/asap7 .venv/bin/python -m benchmarks.executor_bench \\
        [--backends local ray dask] [--workers 1 2 4]

The Ray and Dask runs start their own local cluster (a Ray of `workers` CPUs, a
Dask cluster of `workers` worker processes). Prints a Markdown table for
BENCHMARKS.md; the raw rows go to benchmarks/results/executor_bench.json."""

import argparse
import json
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPACE = """
name: executor_bench
parameters:
  meshRows:    {layer: hardware, type: choice, choices: [1], default: 1}
  meshColumns: {layer: hardware, type: choice, choices: [1], default: 1}
  tileRows:    {layer: hardware, type: choice, choices: [2], default: 2}
  tileColumns: {layer: hardware, type: choice, choices: [2], default: 2}
  inputType:   {layer: hardware, type: choice, choices: [4], default: 4}
  accType:     {layer: hardware, type: choice, choices: [16], default: 16}
  spatialArrayOutputType: {layer: hardware, type: choice, choices: [12], default: 12}
  clock_period_ps: {layer: eda, type: choice, choices: [800, 900, 1000, 1100], default: 1000}
  ASAP7_USE_VT: {layer: eda, type: choice, choices: [RVT, LVT], default: RVT}
objectives:
  - {name: area_um2, goal: min}
  - {name: wns_ps, goal: max}
"""
TOOL_STEPS = ("generate_s", "synth_s", "sta_s")


def run_once(backend: str, workers: int, budget: int, tmp: Path) -> dict:
    space = tmp / "space.yml"
    space.write_text(SPACE)
    out = tmp / f"{backend}-{workers}"
    start = time.perf_counter()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "edalize_dse",
            "run",
            "--space",
            str(space),
            "--output",
            str(out),
            "--budget",
            str(budget),
            "--workers",
            str(workers),
            "--strategy",
            "random",
            "--cache-dir",
            "off",
            "--executor",
            backend,
            "--no-progress",
        ],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"{backend} x{workers} failed: {run.stderr.strip().splitlines()[-1]}")
    with sqlite3.connect(out / "dse.sqlite") as db:
        rows = db.execute("SELECT status, timings, started_at, finished_at FROM evaluations").fetchall()
    assert len(rows) == budget and all(r[0] == "ok" for r in rows), rows
    timings = [json.loads(r[1]) for r in rows]
    first = min(datetime.fromisoformat(r[2]) for r in rows)
    last = max(datetime.fromisoformat(r[3]) for r in rows)
    points_s = (last - first).total_seconds()  # first point started .. last point finished
    tool = sum(t.get(k, 0.0) for t in timings for k in TOOL_STEPS)
    overhead = {k: sum(t.get(k, 0.0) for t in timings) for k in ("executor_s", "pack_s", "unpack_s")}
    # A point's overhead once its worker process is up (the first point of each pays its start).
    median_share = statistics.median(t.get("executor_s", 0.0) / sum(t.get(k, 0.0) for k in TOOL_STEPS) for t in timings)
    return dict(
        backend=backend,
        workers=workers,
        points=budget,
        wall_s=wall,
        points_s=points_s,
        points_per_hour=budget / points_s * 3600,
        points_per_hour_wall=budget / wall * 3600,
        tool_s=tool,
        median_share=median_share,
        **overhead,
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", nargs="+", default=["local", "ray", "dask"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--budget", type=int, default=8, help="points per setting (the space has 8)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="executor-bench-") as tmp:
        for backend in args.backends:
            for workers in args.workers:
                row = run_once(backend, workers, args.budget, Path(tmp))
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "executor_bench.json").write_text(json.dumps(dict(machine=platform.platform(), rows=rows), indent=1))
    print(
        "| executor | workers | points/h (loop) | points/h (whole run) | run wall (s) | tool time (s) | "
        "executor overhead (s) | of which pack + unpack (s) | overhead / tool time | median point's share |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        local = r["backend"] == "local"
        share = "— (threads)" if local else f"{100 * r['executor_s'] / r['tool_s']:.2f} %"
        median = "—" if local else f"{100 * r['median_share']:.2f} %"
        print(
            f"| {r['backend']} | {r['workers']} | {r['points_per_hour']:.0f} | {r['points_per_hour_wall']:.0f} | "
            f"{r['wall_s']:.1f} | {r['tool_s']:.1f} | {r['executor_s']:.2f} | "
            f"{r['pack_s'] + r['unpack_s']:.2f} | {share} | {median} |"
        )


if __name__ == "__main__":
    main()
