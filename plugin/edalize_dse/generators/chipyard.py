"""The real Gemmini generator, through a user's Chipyard checkout.

For a point it renders a Scala configuration (a copy of Gemmini's
``GemminiConfigs.defaultConfig`` with the point's values), builds its Verilog with
Chipyard's make flow and hands the generated files and the top module to the EDA
flow. Each new configuration costs a Scala compile and elaboration, so the
Verilog is cached by a hash of the rendered configuration. Chipyard cannot be
installed on every machine: rendering is tested here, the build where
``CHIPYARD_ROOT`` (or the ``chipyard_root`` option) points at a real checkout."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from edalize_dse.errors import DseError, ToolFailure
from edalize_dse.generators import Generator, RtlDesign
from edalize_dse.platform import cache_root
from edalize_dse.runner import run_step
from edalize_dse.space import is_pow2
from edalize_dse.templating import render, render_to

# Every field of Gemmini's `case class GemminiArrayConfig` (ucb-bar/gemmini,
# src/main/scala/gemmini/GemminiConfigs.scala at 022a306db6ef); a rendered
# configuration may set only these.
GEMMINI_ARRAY_CONFIG_FIELDS = frozenset(
    """
opcodes inputType spatialArrayOutputType accType dataflow tileRows tileColumns meshRows meshColumns
ld_queue_length st_queue_length ex_queue_length reservation_station_full_entries
reservation_station_partial_entries sp_banks sp_singleported sp_capacity spad_read_delay acc_banks
acc_singleported acc_sub_banks acc_capacity acc_latency dma_maxbytes dma_buswidth shifter_banks aligned_to
mvin_scale_args mvin_scale_acc_args mvin_scale_shared acc_scale_args acc_read_full_width acc_read_small_width
use_dedicated_tl_port tlb_size use_tlb_register_filter max_in_flight_mem_reqs ex_read_from_spad ex_read_from_acc
ex_write_to_spad ex_write_to_acc hardcode_d_to_garbage_addr use_shared_tlb tile_latency mesh_output_delay
use_tree_reduction_if_possible num_counter has_training_convs has_max_pool has_nonlinear_activations
has_first_layer_optimizations use_firesim_simulation_counters use_shared_ext_mem clock_gate headerFileName
""".split()
)

SCALA_PACKAGE = "chipyard.edalizedse"
# The rest of the SoC around Gemmini (recent Chipyard names; older ones use WithNBigCores).
BASE_FRAGMENTS = ("freechips.rocketchip.rocket.WithNHugeCores(1)", "chipyard.config.AbstractConfig")
DATAFLOWS = ("OS", "WS", "BOTH")


def _sint(bits: int) -> str:
    return f"SInt({int(bits)}.W)"


# Our parameter -> (Gemmini field, Scala expression of the value).
SCALA_VALUES = {
    "meshRows": ("meshRows", int),
    "meshColumns": ("meshColumns", int),
    "tileRows": ("tileRows", int),
    "tileColumns": ("tileColumns", int),
    "dataflow": ("dataflow", lambda v: f"Dataflow.{v}"),
    "inputType": ("inputType", _sint),
    "accType": ("accType", _sint),
    "spatialArrayOutputType": ("spatialArrayOutputType", _sint),
    "sp_capacity": ("sp_capacity", lambda v: f"CapacityInKilobytes({int(v)})"),
    "acc_capacity": ("acc_capacity", lambda v: f"CapacityInKilobytes({int(v)})"),
    "sp_banks": ("sp_banks", int),
    "acc_banks": ("acc_banks", int),
    "tile_latency": ("tile_latency", int),
    "mesh_output_delay": ("mesh_output_delay", int),
}


def scala_fields(config: dict) -> list[tuple[str, str]]:
    return [(SCALA_VALUES[k][0], str(SCALA_VALUES[k][1](v))) for k, v in config.items() if k in SCALA_VALUES]


def config_name(config: dict) -> str:
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]
    return f"EdalizeDse_{digest}"


def render_scala(config: dict, name: str | None = None) -> str:
    return render("chipyard/GemminiConfig.scala.j2", **_scala_context(config, name or config_name(config)))


def _scala_context(config: dict, name: str) -> dict:
    return dict(package=SCALA_PACKAGE, class_name=name, fields=scala_fields(config), base_fragments=BASE_FRAGMENTS)


def find_chipyard(root: str | None = None) -> Path:
    chosen = root or os.environ.get("CHIPYARD_ROOT")
    if not chosen:
        raise DseError(
            "generator 'chipyard' needs a Chipyard checkout: set the 'chipyard_root' option or CHIPYARD_ROOT to it"
        )
    path = Path(chosen).expanduser()
    for needed in ("generators/gemmini", "vlsi/Makefile", "generators/chipyard/src/main/scala"):
        if not (path / needed).exists():
            raise DseError(
                f"{path} is not a Chipyard checkout with Gemmini: it has no {needed} (run Chipyard's build-setup first)"
            )
    return path.resolve()


class ChipyardGemmini(Generator):
    name = "chipyard"
    # Gemmini's defaultConfig values (GemminiConfigs.defaultConfig in Configs.scala).
    PARAMETERS = {
        "meshRows": (16, "rows of tiles"),
        "meshColumns": (16, "columns of tiles"),
        "tileRows": (1, "PE rows per tile"),
        "tileColumns": (1, "PE columns per tile"),
        "dataflow": ("WS", "OS, WS or BOTH"),
        "inputType": (8, "operand bits"),
        "accType": (32, "accumulator bits"),
        "spatialArrayOutputType": (20, "bits leaving the array"),
        "sp_capacity": (128, "scratchpad KiB"),
        "sp_banks": (4, "scratchpad banks"),
        "acc_capacity": (128, "accumulator KiB"),
        "acc_banks": (2, "accumulator banks"),
        "tile_latency": (0, "register stages inside a tile"),
        "mesh_output_delay": (1, "output register stages"),
    }

    def __init__(self, chipyard_root: str | None = None, top: str = "Gemmini", timeout_s: float | None = None):
        self.root_option = chipyard_root
        self.top = top
        self.timeout_s = timeout_s

    def check(self) -> Path:
        return find_chipyard(self.root_option)

    def violations(self, config: dict) -> list[str]:
        """Gemmini's own `require`s on the array and the memories (GemminiConfigs.scala)."""
        problems = []
        rows = config["meshRows"] * config["tileRows"]
        cols = config["meshColumns"] * config["tileColumns"]
        if rows != cols:
            problems.append(
                f"rule 'square_array': meshRows*tileRows = {rows} differs from meshColumns*tileColumns = {cols}"
            )
            return problems
        if not is_pow2(rows) or rows < 2:
            problems.append(f"rule 'pow2_dim': the array side {rows} is not a power of two >= 2")
        if config["dataflow"] not in DATAFLOWS:
            problems.append(f"rule 'dataflow': {config['dataflow']!r} is not one of {', '.join(DATAFLOWS)}")
        sp_entries = config["sp_capacity"] * 8192 // (config["sp_banks"] * cols * config["inputType"])
        if not is_pow2(sp_entries) or sp_entries % rows:
            problems.append(
                f"rule 'sp_bank_entries': {sp_entries} rows per scratchpad bank must be a power of two "
                f"and a multiple of {rows}"
            )
        acc_entries = config["acc_capacity"] * 8192 // (config["acc_banks"] * cols * config["accType"])
        if acc_entries % rows:
            problems.append(
                f"rule 'acc_bank_entries': {acc_entries} rows per accumulator bank must be a multiple of {rows}"
            )
        return problems

    def generate(self, config: dict, outdir: Path) -> RtlDesign:
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        name = config_name(config)
        scala = render_to(outdir / f"{name}.scala", "chipyard/GemminiConfig.scala.j2", **_scala_context(config, name))
        cached = cache_root() / "chipyard" / name
        if not (cached / "files.json").is_file():
            self._build(scala, name, cached, outdir)
        files = [cached / f for f in json.loads((cached / "files.json").read_text())]
        dim = config["meshRows"] * config["tileRows"]
        return RtlDesign(
            files=files,
            top=self.top,
            info={"dim": dim, "pes": dim * dim, "in_bits": config["inputType"], "acc_bits": config["accType"]},
        )

    def _build(self, scala: Path, name: str, cached: Path, logdir: Path) -> None:
        root = self.check()
        target = root / "generators" / "chipyard" / "src" / "main" / "scala" / "config" / "edalizedse"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(scala, target / scala.name)
        cmd = ["make", "-C", str(root / "vlsi"), f"CONFIG={name}Config", f"CONFIG_PACKAGE={SCALA_PACKAGE}", "verilog"]
        run_step("chipyard", cmd, logdir, logdir / "chipyard.log", self.timeout_s)
        found = sorted((root / "vlsi" / "generated-src").glob(f"*{name}Config*"))
        if not found:
            raise ToolFailure("chipyard", f"no generated-src/*{name}Config* after the build", logdir / "chipyard.log")
        sources = collect_sources(found[-1])
        tmp = cached.with_name(cached.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for src in sources:
            shutil.copyfile(src, tmp / src.name)
        (tmp / "files.json").write_text(json.dumps([s.name for s in sources]))
        shutil.rmtree(cached, ignore_errors=True)
        os.replace(tmp, cached)


def collect_sources(build_dir: Path) -> list[Path]:
    """The synthesizable files of a Chipyard build: those its ``*.top.f`` lists
    (the design below the harness) plus the memory models, else every Verilog file
    of gen-collateral."""
    build_dir = Path(build_dir)
    lists = sorted(build_dir.glob("*.top.f"))
    files: list[Path] = []
    if lists:
        for line in lists[0].read_text().splitlines():
            line = line.strip()
            if line and not line.startswith(("+", "-", "#")) and line.endswith((".v", ".sv")):
                path = Path(line) if Path(line).is_absolute() else build_dir / line
                files.append(path)
        files += sorted(build_dir.glob("*.top.mems.v"))
    else:
        files = sorted(p for p in (build_dir / "gen-collateral").glob("*") if p.suffix in (".v", ".sv"))
    names = {}
    for f in files:
        names.setdefault(f.name, f)  # one copy per file name (the cache is flat)
    return list(names.values())
