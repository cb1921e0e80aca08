"""Wall time of one DiffuSE controller round (fine-tune + sample + screen) with
500 told points and rounds of 8, on the default space (cores/spaces/gemmini_small.yml).

    nice python -m benchmarks.controller_time --points 500 --batch 8 --rounds 5

The strategy is told ``--points`` distinct valid points drawn at random (seeded), with
an analytic stand-in for the flow's QoR (area ~ PEs x widths, fmax from the
clock target and cell flavour, power ~ area x fmax), so only the controller is
timed. Its first model round trains from scratch (reported apart); then
``--rounds`` rounds are timed one by one, each warm-started after the previous
batch was told: the steady state of a run. Wall seconds of each part come from
the strategy's own round log; the last row is the process's CPU seconds per
round, which is what the round takes on an idle core when the machine is shared. The controller runs on one torch
thread, as it does in a run (``ModelBasedStrategy`` sets it beside the tools)."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]

from edalize_dse.space import load_space  # noqa: E402
from edalize_dse.store import Evaluation  # noqa: E402
from edalize_dse.strategies import make_strategy  # noqa: E402


def analytic_qor(p):
    pes = p["meshRows"] * p["tileRows"] * p["meshColumns"] * p["tileColumns"]
    fmax = 1e6 / (
        p["clock_period_ps"] * (1.2 if p["ASAP7_USE_VT"] == "RVT" else 1.0) + (80 if p["abc_script"] == "area" else 0)
    )
    area = pes * (3 * p["inputType"] + p["accType"]) * (0.9 if p["abc_script"] == "area" else 1.0)
    power = area * fmax / 1000 * (1.5 if p["ASAP7_USE_VT"] == "SLVT" else 1.0)
    return {"area_um2": area, "power_mw": power, "throughput_gops": 2 * pes * fmax / 1000}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default=str(REPO / "cores" / "spaces" / "gemmini_small.yml"))
    ap.add_argument("--batch", type=int, default=8, help="points per round (round_size)")
    ap.add_argument("--points", type=int, default=500, help="evaluated points before the timed rounds")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    space = load_space(args.space)
    strategy = make_strategy("diffusion", space, seed=args.seed)

    def tell(points):
        strategy.tell([Evaluation(space.point_id(p), p, "ok", analytic_qor(p)) for p in points])

    rng = np.random.default_rng(args.seed)
    drawn = {}
    while len(drawn) < args.points:  # distinct valid points (the space is too large to enumerate)
        point = space.sample(rng)
        drawn.setdefault(space.canonical(point), point)
    tell(list(drawn.values()))
    cpu = []  # CPU seconds of this process per round: the wall time on an idle core (one torch thread)
    for _ in range(args.rounds + 1):
        start = time.process_time()
        points = strategy.ask(args.batch)
        cpu.append(time.process_time() - start)
        tell(points)
    timed = strategy.round_times[1:]
    first = strategy.round_times[0]
    print(
        f"space {space.name}, torch threads {torch.get_num_threads()}, batch {args.batch}, "
        f"{args.points} evaluated points before timing"
    )
    print(f"first model round (training from scratch): {first['total_s']:.2f} s")
    print("| part | median (s) | min (s) | max (s) |\n|---|---|---|---|")
    for key in ("finetune_s", "sample_s", "screen_s", "total_s"):
        values = [t[key] for t in timed]
        print(f"| {key[:-2]} | {statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f} |")
    print(f"| total, CPU time | {statistics.median(cpu[1:]):.3f} | {min(cpu[1:]):.3f} | {max(cpu[1:]):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
