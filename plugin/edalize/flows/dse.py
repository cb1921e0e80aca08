"""The edalize flow ``dse``: design-space exploration with edalize-dse.

FuseSoC loads this module as ``edalize.flows.dse`` (``edalize`` and
``edalize.flows`` are namespace packages, so this file sits beside edalize's
own flows). Heavy imports stay inside the methods: an import error at module
level would make FuseSoC report the flow as not found.

configure() writes the run configuration (dse-run.json) and a Makefile whose
default target runs ``python -m edalize_dse run --config dse-run.json``;
build() checks the inputs (space, names, platform) and then runs make, so the
work root can also be re-run by hand with ``make``."""

import os
import sys
from pathlib import Path

from edalize.flows.edaflow import Edaflow, FlowGraph

RUN_CONFIG = "dse-run.json"
SPACE_FILE_TYPE = "dseSpace"
# EDAM file types the 'core' generator hands to synthesis (prefixes: verilogSource-2005 etc.).
VERILOG_FILE_TYPES = ("verilogSource", "systemVerilogSource")


class Dse(Edaflow):
    """Explore accelerator and EDA-tool parameters on real synthesis and timing."""

    argtypes = ["vlogdefine", "vlogparam"]

    FLOW_DEFINED_TOOL_OPTIONS = {}

    FLOW_OPTIONS = {
        **Edaflow.FLOW_OPTIONS,
        "space": {"type": "str", "desc": "Design-space YAML file (default: the core's file of type dseSpace)"},
        "budget": {"type": "int", "desc": "Finished evaluations to reach (a re-run resumes and counts old ones)"},
        "strategy": {"type": "str", "desc": "Search strategy: diffusion (default), random, sobol, nsga2, motpe, "
                                            "qnehvi, dosa, grid"},
        "strategy_options": {"type": "str", "desc": "Strategy options as KEY=VALUE,KEY=VALUE (e.g. init_points=16)"},
        "seed": {"type": "int", "desc": "Random seed of the strategy"},
        "workers": {"type": "int", "desc": "Points evaluated at once"},
        "output": {"type": "str", "desc": "Output directory (default: <work root>/results; relative paths are "
                                          "taken from the directory FuseSoC runs in)"},
        "generator": {"type": "str", "desc": "RTL generator: embedded (Gemmini-style array, default), chipyard "
                                             "(the real Gemmini, via chipyard_root), core (this core's own RTL, "
                                             "its vlogparams as the hardware layer)"},
        "fidelity": {"type": "str", "desc": "synth (pyosys + OpenSTA, default), orfs (OpenROAD-flow-scripts, needs "
                                            "FLOW_HOME), or synth+orfs (ORFS for the best 'promote' synth points)"},
        "promote": {"type": "int", "desc": "synth+orfs: points promoted to ORFS (default 3)"},
        "clock_port": {"type": "str", "desc": "generator core: the core's clock input (default clk)"},
        "chipyard_root": {"type": "str", "desc": "generator chipyard: the Chipyard checkout (default $CHIPYARD_ROOT)"},
        "workload": {"type": "str", "desc": "DNN workload for the latency_ms/energy_mj metrics (resnet50, "
                                            "bert_base_s128, tiny_cnn, or a layer-shape file)"},
        "objectives": {"type": "str", "desc": "comma-separated objectives replacing the space file's, e.g. "
                                              "latency_ms,energy_mj,area_um2"},
        "tool_timeout": {"type": "int", "desc": "Seconds allowed per tool run (default: no limit)"},
        "cache_dir": {"type": "str", "desc": "Flow-result cache folder shared by runs (default: "
                                             "~/.cache/edalize-dse/results or $EDALIZE_DSE_CACHE/results); "
                                             "'off' runs the tools for every point"},
        "activity": {"type": "real", "desc": "Switching activity for power: toggles per clock on every net "
                                             "(default 0.1)"},
    }

    @classmethod
    def get_tool_options(cls, flow_options):
        return {}

    def configure_flow(self, flow_options):
        # The points' tools are run by edalize-dse itself, not by edalize nodes.
        return FlowGraph()

    def configure_tools(self, graph):
        super().configure_tools(graph)
        self.commands.add([sys.executable, "-m", "edalize_dse", "run", "--config", RUN_CONFIG], ["dse"], [])
        self.commands.set_default_target("dse")

    # ---- run configuration
    def _space_file(self):
        option = self.flow_options.get("space")
        if option:
            return str(Path(option).expanduser().resolve())
        spaces = [f["name"] for f in self.edam.get("files", []) if f.get("file_type") == SPACE_FILE_TYPE]
        if len(spaces) != 1:
            raise RuntimeError(f"the dse flow needs one design-space file: set the 'space' flow option or give "
                               f"the core exactly one file with file_type {SPACE_FILE_TYPE} "
                               f"(found {len(spaces)})")
        return str((Path(self.work_root) / spaces[0]).resolve())

    def run_config(self):
        from edalize_dse.explore import RunConfig

        opts = self.flow_options
        output = opts.get("output") or os.path.join(self.work_root, "results")
        config = RunConfig(space=self._space_file(), output=str(Path(output).expanduser().resolve()))
        for option, field in (("budget", "budget"), ("strategy", "strategy"), ("seed", "seed"),
                              ("workers", "workers"), ("generator", "generator"), ("fidelity", "fidelity"),
                              ("promote", "promote"), ("chipyard_root", "chipyard_root"), ("workload", "workload"),
                              ("tool_timeout", "tool_timeout"), ("cache_dir", "cache_dir"),
                              ("activity", "activity")):
            if opts.get(option) not in (None, ""):
                setattr(config, field, opts[option])
        if opts.get("strategy_options"):
            from edalize_dse.errors import DseError
            from edalize_dse.strategies import parse_options

            try:
                config.strategy_options = parse_options(str(opts["strategy_options"]))
            except DseError as exc:
                raise RuntimeError(str(exc)) from None
        if opts.get("objectives"):
            config.objectives = [o.strip() for o in str(opts["objectives"]).split(",")]
        if config.workload and Path(config.workload).expanduser().is_file():
            config.workload = str(Path(config.workload).expanduser().resolve())
        if config.generator == "core":
            config.core = self._core_design()
        if config.cache_dir not in (None, "off"):
            config.cache_dir = str(Path(config.cache_dir).expanduser().resolve())
        return config

    def _core_design(self):
        """The core's own RTL, toplevel and vlogparam/vlogdefine values, for generator 'core'."""
        root = Path(self.work_root)
        files, include_dirs = [], []
        for f in self.edam.get("files", []):
            if not str(f.get("file_type", "")).startswith(VERILOG_FILE_TYPES):
                continue
            path = (root / f["name"]).resolve()
            if f.get("is_include_file"):
                include_dirs.append(str((root / f.get("include_path", Path(f["name"]).parent)).resolve()))
            else:
                files.append(str(path))
        params = self.edam.get("parameters", {})
        return {
            "top": self.edam.get("toplevel"),
            "files": files,
            "include_dirs": sorted(set(include_dirs)),
            "parameters": {k: v.get("default") for k, v in params.items() if v.get("paramtype") == "vlogparam"},
            "defines": {k: v.get("default") for k, v in params.items() if v.get("paramtype") == "vlogdefine"},
            "clock": self.flow_options.get("clock_port") or "clk",
        }

    def _write_run_config(self):
        config = self.run_config()
        Path(self.work_root).mkdir(parents=True, exist_ok=True)
        config.write_json(Path(self.work_root) / RUN_CONFIG)
        return config

    def configure(self):
        super().configure()
        self._write_run_config()

    def build(self):
        from edalize_dse.errors import DseError
        from edalize_dse.explore import check_inputs

        # FuseSoC skips configure() when the EDAM is unchanged: refresh the run
        # configuration, and stop with one clear line before make on bad input.
        config = self._write_run_config()
        try:
            check_inputs(config)
        except DseError as exc:
            raise RuntimeError(str(exc)) from None
        super().build()
