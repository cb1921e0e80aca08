"""How a flow change moves a stored table: a seeded sample of its rows run again through
today's synth flow, and the rank correlation of each metric with the stored values.

    nice python -m benchmarks.table_drift                      # 100 rows of table 2, 2 workers
    nice python -m benchmarks.table_drift --rows 20 --seed 1 --table benchmarks/tables/gemmini_table.csv.gz \
        --space cores/spaces/gemmini_table.yml --work benchmarks/state/table1_drift

The rows (ok rows only, ``random.Random(seed).sample``) go to a points file that the
product's own loop replays (strategy ``grid``, result cache off), so the run resumes
like any other: kill it and run the command again. Writes
``benchmarks/results/table_drift_<table>.md`` with Spearman's rho per metric; a table is
rebuilt only when a correlation falls below 0.9."""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("area_um2", "power_mw", "fmax_mhz")


def read_rows(table: Path) -> list[dict]:
    with gzip.open(table, "rt", newline="") as fh:
        return list(csv.DictReader(fh))


def main(argv=None) -> int:
    from scipy.stats import spearmanr

    from edalize_dse.space import load_space

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=ROOT / "benchmarks" / "tables" / "gemmini_table2.csv.gz")
    parser.add_argument("--space", type=Path, default=ROOT / "cores" / "spaces" / "gemmini_table2.yml")
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "state" / "table2_drift")
    args = parser.parse_args(argv)

    space = load_space(args.space)
    rows = [r for r in read_rows(args.table) if r["status"] == "ok"]
    chosen = random.Random(args.seed).sample(rows, min(args.rows, len(rows)))
    points = [{n: yaml.safe_load(r[n]) for n in space.names} for r in chosen]
    args.work.mkdir(parents=True, exist_ok=True)
    points_file = args.work / "points.json"
    points_file.write_text(json.dumps(points, indent=1) + "\n")
    out = args.work / "run"
    cmd = [
        sys.executable,
        "-m",
        "edalize_dse",
        "run",
        "--space",
        str(args.space),
        "--output",
        str(out),
        "--strategy",
        "grid",
        "--strategy-options",
        f"points={points_file.resolve()}",
        "--budget",
        str(len(points)),
        "--workers",
        str(args.workers),
        "--cache-dir",
        "off",
        "--no-progress",
    ]
    done = subprocess.run(cmd)
    if done.returncode not in (0, 4):  # 4: no point met the space's QoR constraint
        return done.returncode
    with open(out / "evaluations.csv", newline="") as fh:
        new = {tuple(str(yaml.safe_load(r[n])) for n in space.names): r for r in csv.DictReader(fh)}
    pairs = []
    for old in chosen:
        key = tuple(str(yaml.safe_load(old[n])) for n in space.names)
        if key in new and new[key]["status"] == "ok":
            pairs.append((old, new[key]))
    lines = [
        f"# Table drift: {args.table.name}, {len(pairs)} of {len(chosen)} sampled rows re-run",
        "",
        f"Command: `python -m benchmarks.table_drift {' '.join(argv if argv is not None else sys.argv[1:])}`",
        "",
        "| metric | Spearman rho | median new / stored |",
        "|---|---|---|",
    ]
    for metric in METRICS:
        a = [float(o[metric]) for o, _ in pairs]
        b = [float(n[metric]) for _, n in pairs]
        rho = spearmanr(a, b).statistic
        ratio = sorted(y / x for x, y in zip(a, b) if x)[len(a) // 2]
        lines.append(f"| {metric} | {rho:.3f} | {ratio:.3f} |")
        print(f"{metric}: rho {rho:.3f}, median ratio {ratio:.3f}")
    failed = len(chosen) - len(pairs)
    lines += ["", f"Rows that failed or are missing in the re-run: {failed}."]
    (ROOT / "benchmarks" / "results" / f"table_drift_{args.table.name.split('.')[0]}.md").write_text(
        "\n".join(lines) + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
