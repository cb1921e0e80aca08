"""Wall time of each step for one 4x4 int8 point of cores/spaces/gemmini_small.yml:
generate (Jinja RTL), synth (pyosys), STA (OpenSTA), controller (one ask of the
random strategy, after being told 100 evaluations), and the same point again
answered from the result cache (a fresh cache folder per repeat, so the first
evaluation is a real tool run that also pays for the cache key and the store).

    ASAP7_PLATFORM_DIR=../shared/pdk/asap7 .venv/bin/python -m benchmarks.time_one_point [--repeats 3]

Prints a Markdown table (median and min of the repeats) for BENCHMARKS.md."""

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

from edalize_dse.evaluate import EvaluationContext, evaluate_point
from edalize_dse.flows import get_flow
from edalize_dse.generators import get_generator
from edalize_dse.space import load_space
from edalize_dse.store import Evaluation
from edalize_dse.strategies import make_strategy

SPACE = Path(__file__).resolve().parents[1] / "cores" / "spaces" / "gemmini_small.yml"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    space = load_space(SPACE)
    point = space.default_point()  # 2x2 mesh of 2x2 tiles, int8 in, int32 acc, 1000 ps, RVT, speed
    versions = get_flow("synth").preflight()
    samples = {"generate_s": [], "synth_s": [], "sta_s": [], "controller_s": [], "total_s": [], "cache_hit_s": []}
    qor = None
    for r in range(args.repeats):
        strategy = make_strategy("random", space, seed=r)
        told = strategy.ask(100)
        strategy.tell([Evaluation(point_id=space.point_id(p), params=p, status="failed") for p in told])
        start = time.perf_counter()
        strategy.ask(1)
        samples["controller_s"].append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as tmp:
            flow = get_flow("synth", cache_dir=str(Path(tmp) / "cache"))
            flow.preflight()
            ctx = EvaluationContext(space, get_generator("embedded"), flow, Path(tmp) / "a", versions, "bench")
            start = time.perf_counter()
            ev = evaluate_point(point, ctx)
            samples["total_s"].append(time.perf_counter() - start)
            # The same point from another output folder: a cache hit.
            ctx.points_dir = Path(tmp) / "b"
            start = time.perf_counter()
            hit = evaluate_point(point, ctx)
            samples["cache_hit_s"].append(time.perf_counter() - start)
        assert ev.ok and not ev.cache_hit, ev.error
        assert hit.cache_hit and hit.qor == ev.qor
        qor = ev.qor
        for key in ("generate_s", "synth_s", "sta_s"):
            samples[key].append(ev.timings[key])
    print(
        f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"{versions['yosys']}, OpenSTA {versions['opensta']}; {args.repeats} repeats"
    )
    print(f"Point: {point}")
    print(f"QoR: area {qor['area_um2']:.1f} um2, fmax {qor['fmax_mhz']:.1f} MHz, power {qor['power_mw']:.3f} mW")
    print()
    print("| step | median (s) | min (s) |")
    print("|---|---|---|")
    for key, values in samples.items():
        print(f"| {key[:-2]} | {statistics.median(values):.4f} | {min(values):.4f} |")
    overhead = [
        t - (g + s + a)
        for t, g, s, a in zip(samples["total_s"], samples["generate_s"], samples["synth_s"], samples["sta_s"])
    ]
    print(
        f"| plugin overhead (total - generate - synth - sta) | {statistics.median(overhead):.4f} | "
        f"{min(overhead):.4f} |"
    )


if __name__ == "__main__":
    main()
