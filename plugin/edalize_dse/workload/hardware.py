"""The analytical model of one evaluated point, from that point's own results:
the controller schedule of its configuration, its achieved fmax, the power of
its synthesized standard cells and the energies in its SRAM macros' liberty views.
Then the workload QoR (``latency_ms``, ``energy_mj``) with every layer mapped."""

from __future__ import annotations

from dataclasses import dataclass

from edalize_dse.errors import DseError
from edalize_dse.workload.layers import Workload, load_workload
from edalize_dse.workload.mapping import Mapping, gradient_search
from edalize_dse.workload.model import ArrayModel

WORKLOAD_METRICS = ("latency_ms", "energy_mj")
# Off-chip DRAM is outside the synthesized design: its cost per byte is an
# assumption the user can change (RunConfig.dram_pj_per_byte), not a flow result.
DEFAULT_DRAM_PJ_PER_BYTE = 100.0
DEFAULT_DRAM_BYTES_PER_CYCLE = 16.0


def dataflows_of(config: dict) -> tuple:
    return ("OS", "WS") if config["dataflow"] == "BOTH" else (config["dataflow"],)


def block_cycles(config: dict) -> dict:
    """Controller cycles per DIM^3 block for each dataflow (one command of one block,
    less the command's own cycle), from the generator's schedule."""
    from edalize_dse.generators.embedded import command_cycles

    return {df: command_cycles(config, 1, 1, 1, ws=df == "WS") - 1 for df in ("OS", "WS")}


def macro_energies(macros) -> dict:
    """Per-access energy (pJ) of the scratchpad and accumulator banks from their liberty views."""
    from edalize_dse.generators.sram import parse_fakeram

    energies = {}
    for macro in macros:
        sample = parse_fakeram(macro.liberty)
        # A read clocks the macro; a write also drives its write-enable and data pins.
        energies[macro.name] = (sample.clk_energy, sample.clk_energy + sample.pin_energy)
    return energies


def array_model(
    config: dict,
    qor: dict,
    info: dict,
    macros,
    clock_period_ps: float,
    dram_pj_per_byte: float = DEFAULT_DRAM_PJ_PER_BYTE,
    dram_bytes_per_cycle: float = DEFAULT_DRAM_BYTES_PER_CYCLE,
) -> ArrayModel:
    from edalize_dse.generators.sram import macro_name

    dim = config["meshRows"] * config["tileRows"]
    energies = macro_energies(macros)
    try:
        sp = energies[macro_name(info["sp_bank_rows"], info["sp_row_bits"])]
        acc = energies[macro_name(info["acc_bank_rows"], info["acc_row_bits"])]
    except KeyError:
        raise DseError(
            "the workload model needs a design with scratchpad and accumulator macros "
            f"(generator 'embedded'); this one has {sorted(energies) or 'none'}"
        ) from None
    # The standard cells' power at the operating clock (0.1 toggles per cycle on every
    # net, the flow's activity) spread over the PEs: the energy of one MAC slot.
    std_mw = qor["power_seq_mw"] + qor["power_comb_mw"]
    e_mac = std_mw * clock_period_ps * 1e-3 / (dim * dim)
    return ArrayModel(
        dim=dim,
        dataflows=dataflows_of(config),
        block_cycles=block_cycles(config),
        sp_bytes=config["sp_capacity"] * 1024.0,
        acc_bytes=config["acc_capacity"] * 1024.0,
        in_bytes=config["inputType"] / 8.0,
        acc_elem_bytes=config["accType"] / 8.0,
        clock_mhz=qor["fmax_mhz"],
        e_mac_pj=e_mac,
        e_sp_read_pj=sp[0],
        e_sp_write_pj=sp[1],
        e_acc_read_pj=acc[0],
        e_acc_write_pj=acc[1],
        leakage_mw=qor["power_leakage_mw"],
        dram_bytes_per_cycle=dram_bytes_per_cycle,
        e_dram_pj_per_byte=dram_pj_per_byte,
    )


@dataclass
class WorkloadResult:
    latency_ms: float
    energy_mj: float
    layers: list  # (layer, Mapping)


def run_workload(hw: ArrayModel, workload: Workload | str, objective: str = "edp") -> WorkloadResult:
    """Map every layer (gradient search) and add up latency and energy per inference."""
    if not isinstance(workload, Workload):
        workload = load_workload(workload)
    mappings: list[Mapping] = gradient_search(hw, [layer.gemm() for layer in workload.layers], objective)
    cycles = sum(m.cycles * layer.count for layer, m in zip(workload.layers, mappings))
    energy_pj = sum(m.energy_pj * layer.count for layer, m in zip(workload.layers, mappings))
    return WorkloadResult(
        latency_ms=cycles / (hw.clock_mhz * 1e3),
        energy_mj=energy_pj * 1e-9,
        layers=list(zip(workload.layers, mappings)),
    )
