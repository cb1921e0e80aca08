"""A user's own FuseSoC core as the design: no RTL is generated, the core's files
are synthesized as they are, and its top-level ``vlogparam`` parameters form the
hardware layer of the space (each point sets them, like ``fusesoc run --PARAM=v``)."""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

from edalize_dse.errors import DseError, ToolFailure
from edalize_dse.generators import Generator, MacroView, RtlDesign, define_args, yosys_value
from edalize_dse.runner import run_step

# Defined while the top is elaborated for the interface check before the first point, so an
# RTL can leave out what only synthesis needs (a slow generated `include, a memory image).
INTERFACE_DEFINE = "EDALIZE_DSE_INTERFACE"
# Input names that read as a clock: clk, wb_clk_i, clock, sys_ck, ...
_CLOCK_LIKE = re.compile(r"(^|_)(clk|clock|ck)(_|\d|$)|clk", re.IGNORECASE)


class CoreGenerator(Generator):
    name = "core"
    DERIVED_METRICS = ()

    def __init__(self, core: dict | None = None, clock_port: str | None = None, frontend: str = "auto"):
        if not core or not core.get("files") or not core.get("top"):
            raise DseError(
                "generator 'core' explores a FuseSoC core's own RTL: run it through "
                "'fusesoc run --target=<target with flow: dse>' (which passes the core's files, "
                "toplevel and vlogparams), or give the run configuration a 'core' entry with "
                "'files' and 'top'"
            )
        self.core = core
        self.frontend = frontend or "auto"
        self.sdc = Path(core["sdc"]) if core.get("sdc") else None
        if self.sdc is not None and not self.sdc.is_file():
            raise DseError(f"core SDC file not found: {self.sdc}")
        self.macros = _macro_views(core.get("macros", {}))
        # The run option clock_port, else the core entry's own (older run configurations), else clk.
        self.clock_port = clock_port or core.get("clock") or "clk"
        self.top = core["top"]
        self.files = [Path(f) for f in core["files"]]
        missing = [str(f) for f in self.files if not f.is_file()]
        if missing:
            raise DseError(f"core file(s) not found: {', '.join(missing)}")
        params = core.get("parameters", {})
        self.PARAMETERS = {k: (v, f"vlogparam of {self.top}") for k, v in params.items()}

    def violations(self, config: dict) -> list[str]:
        problems = []
        for key, value in config.items():
            if isinstance(value, float) or not isinstance(value, (int, str, bool)):
                problems.append(f"rule 'vlogparam_type': {key} = {value!r} must be an integer, string or bool")
        return problems

    def check_interface(self, config: dict, timeout_s: float | None = None) -> dict:
        """Elaborate the top with ``config`` (pyosys, about a second; slang first for
        SystemVerilog) and check the run against it before any point: the RTL elaborates
        with these parameters, and without an SDC the clock port is one of the top's inputs.
        Returns the top's ports and parameters.

        Raises DseError naming the problem (the tool's own error line, or the inputs
        that look like clocks)."""
        from edalize_dse.frontends import SLANG_RUNNER, stage_for_slang, uses_slang
        from edalize_dse.templating import render_to

        slang = uses_slang(self.frontend, self.files)
        with tempfile.TemporaryDirectory(prefix="edalize-dse-interface-") as tmp:
            work = Path(tmp)
            # INTERFACE_DEFINE tells the RTL this is only the interface check (README "Your own core").
            flags = f" -D{INTERFACE_DEFINE}" + "".join(f" -D{d}" for d in define_args(self.core.get("defines", {})))
            flags += "".join(f" -I{Path(d).resolve()}" for d in self.core.get("include_dirs", []))
            lines = [f"read_verilog -sv{flags} {Path(f).resolve()}" for f in self.files]
            lines += [
                f"chparam -set {k} {yosys_value(v)} {self.top}" for k, v in sorted(config.items()) if v is not None
            ]
            if slang:
                # The SystemVerilog frontend elaborates; Yosys reads the Verilog it writes.
                files, includes = stage_for_slang(self.files, self.core.get("include_dirs", []), work)
                render_to(
                    work / "slang.ys",
                    "synth/slang.ys.j2",
                    point_id="interface",
                    top=self.top,
                    defines=[f"{INTERFACE_DEFINE}", *define_args(self.core.get("defines", {}))],
                    include_dirs=includes,
                    verilog_files=files,
                    slang_netlist="rtl_slang.v",
                    parameters=[(k, yosys_value(v)) for k, v in sorted(config.items()) if v is not None],
                )
                lines = ["read_verilog -sv rtl_slang.v"]
            lines += self._macro_reads()
            lines.append(f"hierarchy -check -top {self.top}")
            (work / "interface.ys").write_text("\n".join(lines) + "\n")
            try:
                if slang:
                    run_step(
                        "slang",
                        [sys.executable, "-c", SLANG_RUNNER, "-q", "-s", "slang.ys"],
                        work,
                        work / "slang.log",
                        timeout_s,
                    )
                run_step(
                    "elaborate",
                    [sys.executable, "-m", "edalize_dse.pyosys_main", "--interface", "interface.ys", "interface.json"],
                    work,
                    work / "yosys.log",
                    timeout_s,
                )
                found = json.loads((work / "interface.json").read_text())
            except ToolFailure as failure:
                raise DseError(
                    f"core top '{self.top}' does not elaborate with the space's default point "
                    f"({failure.reason}); fix the core's files, vlogparams or vlogdefines"
                ) from None
        inputs = [p for p in found["ports"] if p["direction"] in ("input", "inout")]
        if self.sdc is None and not any(p["name"] == self.clock_port and p["width"] == 1 for p in inputs):
            single = [p["name"] for p in inputs if p["width"] == 1]
            clocks = [n for n in single if _CLOCK_LIKE.search(n)] or single
            raise DseError(
                f"clock port '{self.clock_port}' is not a 1-bit input of '{self.top}'; its inputs that "
                f"look like clocks: {', '.join(clocks) or 'none'}. Name it with the option clock_port "
                f"(fusesoc run ... --clock_port {clocks[0] if clocks else 'NAME'})"
            )
        return found

    def generate(self, config: dict, outdir: Path) -> RtlDesign:
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        # The point's parameters, for the record next to the tool runs.
        (outdir / "parameters.txt").write_text("".join(f"{k} = {v!r}\n" for k, v in sorted(config.items())))
        return RtlDesign(
            files=list(self.files),
            top=self.top,
            parameters=dict(config),
            defines=dict(self.core.get("defines", {})),
            include_dirs=[Path(d) for d in self.core.get("include_dirs", [])],
            clock_port=self.clock_port,
            sdc=self.sdc,
            macros=list(self.macros),
        )

    def _macro_reads(self) -> list[str]:
        """The macros' liberty views as black boxes with ports, for elaboration."""
        return [f"read_liberty -lib {Path(m.liberty).resolve()}" for m in {m.liberty: m for m in self.macros}.values()]


def _macro_views(macros: dict) -> list[MacroView]:
    """Hard macros a core brings: each cell of its liberty files (``file_type: liberty``),
    with the LEF of the same name when the core has one."""
    from edalize_dse.metrics import macro_areas
    from edalize_dse.platform import check_liberty_file

    libs = [Path(p) for p in macros.get("liberty", [])]
    lefs = {Path(p).stem: Path(p) for p in macros.get("lef", [])}
    missing = [str(p) for p in libs + list(lefs.values()) if not p.is_file()]
    if missing:
        raise DseError(f"core macro view(s) not found: {', '.join(missing)}")
    views = []
    for lib in libs:
        check_liberty_file(lib)
        cells = macro_areas([lib])
        if not cells:
            raise DseError(f"core macro liberty {lib} defines no cell with an area")
        views += [MacroView(name, lib, lefs.get(name)) for name in cells]
    return views
