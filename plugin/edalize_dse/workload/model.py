"""Analytical latency and energy of one matrix multiply on the array, in torch and
differentiable in the mapping (the DOSA approach, for this project's array).

A mapping of an (M x K) x (K x N) multiply, in DIM x DIM blocks (Mb, Kb, Nb):
- spatial: one DIM x DIM x DIM block at a time on the DIM x DIM array;
- on chip: a tile of tm x tk blocks of A and tk x tn blocks of B in the scratchpad
  (double-buffered: half its capacity) and tm x tn blocks of C in the accumulator;
  one controller command runs a tile;
- DRAM: the tile loops (Mb/tm, Kb/tk, Nb/tn trips) in one of six orders; an
  operand is re-fetched by every trip of a loop it does not depend on that sits
  outside its innermost own loop (partial sums of C spill and come back).

Latency is compute-bound or DRAM-bound (double buffering overlaps the two):
``max(compute, DRAM bytes / bandwidth)``. Compute follows the execute controller's
fixed schedule: ``block_cycles`` per block plus one per command, measured by the
RTL simulation (benchmarks/results/sim_cycles.json). Energy adds MACs, scratchpad
and accumulator row accesses (SRAM macro liberty energies), DRAM bytes and leakage."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

LOOPS = ("m", "k", "n")
ORDERS = tuple("".join(p) for p in itertools.permutations(LOOPS))  # outermost first
OPERAND_LOOPS = {"A": "mk", "B": "kn", "C": "mn"}


@dataclass(frozen=True)
class ArrayModel:
    """What the model needs of one hardware point (its own flow results)."""

    dim: int
    dataflows: tuple  # ("OS",), ("WS",) or both
    block_cycles: dict  # dataflow -> controller cycles per DIM^3 block
    sp_bytes: float
    acc_bytes: float
    in_bytes: float  # bytes of one operand element
    acc_elem_bytes: float  # bytes of one accumulator element
    clock_mhz: float
    e_mac_pj: float  # dynamic energy of the array per MAC (synthesized standard cells)
    e_sp_read_pj: float  # one scratchpad row (DIM operands) read / written
    e_sp_write_pj: float
    e_acc_read_pj: float  # one accumulator row (DIM partial sums)
    e_acc_write_pj: float
    leakage_mw: float
    dram_bytes_per_cycle: float = 16.0  # 128-bit DMA bus
    e_dram_pj_per_byte: float = 100.0


def blocks(gemm, dim: int) -> tuple[int, int, int]:
    m, k, n = gemm
    return tuple(-(-x // dim) for x in (m, k, n))


def traffic_multiplier(order: str, own: str, trips: dict) -> torch.Tensor:
    """How often an operand indexed by loops ``own`` is fetched over the tile loops."""
    innermost = max(order.index(loop) for loop in own)
    mult = torch.ones_like(trips["m"])
    for loop in order[:innermost]:
        if loop not in own:
            mult = mult * trips[loop]
    return mult


def cost(hw: ArrayModel, nblocks, tiles: torch.Tensor, order: str, dataflow: str) -> dict:
    """Latency (cycles) and energy (pJ) of one multiply for tile sizes ``tiles`` ([..., 3]:
    tm, tk, tn in blocks; real-valued during search), with capacity violations."""
    mb, kb, nb = (torch.as_tensor(x, dtype=tiles.dtype) for x in nblocks)
    tm, tk, tn = tiles[..., 0], tiles[..., 1], tiles[..., 2]
    trips = {"m": mb / tm, "k": kb / tk, "n": nb / tn}
    d = hw.dim
    total_blocks = mb * kb * nb
    commands = trips["m"] * trips["k"] * trips["n"]
    compute = total_blocks * hw.block_cycles[dataflow] + commands

    block_in = d * d * hw.in_bytes
    a_bytes = mb * kb * block_in * traffic_multiplier(order, OPERAND_LOOPS["A"], trips)
    b_bytes = kb * nb * block_in * traffic_multiplier(order, OPERAND_LOOPS["B"], trips)
    c_spills = traffic_multiplier(order, OPERAND_LOOPS["C"], trips) - 1.0
    c_bytes = mb * nb * d * d * (hw.in_bytes + 2.0 * c_spills * hw.acc_elem_bytes)
    dram_bytes = a_bytes + b_bytes + c_bytes
    memory = dram_bytes / hw.dram_bytes_per_cycle
    cycles = torch.maximum(compute, memory)

    sp_rows_written = (a_bytes + b_bytes) / (d * hw.in_bytes)
    energy = (
        total_blocks * d**3 * hw.e_mac_pj
        + total_blocks * 2 * d * hw.e_sp_read_pj
        + sp_rows_written * hw.e_sp_write_pj
        + total_blocks * d * (hw.e_acc_read_pj + hw.e_acc_write_pj)
        + dram_bytes * hw.e_dram_pj_per_byte
        + hw.leakage_mw * cycles / hw.clock_mhz * 1e3
    )
    sp_need = (tm * tk + tk * tn) * block_in
    acc_need = tm * tn * d * d * hw.acc_elem_bytes
    over = torch.relu(sp_need / (hw.sp_bytes / 2) - 1) + torch.relu(acc_need / hw.acc_bytes - 1)
    return {
        "cycles": cycles,
        "compute_cycles": compute,
        "memory_cycles": memory,
        "energy_pj": energy,
        "dram_bytes": dram_bytes,
        "overflow": over,
    }


def feasible(hw: ArrayModel, tiles) -> bool:
    tm, tk, tn = tiles
    block_in = hw.dim * hw.dim * hw.in_bytes
    return (
        tm * tk + tk * tn
    ) * block_in <= hw.sp_bytes / 2 and tm * tn * hw.dim * hw.dim * hw.acc_elem_bytes <= hw.acc_bytes
