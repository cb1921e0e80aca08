"""Build the tabulated benchmark: every valid point of a space through the synth
flow, with the product's own loop (strategy ``grid``, results in the run's SQLite
store), then the table as one compressed CSV.

    nice python benchmarks/build_table.py            # builds or resumes, then writes the table

Resumable: each finished point is committed to the store the moment it ends, so
the command can be killed at any time; run it again and it continues with the
points not yet finished (a point that was running when it was killed starts
over; none that finished runs again). The result cache is off, so every row's
flow wall time is a real tool run. ``--export-only`` rewrites the table from the
store without running anything (e.g. of a partial build).

Table columns: the space's parameters, ``status`` (ok / failed), ``error`` (a failed
point's reason), every metric the flow and generator report (units in the
names), ``flow_wall_s`` (generate + synthesis + STA seconds of that point) and
each step's seconds, the tool versions, and when the point finished. Rows
follow the space's enumeration order. Beside it, ``<name>.provenance.json``: the
space's hash, the tool versions, the machine, the dates and the flow time."""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import sys
from pathlib import Path

from edalize_dse.strategies.grid import MAX_BOX_POINTS  # the spaces grid (and so the table) can list

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

DEFAULT_SPACE = ROOT / "cores" / "spaces" / "gemmini_table.yml"
DEFAULT_WORK = ROOT / "build" / "table"
DEFAULT_TABLE = HERE / "tables" / "gemmini_table.csv.gz"
STEPS = ("generate_s", "synth_s", "sta_s")


def table_config(space_path, work, workers: int, tool_timeout: float | None):
    from edalize_dse.explore import RunConfig
    from edalize_dse.space import load_space

    total = len(load_space(space_path).enumerate_valid(limit=MAX_BOX_POINTS))
    # grid learns nothing from results: the asynchronous loop (round_size 0) keeps every worker busy.
    return RunConfig(space=str(space_path), output=str(work), budget=total, strategy="grid", workers=workers,
                     cache_dir="off", tool_timeout=tool_timeout, round_size=0)


def build(space_path, work, workers: int, tool_timeout: float | None, progress: bool = True) -> None:
    """Evaluate every valid point not yet in the store at ``work``."""
    from edalize_dse.explore import explore

    explore(table_config(space_path, work, workers, tool_timeout), progress=progress)


