"""A fault run (issue 17): one exploration of a small user core driven to its budget
through a series of injected faults, counting how each run ended and whether any
finished point was lost or evaluated twice.

    python benchmarks/fault_run.py [--folder build/fault_run] [--points 10]

Faults: kill -9 of the run mid-synthesis, SIGTERM, Ctrl-C (SIGINT to the process
group), a second run on the same output folder while one runs, a tool process killed
from outside, a corrupted flow-result cache entry, an empty (0-byte) and a garbled
store (on copies of the output), OpenSTA missing from PATH. Each run but kill -9
must end with one `edalize-dse:` line on stderr and no traceback; at the end every
point ever recorded must still be there with the same row (none lost), and no point
may have been evaluated after it was recorded (none duplicated)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

RTL = """module toggle #(parameter W = 2) (input clk, input [W-1:0] d, output reg [W-1:0] q);
  always @(posedge clk) q <= q ^ d;
endmodule
"""


def rows(store: Path) -> dict:
    if not store.is_file() or store.stat().st_size == 0:
        return {}
    db = sqlite3.connect(store)
    try:
        return {r[0]: r for r in db.execute("SELECT point_id, status, finished_at, qor FROM evaluations")}
    finally:
        db.close()


def synth_pids(folder: Path) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"pyosys_main\0synth.ys" in (entry / "cmdline").read_bytes() \
                    and os.readlink(entry / "cwd").startswith(str(folder)):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default="build/fault_run")
    parser.add_argument("--points", type=int, default=10)
    args = parser.parse_args()
    folder = Path(args.folder).resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "toggle.v").write_text(RTL)
    widths = list(range(2, 2 + args.points))
    (folder / "space.yml").write_text(
        "parameters:\n"
        f"  W: {{layer: hardware, type: choice, choices: {widths}, default: 2}}\n"
        "objectives:\n  - {name: area_um2, goal: min}\n  - {name: fmax_mhz, goal: max}\n")
    out, cache = folder / "out", folder / "cache"
    config = folder / "run.json"
    config.write_text(json.dumps({
        "run": {"space": str(folder / "space.yml"), "output": str(out), "budget": args.points},
        "flow": {"generator": "core", "cache_dir": str(cache),
                 "core": {"top": "toggle", "files": [str(folder / "toggle.v")], "parameters": {"W": 2}}},
        "strategy": {"strategy": "random"}, "executor": {"workers": 2}}))
    base = [sys.executable, "-m", "edalize_dse", "run", "--config", str(config), "--no-progress"]
    log = []
    recorded: dict = {}  # every row ever seen: point id -> row

    def observe():
        now = rows(out / "dse.sqlite")
        recorded.update({k: v for k, v in now.items() if k not in recorded})
        return now

    def finish(name, proc, expect_line=True, started=None):
        _, err = proc.communicate(timeout=600)
        lines = [line for line in err.splitlines() if line.strip() and "cache entry" not in line]
        one_line = "Traceback" not in err and len(lines) == 1 and lines[0].startswith("edalize-dse")
        now = observe()
        log.append(dict(fault=name, rc=proc.returncode, one_line=one_line if expect_line else None,
                        line=lines[-1][:160] if lines else "", rows=len(now)))
        print(f"{name:34s} rc={proc.returncode:4d} rows={len(now):3d}  {lines[-1][:110] if lines else ''}",
              flush=True)

    def run_until_synthesis(env=None):
        proc = subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True, env=env)
        deadline = time.monotonic() + 300
        while not synth_pids(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return proc

    # 1. kill -9 mid-synthesis (nothing can print; the store must stay whole).
    proc = run_until_synthesis()
    proc.kill()
    finish("kill -9 mid-synthesis", proc, expect_line=False)
    # 2. SIGTERM mid-synthesis.
    proc = run_until_synthesis()
    os.kill(proc.pid, signal.SIGTERM)
    finish("SIGTERM mid-synthesis", proc)
    # 3. Ctrl-C (SIGINT to the process group) mid-synthesis.
    proc = run_until_synthesis()
    os.killpg(proc.pid, signal.SIGINT)
    finish("Ctrl-C mid-synthesis", proc)
    # 4. A second run while one runs; then stop the first.
    proc = run_until_synthesis()
    second = subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finish("second run on a busy output folder", second)
    os.kill(proc.pid, signal.SIGTERM)
    finish("SIGTERM of the first", proc)
    # 5. A tool process killed from outside (the OOM killer, a user).
    proc = run_until_synthesis()
    for pid in synth_pids(out):
        os.kill(pid, signal.SIGKILL)
    finish("tool killed by SIGKILL", proc)
    # 6. A corrupted cache entry (metrics cut), then a run that finishes some points.
    entries = sorted(cache.glob("*/*/result.json"))
    if entries:
        doc = json.loads(entries[0].read_text())
        doc["metrics"] = {k: v for k, v in doc["metrics"].items() if not k.startswith("power")}
        entries[0].write_text(json.dumps(doc))
    proc = run_until_synthesis()
    time.sleep(3)
    os.kill(proc.pid, signal.SIGTERM)
    finish("corrupted cache entry, then SIGTERM", proc)
    # 7. OpenSTA missing from PATH.
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    finish("sta missing from PATH", subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                     text=True, env=env))
    # 8. Damaged stores, on copies of the output (the real one is never touched).
    for damage in ("empty", "garbled"):
        copy = folder / f"out-{damage}"
        shutil.copytree(out, copy, ignore=shutil.ignore_patterns(".dse.lock"))
        store = copy / "dse.sqlite"
        store.write_bytes(b"" if damage == "empty" else b"garbage!" * 4 + store.read_bytes()[32:])
        before = store.read_bytes()
        damaged = json.loads(config.read_text())
        damaged["run"]["output"] = str(copy)
        (folder / f"run-{damage}.json").write_text(json.dumps(damaged))
        proc = subprocess.Popen([*base[:4], "--config", str(folder / f"run-{damage}.json"), "--no-progress"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        finish(f"{damage} store", proc)
        assert store.read_bytes() == before, "a damaged store was written to"
    # The resumed run to the budget.
    proc = subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=900)
    final = rows(out / "dse.sqlite")
    lost = [k for k, row in recorded.items() if final.get(k) != row]
    # A point evaluated again after being recorded would have a second row (UNIQUE) or a traceback.
    db = sqlite3.connect(out / "dse.sqlite")
    duplicated = db.execute("SELECT COUNT(*) - COUNT(DISTINCT point_id || fidelity) FROM evaluations").fetchone()[0]
    db.close()
    failed = [k for k, row in final.items() if row[1] != "ok"]
    printable = [e for e in log if e["one_line"] is not None]
    summary = dict(faults_injected=len(log), runs_that_could_print=len(printable),
                   ended_with_one_clear_line=sum(e["one_line"] for e in printable),
                   points_lost=len(lost), points_duplicated=duplicated, points_recorded_failed=len(failed),
                   final_rows=len(final), budget=args.points, final_run_rc=proc.returncode,
                   final_run_traceback="Traceback" in err)
    # The run folder is named <folder> in the record: the figures do not depend on where it ran.
    text = json.dumps(dict(summary=summary, runs=log), indent=1).replace(str(folder.resolve()), "<folder>")
    (folder / "fault_run.json").write_text(text.replace(str(folder), "<folder>"))
    print(json.dumps(summary, indent=1))
    ok = (summary["ended_with_one_clear_line"] == len(printable) and not lost and not duplicated and not failed
          and len(final) == args.points and proc.returncode == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
