"""The edalize flow ``dse``: design-space exploration with edalize-dse.

FuseSoC loads this module as ``edalize.flows.dse`` (``edalize`` and
``edalize.flows`` are namespace packages, so this file sits beside edalize's
own flows). Heavy imports stay inside the methods: an import error at module
level would make FuseSoC report the flow as not found.

configure() writes the run configuration (dse-run.json) and a Makefile whose
default target runs ``python -m edalize_dse run --config dse-run.json``, so the
work root can be re-run by hand with ``make``. build() checks the inputs (space,
names, platform), then runs that command itself, as FuseSoC's own child rather
than make's: a signal FuseSoC gets (Ctrl-C, SIGTERM) is handed on to the run, FuseSoC
waits for the run's clean-up, and FuseSoC's exit status is the run's (README "Exit
status"), where through make it would be 1 for every failure and 0 after Ctrl-C.

A ``generator: core`` target without a design-space file explores a default
space (``edalize_dse.default_space``: the target's vlogparams and the flow's
knobs), written to the output folder as ``default_space.yml`` and printed first."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from edalize.flows.edaflow import Edaflow, FlowGraph
from edalize_dse.options import flow_options_table, options

RUN_CONFIG = "dse-run.json"
# --exit-with-parent: the run stops (as by SIGTERM) when its parent, FuseSoC or make, dies.
RUN_COMMAND = [sys.executable, "-m", "edalize_dse", "run", "--config", RUN_CONFIG, "--exit-with-parent"]
# Exit status of a run refused before it started (edalize_dse.exit_status.BAD_INPUT).
BAD_INPUT = 2
SPACE_FILE_TYPE = "dseSpace"
# EDAM file types the 'core' generator hands to synthesis (prefixes: verilogSource-2005 etc.).
VERILOG_FILE_TYPES = ("verilogSource", "systemVerilogSource")
# The design's timing constraints, and hard macros' views (liberty for synthesis and STA, LEF for P&R).
SDC_FILE_TYPE = "SDC"
MACRO_FILE_TYPES = {"liberty": "liberty", "LEF": "lef"}


class Dse(Edaflow):
    """Explore accelerator and EDA-tool parameters on real synthesis and timing."""

    argtypes = ["vlogdefine", "vlogparam"]

    FLOW_DEFINED_TOOL_OPTIONS = {}

    # Every run option, from the one table in edalize_dse.options (type, default, help).
    FLOW_OPTIONS = {
        **Edaflow.FLOW_OPTIONS,
        **flow_options_table(
            {
                "space": f"the core's file of type {SPACE_FILE_TYPE}",
                "output": "<work root>/results; relative paths are taken from where FuseSoC runs",
            }
        ),
    }

    @classmethod
    def get_tool_options(cls, flow_options):
        return {}

    def configure_flow(self, flow_options):
        # The points' tools are run by edalize-dse itself, not by edalize nodes.
        return FlowGraph()

    def configure_tools(self, graph):
        super().configure_tools(graph)
        # --exit-with-parent: when FuseSoC is interrupted it kills make; the run stops with it.
        self.commands.add(RUN_COMMAND, ["dse"], [])
        self.commands.set_default_target("dse")

    # ---- run configuration
    def _space_file(self):
        option = self.flow_options.get("space")
        if option:
            return str(Path(option).expanduser().resolve())
        spaces = [f["name"] for f in self.edam.get("files", []) if f.get("file_type") == SPACE_FILE_TYPE]
        if not spaces and self.flow_options.get("generator") in ("core", None, ""):
            return None  # zero-configuration start: run_config writes the default space of the core's RTL
        if len(spaces) != 1:
            raise RuntimeError(
                f"the dse flow needs one design-space file: set the 'space' flow option or give "
                f"the core exactly one file with file_type {SPACE_FILE_TYPE} "
                f"(found {len(spaces)})"
            )
        return str((Path(self.work_root) / spaces[0]).resolve())

    def run_config(self):
        from edalize_dse.explore import RunConfig

        opts = self.flow_options
        output = str(Path(opts.get("output") or os.path.join(self.work_root, "results")).expanduser().resolve())
        space = self._space_file()
        config = RunConfig(space=space, output=output)
        if space is None and not opts.get("generator"):
            config.generator = "core"  # no generator and no space: the core's own RTL
        for name, option in options().items():
            value = opts.get(name)
            if name in ("space", "output") or not option.user or value in (None, ""):
                continue
            if option.kind == "dict":  # KEY=VALUE,KEY=VALUE
                from edalize_dse.errors import DseError
                from edalize_dse.strategies import parse_options

                try:
                    value = parse_options(str(value))
                except DseError as exc:
                    raise RuntimeError(str(exc)) from None
            setattr(config, name, value)
        if config.prior:  # relative to where FuseSoC runs, like output (make runs in the work root)
            items = config.prior.split(",") if isinstance(config.prior, str) else config.prior
            config.prior = [str(Path(p.strip()).expanduser().resolve()) for p in items if p.strip()]
        if config.workload and Path(config.workload).expanduser().is_file():
            config.workload = str(Path(config.workload).expanduser().resolve())
        if config.generator == "core":
            config.core = self._core_design()
        if space is None:
            config.space = self._write_default_space(config)
        if config.cache_dir not in (None, "off"):
            config.cache_dir = str(Path(config.cache_dir).expanduser().resolve())
        return config

    def _core_design(self):
        """The core's own RTL, toplevel and vlogparam/vlogdefine values, for generator 'core'."""
        root = Path(self.work_root)
        files, include_dirs, sdcs, macros = [], [], [], {"liberty": [], "lef": []}
        for f in self.edam.get("files", []):
            file_type = str(f.get("file_type", ""))
            if file_type == SDC_FILE_TYPE:
                sdcs.append(str((root / f["name"]).resolve()))
                continue
            if file_type in MACRO_FILE_TYPES:
                macros[MACRO_FILE_TYPES[file_type]].append(str((root / f["name"]).resolve()))
                continue
            if not file_type.startswith(VERILOG_FILE_TYPES):
                continue
            path = (root / f["name"]).resolve()
            if f.get("is_include_file"):
                include_dirs.append(str((root / f.get("include_path", Path(f["name"]).parent)).resolve()))
            else:
                files.append(str(path))
        if len(sdcs) > 1:
            raise RuntimeError(f"the dse flow reads one SDC file; the target has {len(sdcs)}: {', '.join(sdcs)}")
        params = self.edam.get("parameters", {})
        return {
            "sdc": sdcs[0] if sdcs else None,
            "macros": macros,
            "top": self.edam.get("toplevel"),
            "files": files,
            "include_dirs": sorted(set(include_dirs)),
            "parameters": {k: v.get("default") for k, v in params.items() if v.get("paramtype") == "vlogparam"},
            "defines": {k: v.get("default") for k, v in params.items() if v.get("paramtype") == "vlogdefine"},
        }

    def _write_default_space(self, config) -> str:
        from edalize_dse import default_space
        from edalize_dse.errors import DseError
        from edalize_dse.flows import get_flow

        try:
            flow = get_flow(config.fidelity.split("+")[0])
        except DseError as exc:
            raise RuntimeError(str(exc)) from None
        name = str(self.edam.get("name") or config.core.get("top") or "core").replace(":", "_")
        path = Path(config.output) / default_space.DEFAULT_SPACE_FILE
        clock_ps = None
        if config.core.get("sdc"):  # the design's own clock is the one to explore around
            from edalize_dse import sdc

            try:
                clock_ps = sdc.base_period(sdc.read(config.core["sdc"]), config.core["sdc"])
            except DseError as exc:
                raise RuntimeError(str(exc)) from None
        doc = default_space.default_space(name, config.core.get("parameters", {}), flow, clock_ps=clock_ps)
        self.default_space_text = default_space.write(path, doc)
        return str(path)

    def _write_run_config(self):
        try:
            config = self.run_config()
        except RuntimeError as exc:  # bad flow options or target: one line, nothing ran
            refuse(str(exc))
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
        if getattr(self, "default_space_text", None):
            print(
                f"dse: no design-space file in the target: exploring the default space written to "
                f"{config.space} (edit it and pass it back with the flow option 'space'):\n"
                f"{self.default_space_text}",
                flush=True,
            )
        try:
            check_inputs(config)
        except DseError as exc:
            refuse(str(exc))
        code = run_in_foreground(RUN_COMMAND, self.work_root)
        if code != 0:
            raise SystemExit(code)  # the run printed its one line; FuseSoC exits with its status


def refuse(problem: str):
    """Stop FuseSoC before the run starts: one line, the run's exit status for bad input."""
    print(f"edalize-dse: error: {' '.join(problem.split())}", file=sys.stderr, flush=True)
    raise SystemExit(BAD_INPUT)


def run_in_foreground(cmd, cwd) -> int:
    """Run ``cmd`` and return its exit status (128 + N when signal N ended it). SIGINT,
    SIGTERM and SIGHUP sent to this process meanwhile are passed on to it (it stops its
    tools, prints one line and exits by the first signal it got); this process waits."""
    proc = subprocess.Popen(cmd, cwd=cwd)
    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, lambda signum, frame: proc.send_signal(signum)) for sig in stops}
    try:
        code = proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code if code >= 0 else 128 - code
