"""A fault run: one exploration of a small user core driven to its budget through a
series of injected faults, counting how each run ended and whether any finished point
was lost, evaluated twice or recorded as a design failure.

    python -m benchmarks.fault_run [--folder build/fault_run] [--points 10]

A first run records rows (``--seed-points``, default 3) before any fault, so every
fault meets a store with rows in it. Faults: kill -9 of the run mid-synthesis,
SIGTERM, Ctrl-C (SIGINT to the process group), Ctrl-C followed at once by SIGTERM, a
second run on the same output folder while one runs, a tool process killed from
outside, a corrupted flow-result cache entry, OpenSTA missing from PATH, a damaged
platform (a truncated liberty file), an empty (0-byte) and a garbled store (on copies
of the output); then through FuseSoC (its own output folder, also with rows first):
Ctrl-C to FuseSoC's process group, and SIGTERM to FuseSoC alone. Each run but kill -9
must end with one `edalize-dse:` line on stderr and no traceback, and no process may
outlive it; at the end every point ever recorded must still be there with the same
row (none lost), and no point may have been evaluated after it was recorded (none
duplicated)."""

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
            if (
                entry.name.isdigit()
                and b"pyosys_main\0synth.ys" in (entry / "cmdline").read_bytes()
                and os.readlink(entry / "cwd").startswith(str(folder))
            ):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def fusesoc_target(folder: Path, output: Path, cache: Path, budget: int) -> list[str]:
    """A FuseSoC core of the same RTL and space; the command that runs its dse target."""
    core = folder / "core"
    core.mkdir(exist_ok=True)
    (core / "toggle.v").write_text(RTL)
    shutil.copyfile(folder / "space.yml", core / "space.yml")
    (core / "toggle.core").write_text(f"""CAPI=2:
name: bench:fault:toggle:0.1.0
filesets:
  rtl: {{files: [toggle.v], file_type: verilogSource}}
  space: {{files: [space.yml: {{file_type: dseSpace}}]}}
parameters:
  W: {{datatype: int, default: 2, paramtype: vlogparam}}
targets:
  dse:
    filesets: [rtl, space]
    flow: dse
    toplevel: toggle
    parameters: [W]
    flow_options: {{generator: core, budget: {budget}, workers: 2, strategy: random, cache_dir: '{cache}',
                    output: '{output}'}}
""")
    fusesoc = str(Path(sys.executable).with_name("fusesoc"))
    return [fusesoc, "--cores-root", str(core), "run", "--target=dse", "bench:fault:toggle"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default="build/fault_run")
    parser.add_argument("--points", type=int, default=10)
    parser.add_argument("--seed-points", type=int, default=3, help="points recorded before the first fault")
    args = parser.parse_args()
    folder = Path(args.folder).resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "toggle.v").write_text(RTL)
    widths = list(range(2, 2 + args.points))
    (folder / "space.yml").write_text(
        "parameters:\n"
        f"  W: {{layer: hardware, type: choice, choices: {widths}, default: 2}}\n"
        "objectives:\n  - {name: area_um2, goal: min}\n  - {name: fmax_mhz, goal: max}\n"
    )
    out, cache = folder / "out", folder / "cache"
    config = folder / "run.json"
    config.write_text(
        json.dumps(
            {
                "run": {"space": str(folder / "space.yml"), "output": str(out), "budget": args.points},
                "flow": {
                    "generator": "core",
                    "cache_dir": str(cache),
                    "core": {"top": "toggle", "files": [str(folder / "toggle.v")], "parameters": {"W": 2}},
                },
                "strategy": {"strategy": "random"},
                "executor": {"workers": 2},
            }
        )
    )
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
        log.append(
            dict(
                fault=name,
                rc=proc.returncode,
                one_line=one_line if expect_line else None,
                line=lines[-1][:160] if lines else "",
                rows=len(now),
            )
        )
        print(f"{name:34s} rc={proc.returncode:4d} rows={len(now):3d}  {lines[-1][:110] if lines else ''}", flush=True)

    def run_until_synthesis(env=None):
        proc = subprocess.Popen(
            base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, env=env
        )
        deadline = time.monotonic() + 300
        while not synth_pids(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return proc

    # 0. Rows first: every fault below meets a store that holds results.
    seeded = subprocess.run([*base, "--budget", str(args.seed_points)], capture_output=True, text=True, timeout=900)
    observe()
    print(f"{'rows before any fault':34s} rc={seeded.returncode:4d} rows={len(recorded):3d}", flush=True)
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
    # 3b. Ctrl-C, then at once a SIGTERM (what make forwards): the first signal decides.
    proc = run_until_synthesis()
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGTERM)
    finish("Ctrl-C then SIGTERM", proc)
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
    finish(
        "sta missing from PATH",
        subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env),
    )
    # 7b. A damaged platform: one liberty file cut in half (a copy of the platform of links).
    source = Path(os.environ.get("ASAP7_PLATFORM_DIR") or Path(os.environ["FLOW_HOME"]) / "platforms" / "asap7")
    damaged_platform = folder / "platform"
    (damaged_platform / "lib" / "NLDM").mkdir(parents=True)
    for child in source.iterdir():
        if child.name != "lib":
            (damaged_platform / child.name).symlink_to(child)
    for lib in (source / "lib" / "NLDM").iterdir():
        target = damaged_platform / "lib" / "NLDM" / lib.name
        if "SEQ_RVT" in lib.name:
            target.write_bytes(lib.read_bytes()[: lib.stat().st_size // 2])
        else:
            target.symlink_to(lib)
    env = {**os.environ, "ASAP7_PLATFORM_DIR": str(damaged_platform), "EDALIZE_DSE_CACHE": str(folder / "derived")}
    finish(
        "damaged platform (truncated .lib.gz)",
        subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env),
    )
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
        proc = subprocess.Popen(
            [*base[:4], "--config", str(folder / f"run-{damage}.json"), "--no-progress"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        finish(f"{damage} store", proc)
        assert store.read_bytes() == before, "a damaged store was written to"
    # 9. Through FuseSoC, in its own output folder (rows first, then the two stops).
    fs_out = folder / "fs-out"
    fs_base = fusesoc_target(folder, fs_out, cache, args.points)
    seeded = subprocess.run(
        [*fs_base, "--budget", str(args.seed_points)], capture_output=True, text=True, timeout=900, cwd=folder
    )
    fs_recorded = dict(rows(fs_out / "dse.sqlite"))
    print(f"{'FuseSoC: rows before any fault':34s} rc={seeded.returncode:4d} rows={len(fs_recorded):3d}", flush=True)
    for name, stop in (
        ("FuseSoC: Ctrl-C to its group", lambda p: os.killpg(p.pid, signal.SIGINT)),
        ("FuseSoC: SIGTERM to FuseSoC alone", lambda p: os.kill(p.pid, signal.SIGTERM)),
    ):
        proc = subprocess.Popen(
            fs_base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=folder, start_new_session=True
        )
        deadline = time.monotonic() + 300
        while not synth_pids(fs_out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        stop(proc)
        _, err = proc.communicate(timeout=600)
        lines = [line for line in err.splitlines() if line.startswith("edalize-dse")]
        deadline = time.monotonic() + 20
        while synth_pids(fs_out) and time.monotonic() < deadline:
            time.sleep(0.1)
        orphans = len(synth_pids(fs_out))
        now = rows(fs_out / "dse.sqlite")
        fs_recorded.update({k: v for k, v in now.items() if k not in fs_recorded})
        one = "Traceback" not in err and len(lines) == 1 and not orphans
        log.append(
            dict(
                fault=name,
                rc=proc.returncode,
                one_line=one,
                line=lines[-1][:160] if lines else "",
                rows=len(now),
                orphans=orphans,
            )
        )
        print(
            f"{name:34s} rc={proc.returncode:4d} rows={len(now):3d}  {lines[-1][:110] if lines else ''}"
            f"{'  ORPHANS' if orphans else ''}",
            flush=True,
        )
    fs_final_run = subprocess.run(fs_base, capture_output=True, text=True, timeout=900, cwd=folder)
    fs_final = rows(fs_out / "dse.sqlite")
    fs_lost = [k for k, row in fs_recorded.items() if fs_final.get(k) != row]
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
    summary = dict(
        faults_injected=len(log),
        runs_that_could_print=len(printable),
        ended_with_one_clear_line=sum(e["one_line"] for e in printable),
        points_lost=len(lost) + len(fs_lost),
        points_duplicated=duplicated,
        points_recorded_failed=len(failed) + sum(row[1] != "ok" for row in fs_final.values()),
        final_rows=len(final),
        fusesoc_final_rows=len(fs_final),
        budget=args.points,
        final_run_rc=proc.returncode,
        fusesoc_final_run_rc=fs_final_run.returncode,
        final_run_traceback="Traceback" in err,
    )
    # The run folder is named <folder> in the record: the figures do not depend on where it ran.
    text = json.dumps(dict(summary=summary, runs=log), indent=1).replace(str(folder.resolve()), "<folder>")
    (folder / "fault_run.json").write_text(text.replace(str(folder), "<folder>"))
    print(json.dumps(summary, indent=1))
    ok = (
        summary["ended_with_one_clear_line"] == len(printable)
        and not summary["points_lost"]
        and not duplicated
        and not summary["points_recorded_failed"]
        and len(final) == len(fs_final) == args.points
        and proc.returncode == fs_final_run.returncode == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
