"""Build the tabulated benchmark: every valid point of a space through the synth
flow, with the product's own loop (strategy ``grid``, results in the run's SQLite
store), then the table as one compressed CSV.

    nice python -m benchmarks.build_table            # builds or resumes, then writes the table
    nice python -m benchmarks.build_table --space cores/spaces/gemmini_table2.yml --sample 2000 \
        --sample-seed 0 --work benchmarks/state/table2 --table benchmarks/tables/gemmini_table2.csv.gz   # make table2

Sampled mode (``--sample N``, for a space too large to list): N distinct valid
points are drawn once, uniformly over the valid points (rejection sampling of
the box, ``Space.sample``, seeded by ``--sample-seed``), written to
``<work>/sample.json`` and replayed in that order by strategy ``grid`` with its
``points`` option; a rerun reuses the file (and refuses one drawn with another
seed, size or space), so the build resumes exactly as the enumerated one does.

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
DEFAULT_WORK = ROOT / "benchmarks" / "state" / "table"
DEFAULT_TABLE = HERE / "tables" / "gemmini_table.csv.gz"
STEPS = ("generate_s", "synth_s", "sta_s")


SAMPLE_FILE = "sample.json"


def sample_path(work) -> Path:
    return Path(work) / SAMPLE_FILE


def draw_sample(space, size: int, seed: int) -> list[dict]:
    """``size`` distinct valid points, uniform over the valid points, in the order drawn
    (the same seed and space give the same list)."""
    import numpy as np

    from edalize_dse.errors import DseError

    rng = np.random.default_rng(seed)
    chosen: dict = {}
    draws, limit = 0, 100 * size
    while len(chosen) < size:
        draws += 1
        if draws > limit:
            raise DseError(
                f"{space.path}: {limit:,} draws gave only {len(chosen):,} distinct valid points, fewer "
                f"than the sample of {size:,}; build the whole space (no --sample) or sample fewer"
            )
        point = space.sample(rng)
        chosen.setdefault(space.canonical(point), point)
    return list(chosen.values())


def sample_record(space_path, size: int, seed: int) -> dict:
    import hashlib

    return {
        "space_sha256": hashlib.sha256(Path(space_path).read_bytes()).hexdigest(),
        "size": size,
        "seed": seed,
        "method": "uniform over the valid points: rejection sampling of the box (Space.sample), first "
        "distinct draws in order",
    }


def ensure_sample(space_path, work, size: int, seed: int) -> list[dict]:
    """The build's fixed sample: drawn and written to ``<work>/sample.json`` on the first
    run, read back on every later one (refused if drawn for another space, size or seed)."""
    from edalize_dse.errors import DseError
    from edalize_dse.space import load_space

    path = sample_path(work)
    want = sample_record(space_path, size, seed)
    if path.is_file():
        doc = json.loads(path.read_text())
        got = {k: doc.get(k) for k in want}
        if got != want:
            differ = ", ".join(k for k in want if got[k] != want[k])
            raise DseError(
                f"{path} holds a sample of another build (different {differ}): give another --work, "
                "or the --space/--sample/--sample-seed it was drawn with"
            )
        return doc["points"]
    points = draw_sample(load_space(space_path), size, seed)
    Path(work).mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**want, "points": points}, indent=1) + "\n")
    tmp.replace(path)  # a kill while writing leaves no half sample
    return points


def table_points(space_path, work, sample) -> list[dict]:
    """The table's points in row order: every valid point (enumeration order), or the
    sample (``sample`` = (size, seed)) in the order it was drawn."""
    from edalize_dse.errors import DseError
    from edalize_dse.space import load_space

    if sample:
        return ensure_sample(space_path, work, *sample)
    points = load_space(space_path).enumerate_valid(limit=MAX_BOX_POINTS)
    if points is None:
        raise DseError(
            f"{space_path}: too many points to list (over {MAX_BOX_POINTS:,} parameter combinations); "
            "build a sample of it with --sample N --sample-seed S"
        )
    return points


def table_config(space_path, work, workers: int, tool_timeout: float | None, sample=None):
    from edalize_dse.explore import RunConfig

    total = len(table_points(space_path, work, sample))
    # grid learns nothing from results: the asynchronous loop (round_size 0) keeps every worker busy.
    options = {"points": str(sample_path(work).resolve())} if sample else {}
    return RunConfig(
        space=str(space_path),
        output=str(work),
        budget=total,
        strategy="grid",
        workers=workers,
        strategy_options=options,
        cache_dir="off",
        tool_timeout=tool_timeout,
        round_size=0,
    )


def build(space_path, work, workers: int, tool_timeout: float | None, progress: bool = True, sample=None) -> None:
    """Evaluate every point of the table not yet in the store at ``work``."""
    from edalize_dse.explore import explore

    explore(table_config(space_path, work, workers, tool_timeout, sample), progress=progress)


def import_rows(space_path, work, table: Path, workers: int, tool_timeout: float | None, sample=None) -> int:
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
    drawn = note.get("sample")
    if drawn and (not sample or drawn != sample_record(space_path, *sample)):
        raise DseError(
            f"{table} holds the rows of a sample ({drawn.get('size')} points, seed {drawn.get('seed')}, "
            f"space SHA-256 {str(drawn.get('space_sha256'))[:12]}): import it with that --sample and "
            "--sample-seed, and the space it was drawn from"
        )
    config = table_config(space_path, work, workers, tool_timeout, sample)
    identity = run_identity(config, prepare(config))
    differ = changes(note.get("run_identity") or {}, identity)
    if differ:
        raise DseError(
            f"{table} was built by a different flow (changed: {'; '.join(differ)}): its rows are "
            "not this build's; build afresh"
        )
    space = load_space(space_path)
    by_text = {tuple(str(p[n]) for n in space.names): p for p in table_points(space_path, work, sample)}
    with gzip.open(table, "rt", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    metrics = (
        [
            c
            for c in rows[0]
            if c not in (*space.names, "status", "error", "violation", "flow_wall_s", *STEPS, "finished_at")
            and not c.startswith("version_")
        ]
        if rows
        else []
    )
    Path(work).mkdir(parents=True, exist_ok=True)
    store = open_store(Path(work), identity, restart=False)
    try:
        for row in rows:
            point = by_text[tuple(row[n] for n in space.names)]
            store.add(
                Evaluation(
                    point_id=space.point_id(point),
                    params=point,
                    status=row["status"],
                    error=row["error"] or None,
                    qor={m: float(row[m]) for m in metrics if row[m] != ""},
                    tool_versions={c[len("version_") :]: v for c, v in row.items() if c.startswith("version_") and v},
                    timings={s: float(row[s]) for s in STEPS if row[s] != ""},
                    strategy="grid (imported)",
                    started_at=row["finished_at"],
                    finished_at=row["finished_at"],
                )
            )
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


def write_table(space_path, evaluations, table: Path, points=None) -> dict:
    """The table of ``evaluations`` in the order of ``points`` (default: the space's
    enumeration order); returns counts. A space with QoR constraints gets a
    ``violation`` column: empty where every constraint holds, else the broken ones."""
    from edalize_dse.qor_constraints import violation
    from edalize_dse.space import load_space

    space = load_space(space_path)
    by_key = {space.canonical(e.params): e for e in evaluations}
    points = points if points is not None else space.enumerate_valid(limit=MAX_BOX_POINTS)
    metrics = sorted({m for e in evaluations for m in e.qor})
    tools = sorted({t for e in evaluations for t in e.tool_versions})
    judged = ["violation"] if space.qor_constraints else []
    header = [
        *space.names,
        "status",
        "error",
        *judged,
        *metrics,
        "flow_wall_s",
        *STEPS,
        *(f"version_{t}" for t in tools),
        "finished_at",
    ]
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
                # The wall is the sum of the steps as written (6 digits each), so a table
                # imported into a new store (its steps read back rounded) writes the same bytes.
                steps = [None if ev.timings.get(s) is None else float(fmt(float(ev.timings[s]))) for s in STEPS]
                wall = sum(s for s in steps if s is not None)
                verdict = [(violation(ev.qor, space.qor_constraints) or "") if ev.ok else ""] if judged else []
                w.writerow(
                    [
                        *(point[n] for n in space.names),
                        ev.status,
                        (ev.error or "").replace("\n", " "),
                        *verdict,
                        *(fmt(ev.qor.get(m)) for m in metrics),
                        fmt(wall),
                        *(fmt(s) for s in steps),
                        *(ev.tool_versions.get(t, "") for t in tools),
                        ev.finished_at,
                    ]
                )
    return counts


def provenance_path(table) -> Path:
    return Path(table).with_name(Path(table).name.split(".")[0] + ".provenance.json")


def provenance(space_path, work, evaluations, counts, sample=None) -> dict:
    """Where the table came from: the space, the tools, the machine, and what it cost."""
    import hashlib
    import platform

    from edalize_dse.explore import RunConfig
    from edalize_dse.space import load_space
    from edalize_dse.store import STORE_NAME, Store

    run_json = Path(work) / "run.json"
    record = vars(RunConfig.from_json(run_json)) if run_json.is_file() else {}
    flow_s = sum(sum(e.timings.get(s, 0.0) for s in STEPS) for e in evaluations)
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else ""
    )
    space = load_space(space_path)
    command = "python -m benchmarks.build_table (make table)"
    if sample:
        command = (
            f"python -m benchmarks.build_table --space {Path(space_path).name} --sample {sample[0]} "
            f"--sample-seed {sample[1]}"
        )
    return {
        "space": Path(space_path).name,
        "space_name": space.name,
        "space_sha256": hashlib.sha256(Path(space_path).read_bytes()).hexdigest(),
        "command": command,
        # A sampled table: which points, drawn how (the rows are exactly these, in this order).
        **({"sample": sample_record(space_path, *sample)} if sample else {}),
        "qor_constraints": [c.text for c in space.qor_constraints],
        "flow": "synth: pyosys synthesis + OpenSTA timing on ASAP7 (TT corner), power at the achieved clock "
        "(target - WNS), result cache off",
        "activity": record.get("activity"),
        "workers": record.get("workers"),
        "tool_versions": [
            json.loads(t) for t in sorted({json.dumps(e.tool_versions, sort_keys=True) for e in evaluations})
        ],
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
    ap.add_argument(
        "--import",
        dest="import_table",
        metavar="TABLE",
        help="start a new store from a partial export of this build (e.g. committed by an earlier "
        "session on another machine), then continue it",
    )
    ap.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="a space too large to list: build N distinct valid points drawn once (uniform, seeded) "
        "instead of every valid point",
    )
    ap.add_argument("--sample-seed", type=int, default=0, help="seed of the --sample draw")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    if args.sample is not None and args.sample < 1:
        ap.error(f"--sample {args.sample}: give the number of points to draw (at least 1)")
    sample = (args.sample, args.sample_seed) if args.sample else None

    if args.import_table:
        count = import_rows(args.space, args.work, Path(args.import_table), args.workers, args.tool_timeout, sample)
        print(f"{args.work}: {count} finished rows imported from {args.import_table}")
    if not args.export_only:
        build(args.space, args.work, args.workers, args.tool_timeout, progress=not args.no_progress, sample=sample)
    evaluations = stored(args.work)
    counts = write_table(args.space, evaluations, Path(args.table), table_points(args.space, args.work, sample))
    record = provenance(args.space, args.work, evaluations, counts, sample)
    note = provenance_path(args.table)
    note.write_text(json.dumps(record, indent=2) + "\n")
    print(
        f"{args.table}: {counts['ok']} ok, {counts['failed']} failed, {counts['missing']} not yet run "
        f"of {counts['points']} points"
    )
    return 0 if counts["missing"] == 0 else 1


if __name__ == "__main__":
    from edalize_dse.errors import DseError

    try:
        sys.exit(main())
    except DseError as exc:
        print(f"build_table: error: {exc}", file=sys.stderr)
        sys.exit(2)