def import_rows(space_path, work, table: Path, workers: int, tool_timeout: float | None) -> int:
    """Start the store at ``work`` from the rows of an earlier, partial export of the same
    build (a build carried across machines: the table's rows are its state). Refused
    unless the export's run identity equals this build's (same space, flow, platform,
    tools). Returns the number of rows imported."""
    from edalize_dse.errors import DseError
    from edalize_dse.explore import open_store, prepare
    from edalize_dse.identity import changes, run_identity
    from edalize_dse.space import load_space
    from edalize_dse.store import STORE_NAME, Evaluation

    if (Path(work) / STORE_NAME).exists():
        raise DseError(f"{work} already holds a store: resume it (no --import), or give another --work")
    note = json.loads(provenance_path(table).read_text())
    config = table_config(space_path, work, workers, tool_timeout)
    identity = run_identity(config, prepare(config))
    differ = changes(note.get("run_identity") or {}, identity)
    if differ:
        raise DseError(f"{table} was built by a different flow (changed: {'; '.join(differ)}): its rows are "
                       "not this build's; build afresh")
    space = load_space(space_path)
    by_text = {tuple(str(p[n]) for n in space.names): p for p in space.enumerate_valid(limit=MAX_BOX_POINTS)}
    with gzip.open(table, "rt", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    metrics = [c for c in rows[0] if c not in (*space.names, "status", "error", "flow_wall_s", *STEPS,
                                                "finished_at") and not c.startswith("version_")] if rows else []
    Path(work).mkdir(parents=True, exist_ok=True)
    store = open_store(Path(work), identity, restart=False)
    try:
        for row in rows:
            point = by_text[tuple(row[n] for n in space.names)]
            store.add(Evaluation(
                point_id=space.point_id(point), params=point, status=row["status"], error=row["error"] or None,
                qor={m: float(row[m]) for m in metrics if row[m] != ""},
                tool_versions={c[len("version_"):]: v for c, v in row.items() if c.startswith("version_") and v},
                timings={s: float(row[s]) for s in STEPS if row[s] != ""}, strategy="grid (imported)",
                started_at=row["finished_at"], finished_at=row["finished_at"]))
    finally:
        store.close()
    return len(rows)


def stored(work):
    from edalize_dse.store import STORE_NAME, Store

    store = Store(Path(work) / STORE_NAME)
    try:
        return store.evaluations(fidelity="synth")
    finally:
        store.close()


def write_table(space_path, evaluations, table: Path) -> dict:
    """The table of ``evaluations`` in the space's enumeration order; returns counts."""
    from edalize_dse.space import load_space

    space = load_space(space_path)
    by_key = {space.canonical(e.params): e for e in evaluations}
    points = space.enumerate_valid(limit=MAX_BOX_POINTS)
    metrics = sorted({m for e in evaluations for m in e.qor})
    tools = sorted({t for e in evaluations for t in e.tool_versions})
    header = [*space.names, "status", "error", *metrics, "flow_wall_s", *STEPS,
              *(f"version_{t}" for t in tools), "finished_at"]
    counts = {"points": len(points), "ok": 0, "failed": 0, "missing": 0}
    table.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same results give the same bytes (a re-export changes nothing in git).
    with open(table, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
        with io.TextIOWrapper(gz, encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            for point in points:
                ev = by_key.get(space.canonical(point))
                if ev is None:
                    counts["missing"] += 1
                    continue
                counts[ev.status] += 1
                steps = [ev.timings.get(s) for s in STEPS]
                wall = sum(s for s in steps if s is not None)
                w.writerow([*(point[n] for n in space.names), ev.status, (ev.error or "").replace("\n", " "),
                            *(fmt(ev.qor.get(m)) for m in metrics), fmt(wall), *(fmt(s) for s in steps),
                            *(ev.tool_versions.get(t, "") for t in tools), ev.finished_at])
    return counts


def provenance_path(table) -> Path:
    return Path(table).with_name(Path(table).name.split(".")[0] + ".provenance.json")


def provenance(space_path, work, evaluations, counts) -> dict:
    """Where the table came from: the space, the tools, the machine, and what it cost."""
    import hashlib
    import platform

    from edalize_dse.explore import RunConfig
    from edalize_dse.space import load_space
    from edalize_dse.store import STORE_NAME, Store

    run_json = Path(work) / "run.json"
    record = vars(RunConfig.from_json(run_json)) if run_json.is_file() else {}
    flow_s = sum(sum(e.timings.get(s, 0.0) for s in STEPS) for e in evaluations)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {
        "space": Path(space_path).name,
        "space_name": load_space(space_path).name,
        "space_sha256": hashlib.sha256(Path(space_path).read_bytes()).hexdigest(),
        "command": "python benchmarks/build_table.py (make table)",
        "flow": "synth: pyosys synthesis + OpenSTA timing on ASAP7 (TT corner), power at the achieved clock "
                "(target - WNS), result cache off",
        "activity": record.get("activity"),
        "workers": record.get("workers"),
        "tool_versions": [json.loads(t) for t in sorted({json.dumps(e.tool_versions, sort_keys=True)
                                                         for e in evaluations})],
        "machine": f"{cpu}, {os.cpu_count()} cores" if cpu else f"{os.cpu_count()} cores",
        "first_started": min((e.started_at for e in evaluations), default=None),
        "last_finished": max((e.finished_at for e in evaluations), default=None),
        "flow_wall_h": round(flow_s / 3600, 3),  # the tools' own time, summed over points
        **counts,
        # What every row depends on (edalize_dse.identity): a partial table resumes only into the same build.
        "run_identity": store_identity(Path(work) / STORE_NAME, Store),
    }


def store_identity(path: Path, store_class):
    if not path.is_file():
        return None
    store = store_class(path)
    try:
        return store.recorded_identity()
    finally:
        store.close()


def fmt(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default=str(DEFAULT_SPACE))
    ap.add_argument("--work", default=str(DEFAULT_WORK), help="the run's output folder (store, per-point files)")
    ap.add_argument("--table", default=str(DEFAULT_TABLE), help="the compressed CSV written at the end")
    ap.add_argument("--workers", type=int, default=2, help="points synthesised at once")
    ap.add_argument("--tool-timeout", type=float, default=900.0, help="seconds per tool run before it fails")
    ap.add_argument("--export-only", action="store_true", help="write the table from the store, run nothing")
    ap.add_argument("--import", dest="import_table", metavar="TABLE",
                    help="start a new store from a partial export of this build (e.g. committed by an earlier "
                         "session on another machine), then continue it")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)

    if args.import_table:
        count = import_rows(args.space, args.work, Path(args.import_table), args.workers, args.tool_timeout)
        print(f"{args.work}: {count} finished rows imported from {args.import_table}")
    if not args.export_only:
        build(args.space, args.work, args.workers, args.tool_timeout, progress=not args.no_progress)
    evaluations = stored(args.work)
    counts = write_table(args.space, evaluations, Path(args.table))
    record = provenance(args.space, args.work, evaluations, counts)
    note = provenance_path(args.table)
    note.write_text(json.dumps(record, indent=2) + "\n")
    print(f"{args.table}: {counts['ok']} ok, {counts['failed']} failed, {counts['missing']} not yet run "
          f"of {counts['points']} points")
    return 0 if counts["missing"] == 0 else 1


if __name__ == "__main__":
    from edalize_dse.errors import DseError

    try:
        sys.exit(main())
    except DseError as exc:
        print(f"build_table: error: {exc}", file=sys.stderr)
        sys.exit(2)
