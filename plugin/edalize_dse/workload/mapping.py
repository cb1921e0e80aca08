"""Per-layer mapping search on the analytical model.

``gradient_search`` is the DOSA scheme: the tile sizes of every layer, for every
loop order and dataflow, are relaxed to real numbers (optimised in log space
with Adam on the model's objective plus a capacity penalty) and periodically
rounded to valid divisors of the block counts; the best rounded, feasible
mapping of each layer is kept. ``exhaustive_search`` enumerates every divisor
triple, order and dataflow: the check for small layers."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch

from edalize_dse.workload.model import ORDERS, ArrayModel, blocks, cost, feasible

OBJECTIVES = ("latency", "energy", "edp")


@dataclass
class Mapping:
    tiles: tuple  # tm, tk, tn in DIM blocks
    order: str  # DRAM tile loops, outermost first
    dataflow: str
    cycles: float
    energy_pj: float
    compute_cycles: float
    memory_cycles: float

    @property
    def bound(self) -> str:
        return "compute" if self.compute_cycles >= self.memory_cycles else "memory"


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _score(values: dict, objective: str) -> torch.Tensor:
    if objective == "latency":
        return values["cycles"]
    if objective == "energy":
        return values["energy_pj"]
    return values["cycles"] * values["energy_pj"]


def evaluate(hw: ArrayModel, gemm, tiles, order: str, dataflow: str) -> Mapping:
    with torch.no_grad():
        v = cost(
            hw, blocks(gemm, hw.dim), torch.tensor([float(t) for t in tiles], dtype=torch.float64), order, dataflow
        )
    return Mapping(
        tuple(int(t) for t in tiles),
        order,
        dataflow,
        float(v["cycles"]),
        float(v["energy_pj"]),
        float(v["compute_cycles"]),
        float(v["memory_cycles"]),
    )


def _better(a: Mapping | None, b: Mapping, objective: str) -> bool:
    key = {
        "latency": lambda m: (m.cycles, m.energy_pj),
        "energy": lambda m: (m.energy_pj, m.cycles),
        "edp": lambda m: (m.cycles * m.energy_pj,),
    }[objective]
    return a is None or key(b) < key(a)


def exhaustive_search(hw: ArrayModel, gemm, objective: str = "edp") -> Mapping:
    nb = blocks(gemm, hw.dim)
    best = None
    for tiles in itertools.product(*(divisors(n) for n in nb)):
        if not feasible(hw, tiles):
            continue
        for order, dataflow in itertools.product(ORDERS, hw.dataflows):
            candidate = evaluate(hw, gemm, tiles, order, dataflow)
            if _better(best, candidate, objective):
                best = candidate
    if best is None:
        raise ValueError(f"no mapping of {gemm} fits: even one block exceeds the scratchpad or accumulator")
    return best


def _round_to_divisors(log_tiles: torch.Tensor, options: list[list[torch.Tensor]]) -> torch.Tensor:
    """Each relaxed tile (log) to the nearest valid divisor (log), per layer."""
    out = log_tiles.clone()
    for layer, per_dim in enumerate(options):
        for j, logs in enumerate(per_dim):
            near = torch.argmin((logs[None, :] - log_tiles[layer, :, j, None]).abs(), dim=1)
            out[layer, :, j] = logs[near]
    return out


def _largest_feasible(hw: ArrayModel, tiles: list[int], nb) -> tuple | None:
    """Shrink the largest tile to its next smaller divisor until the tile fits."""
    tiles = list(tiles)
    while not feasible(hw, tiles):
        j = max(range(3), key=lambda i: tiles[i])
        if tiles[j] == 1:
            return None
        tiles[j] = max(d for d in divisors(nb[j]) if d < tiles[j])
    return tuple(tiles)


def gradient_search(
    hw: ArrayModel,
    gemms: list,
    objective: str = "edp",
    steps: int = 120,
    round_every: int = 30,
    lr: float = 0.25,
    seed: int = 0,
) -> list[Mapping]:
    """Best mapping of every multiply in ``gemms`` (all layers searched at once)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}")
    generator = torch.Generator().manual_seed(seed)
    combos = list(itertools.product(ORDERS, hw.dataflows))
    nbs = [blocks(g, hw.dim) for g in gemms]
    upper = torch.tensor([[math.log(n) for n in nb] for nb in nbs], dtype=torch.float64)  # [L, 3]
    counts = torch.tensor(nbs, dtype=torch.float64)
    block_counts = (counts[:, 0], counts[:, 1], counts[:, 2])
    options = [[torch.tensor([math.log(d) for d in divisors(n)], dtype=torch.float64) for n in nb] for nb in nbs]
    # Start anywhere between one block and the whole dimension.
    start = torch.rand((len(gemms), len(combos), 3), generator=generator, dtype=torch.float64) * upper[:, None, :]
    log_tiles = start.clone().requires_grad_(True)
    opt = torch.optim.Adam([log_tiles], lr=lr)
    for step in range(1, steps + 1):
        opt.zero_grad()
        tiles = torch.exp(torch.minimum(torch.clamp(log_tiles, min=0.0), upper[:, None, :]))
        loss = torch.zeros((), dtype=torch.float64)
        for ci, (order, dataflow) in enumerate(combos):
            v = cost(hw, block_counts, tiles[:, ci], order, dataflow)  # every layer at once
            # Log of the objective: layers of every size weigh alike; overflow is a steep penalty.
            loss = loss + (torch.log(_score(v, objective)) + 20.0 * v["overflow"]).sum()
        loss.backward()
        opt.step()
        if step % round_every == 0:
            with torch.no_grad():
                log_tiles.copy_(
                    _round_to_divisors(torch.minimum(torch.clamp(log_tiles, min=0.0), upper[:, None, :]), options)
                )
    with torch.no_grad():
        final = _round_to_divisors(torch.minimum(torch.clamp(log_tiles, min=0.0), upper[:, None, :]), options)
    results = []
    for li, (gemm, nb) in enumerate(zip(gemms, nbs)):
        best = None
        for ci, (order, dataflow) in enumerate(combos):
            tiles = _largest_feasible(hw, [int(round(math.exp(float(x)))) for x in final[li, ci]], nb)
            if tiles is None:
                continue
            candidate = evaluate(hw, gemm, tiles, order, dataflow)
            if _better(best, candidate, objective):
                best = candidate
        if best is None:
            raise ValueError(f"no mapping of {gemm} fits the scratchpad and accumulator")
        results.append(best)
    return results
