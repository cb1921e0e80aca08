"""Tool time of a few chosen points of a space, each a real synth-flow run (result
cache off), one at a time: the per-point cost a table build is estimated from.

    nice -n 15 python -m benchmarks.time_points cores/spaces/gemmini_table2.yml \
        "meshRows=8 meshColumns=8 tileRows=1 tileColumns=1 retime=1" "meshRows=1 meshColumns=1"

Each argument after the space is one point: ``name=value`` pairs over the space's
default point (values read as YAML scalars). Prints one line per point (its steps'
seconds, the tools' CPU seconds and QoR) and a Markdown table at the end. The CPU
seconds (user + system of the tool processes, from ``getrusage``) hardly depend on
what else the machine runs; the wall seconds do."""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from pathlib import Path


def parse_point(space, text: str) -> dict:
    import yaml

    point = space.default_point()
    for item in text.split():
        name, _, value = item.partition("=")
        if name not in space.parameters:
            raise SystemExit(f"time_points: '{name}' is not a parameter of {space.path}")
        point[name] = yaml.safe_load(value)
    problems = space.violations(point)
    if problems:
        raise SystemExit(f"time_points: point '{text}' is not in the space: {problems[0]}")
    return point


def main(argv=None):
    from edalize_dse.evaluate import EvaluationContext, evaluate_point
    from edalize_dse.explore import RunConfig, prepare

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("space")
    ap.add_argument("points", nargs="+", help="'name=value name=value ...' over the default point")
    ap.add_argument("--tool-timeout", type=float, default=1800.0)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dse-time-") as tmp:
        prep = prepare(RunConfig(space=args.space, output=tmp, cache_dir="off", tool_timeout=args.tool_timeout))
        points = [parse_point(prep.space, text) for text in args.points]
        ctx = EvaluationContext(
            prep.space, prep.generator, prep.flow, Path(tmp) / "points", prep.tool_versions, strategy="time_points"
        )
        lines = [
            "| point | generate s | synth s | STA s | total s | tool CPU s | area um2 | power mW | WNS ps | status |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for text, point in zip(args.points, points):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            ev = evaluate_point(point, ctx)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            t = ev.timings
            total = sum(t.get(s, 0.0) for s in ("generate_s", "synth_s", "sta_s"))
            q = ev.qor
            row = (
                f"| {text} | {t.get('generate_s', 0):.1f} | {t.get('synth_s', 0):.1f} | {t.get('sta_s', 0):.1f} "
                f"| {total:.1f} | {cpu:.1f} | {q.get('area_um2', float('nan')):.0f} "
                f"| {q.get('power_mw', float('nan')):.2f} "
                f"| {q.get('wns_ps', float('nan')):.0f} | {ev.status}{': ' + ev.error if ev.error else ''} |"
            )
            print(row, flush=True)
            lines.append(row)
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
