"""RTL generators: turn the hardware layer of a point into Verilog files.

A generator declares the hardware parameters it understands (with defaults for
those a space leaves out), checks a configuration against its own validity
rules before anything runs, and renders the RTL into a point's work directory."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from edalize_dse.errors import DseError


@dataclass
class MacroView:
    """A hard macro (e.g. an SRAM bank) the RTL instantiates as a black box.

    Synthesis and STA read ``liberty`` (area, leakage, energies, timing); P&R also
    needs ``lef``. Simulation uses the behavioural model in ``RtlDesign.sim_files``."""

    name: str
    liberty: Path
    lef: Path | None = None


@dataclass
class RtlDesign:
    files: list[Path]  # synthesizable RTL, macros only instantiated
    top: str
    # Facts the metrics need (e.g. number of PEs for throughput).
    info: dict = field(default_factory=dict)
    macros: list[MacroView] = field(default_factory=list)
    sim_files: list[Path] = field(default_factory=list)  # behavioural models of the macros
    # Top-level parameter overrides and preprocessor defines (a user core's vlogparam/vlogdefine).
    parameters: dict = field(default_factory=dict)
    defines: dict = field(default_factory=dict)
    include_dirs: list[Path] = field(default_factory=list)
    clock_port: str = "clk"
    sdc: Path | None = None  # the design's own timing constraints (else the flow's clock knob)


def define_args(defines: dict) -> list[str]:
    """``NAME=value`` for each preprocessor define, with edalize's meaning of a value:
    None is a define that is not set (left out), a bool is 1/0, anything else its text."""
    args = []
    for name, value in defines.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "1" if value else "0"
        args.append(f"{name}={value}")
    return args


def yosys_value(value) -> str:
    """A parameter value as Yosys's ``chparam -set`` reads it."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace('"', '\\"') + '"'


class Generator(ABC):
    name = ""
    # Metrics that ``metrics.derive`` computes from this generator's design facts.
    DERIVED_METRICS: tuple = ("throughput_gops",)
    # parameter name -> (default, one-line meaning)
    PARAMETERS: dict[str, tuple] = {}

    def resolve(self, hw: dict) -> dict:
        """The full configuration: the point's values over the generator defaults."""
        unknown = sorted(set(hw) - set(self.PARAMETERS))
        if unknown:
            raise DseError(f"generator '{self.name}' has no parameter(s) {unknown}; known: {sorted(self.PARAMETERS)}")
        return {**{k: v[0] for k, v in self.PARAMETERS.items()}, **hw}

    def violations(self, config: dict) -> list[str]:
        """Broken validity rules of a resolved configuration, each naming its rule."""
        return []

    @abstractmethod
    def generate(self, config: dict, outdir: Path) -> RtlDesign:
        """Render the RTL of a resolved, valid configuration into ``outdir``."""


def get_generator(name: str, **options) -> Generator:
    """The generator ``name``; ``options`` are the run's settings for it (e.g. ``core``)."""
    from edalize_dse.generators.chipyard import ChipyardGemmini
    from edalize_dse.generators.core import CoreGenerator
    from edalize_dse.generators.embedded import EmbeddedGemmini

    generators = {
        EmbeddedGemmini.name: EmbeddedGemmini,
        CoreGenerator.name: CoreGenerator,
        ChipyardGemmini.name: ChipyardGemmini,
    }
    if name not in generators:
        raise DseError(f"unknown generator '{name}'; available: {', '.join(sorted(generators))}")
    if name == CoreGenerator.name:
        return CoreGenerator(
            options.get("core"), clock_port=options.get("clock_port"), frontend=options.get("frontend") or "auto"
        )
    if name == ChipyardGemmini.name:
        return ChipyardGemmini(options.get("chipyard_root"), timeout_s=options.get("timeout_s"))
    return generators[name]()
