"""Command line: ``edalize-dse run | report | compare | export | recover | options | import-orfs | check-space``.

FuseSoC's ``dse`` flow calls ``python -m edalize_dse run --config dse-run.json``;
users can call the same commands directly, without FuseSoC."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from edalize_dse import __version__, exit_status, signals
from edalize_dse.errors import DseError, EnvironmentFault
from edalize_dse.faults import environment_problem, log_internal_error

# An error line is one line of at most this many characters (a tool's or a file's text
# quoted in it is cut), so a CI log shows it whole.
MAX_LINE = 500


def _run(args) -> int:
    from edalize_dse.explore import RunConfig, explore
    from edalize_dse.options import options
    from edalize_dse.report import summary_text
    from edalize_dse.store import STORE_NAME
    from edalize_dse.strategies import parse_options

    if args.config:
        config = RunConfig.from_json(args.config)
    else:
        if not args.space or not args.output:
            raise DseError("run needs --space and --output (or --config FILE)")
        config = RunConfig(space=args.space, output=args.output)
    for name, option in options().items():
        value = getattr(args, name, None)
        if value is None or name in ("space", "output") and args.config is None:
            continue
        if option.kind == "dict":  # repeated KEY=VALUE, merged over the configuration's
            value = {**getattr(config, name), **parse_options(value)}
        elif option.kind == "list":  # repeated, each possibly comma-separated
            value = [v.strip() for item in value for v in item.split(",") if v.strip()]
        setattr(config, name, value)
    args.output_dir = config.output  # where an internal error's details go
    if args.exit_with_parent:
        _exit_with_parent()
    summary = explore(config, progress=not args.no_progress)
    print(summary_text(summary.space, summary.evaluations, summary.files))
    print(
        f"{summary.new} evaluation(s) run now, {len(summary.evaluations) - summary.new} resumed from "
        f"{summary.output / STORE_NAME}"
    )
    if summary.timed_out:
        print(
            f"note: {len(summary.timed_out)} point(s) ran past tool_timeout and were not recorded "
            f"({', '.join(summary.timed_out)}); the next run tries them again (or raise tool_timeout)"
        )
    if summary.exhausted:
        print(
            f"note: the space has no unevaluated valid point left; {len(summary.evaluations)} of the "
            f"budget of {config.budget} were run"
        )
    explored = (
        [e for e in summary.evaluations if e.fidelity == summary.evaluations[0].fidelity] if summary.evaluations else []
    )
    if not explored and summary.timed_out:
        error_line(
            f"every one of the {len(summary.timed_out)} point(s) evaluated ran past tool_timeout "
            f"({config.tool_timeout:g} s) and none was recorded; raise tool_timeout (or leave it unset: no "
            "limit) and re-run the same command to evaluate them"
        )
        return exit_status.ALL_TIMED_OUT
    if explored and not any(e.ok for e in explored):
        # Nothing was measured: a CI job must not read this run as a result.
        error_line(
            f"every one of the {len(explored)} evaluations failed; the first: "
            f"{explored[0].error} (log: {explored[0].log_path})"
        )
        return exit_status.ALL_FAILED
    return _outcome(summary.space, summary.evaluations, summary.files)


def _outcome(space, evaluations, files) -> int:
    """0 with a feasible point, else NO_FEASIBLE and the one-line reason (stderr)."""
    from edalize_dse.ci import no_feasible_reason

    if "report_html" in files:
        print(f"Report: {Path(files['report_html']).resolve()}")
    reason = no_feasible_reason(space, evaluations)
    if reason:
        print(f"edalize-dse: {one_line(reason)}", file=sys.stderr)
        return exit_status.NO_FEASIBLE
    return exit_status.OK


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """``text`` on one line of at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 20] + " ... (cut)"


def error_line(text: str) -> None:
    print(f"edalize-dse: error: {one_line(text)}", file=sys.stderr)


def _report(args) -> int:
    from edalize_dse.ci import read_run_record, write_outputs
    from edalize_dse.explore import judge, objectives_from_option
    from edalize_dse.qor_constraints import parse_all
    from edalize_dse.report import summary_text, write_all
    from edalize_dse.space import load_space
    from edalize_dse.store import STORE_NAME, Store

    store_path = Path(args.output) / STORE_NAME
    if not store_path.is_file():
        raise DseError(f"{store_path} not found: '{args.output}' is not an edalize-dse output directory")
    space = load_space(args.space)
    # The run's own objectives and QoR constraints when its options replaced the space file's.
    record = read_run_record(Path(args.output))
    if record.get("objectives"):
        space.objectives = objectives_from_option(record["objectives"])
    if record.get("qor_constraints") is not None:
        space.qor_constraints = parse_all(record["qor_constraints"], f"{args.output}/run.json")
    store = Store(store_path)
    try:
        evaluations = store.evaluations()
    finally:
        store.close()
    for ev in evaluations:
        judge(ev, space)
    files = write_all(Path(args.output), space, evaluations)
    files.update(write_outputs(Path(args.output), space, evaluations, record))
    print(summary_text(space, evaluations, files))
    return _outcome(space, evaluations, files)


def _compare(args) -> int:
    from edalize_dse.ci import COMPARE_EXIT, compare

    verdict, text = compare(args.old, args.new, args.tolerance)
    print(text)
    return COMPARE_EXIT[verdict]


def _export(args) -> int:
    from edalize_dse.export import export_point

    dest, notes = export_point(Path(args.output), args.point, Path(args.to) if args.to else None)
    print(f"point {args.point} exported to {dest}:")
    for f in sorted(dest.iterdir()):
        print(f"  {f.name}{'/' if f.is_dir() else ''}")
    for note in notes:
        print(f"note: {note}")
    return 0


def _recover(args) -> int:
    from edalize_dse.recover import recover

    done = recover(Path(args.output))
    print(
        f"recovered {done.kept} evaluation(s) into {done.store}"
        + (
            f"; {done.lost} row(s) could not be read and will be evaluated again"
            if done.lost
            else "; the rows on its damaged pages could not be read and will be evaluated again"
            if done.lost is None
            else ""
        )
        + f"; the damaged file is kept as {done.damaged}"
    )
    if not done.identity:
        print(
            "note: the run's identity could not be read: resuming there needs --restart (which sets these rows "
            "aside too); 'edalize-dse report' reads them as they are"
        )
    return exit_status.OK


def _check_space(args) -> int:
    from edalize_dse.space import load_space

    space = load_space(args.space)
    if args.config:
        # The names too: against the generator, the flow's knobs and metrics, as a run checks them.
        from edalize_dse.explore import RunConfig, check_inputs

        config = RunConfig.from_json(args.config)
        config.space = str(args.space)
        check_inputs(config)
        scope = f"valid for generator '{config.generator}' and fidelity '{config.fidelity}'"
    else:
        scope = (
            "valid as a file (its hardware and EDA names are checked against a generator and flow "
            "only with --config, e.g. the dse-run.json FuseSoC writes in the work root)"
        )
    valid = space.enumerate_valid()
    print(f"{space.path}: space '{space.name}' is {scope}")
    for layer in ("hardware", "eda"):
        params = space.layer(layer)
        print(f"  {layer}: " + ", ".join(f"{p.name} ({p.type})" for p in params))
    for c in space.constraints:
        print(f"  constraint {c.name}: {c.expr}")
    print("  objectives: " + ", ".join(f"{o.name} ({o.goal})" for o in space.objectives))
    for c in space.qor_constraints:
        print(f"  QoR constraint: {c.text}")
    print(f"  valid points: {len(valid) if valid is not None else 'not enumerable (float or very large)'}")
    return 0


def add_option_arguments(parser) -> None:
    """One command-line argument per user run option (options.py), grouped by concern."""
    from edalize_dse.options import GROUPS, KINDS, by_group, describe

    convert = {"int": int, "real": float, "str": str, "list": str, "dict": str}
    for group, opts in by_group().items():
        arguments = parser.add_argument_group(f"{group} options", GROUPS[group])
        for o in opts:
            if not o.user:
                continue
            flag = "--" + o.name.replace("_", "-")
            if o.kind == "bool":
                arguments.add_argument(flag, dest=o.name, action="store_const", const=True, help=describe(o))
            elif o.kind == "dict":
                # --strategy-option KEY=VALUE reads better repeated: the singular is accepted too.
                arguments.add_argument(
                    flag,
                    flag.rstrip("s"),
                    dest=o.name,
                    action="append",
                    metavar="KEY=VALUE",
                    help=describe(o) + " (repeatable)",
                )
            elif o.kind == "list":
                # --prior A --prior B, or --prior A,B: the run flattens them (_run).
                arguments.add_argument(
                    flag,
                    dest=o.name,
                    action="append",
                    help=describe(o) + " (repeatable)",
                    metavar=KINDS[o.kind][0].split()[-1].upper(),
                )
            else:
                arguments.add_argument(
                    flag,
                    dest=o.name,
                    type=convert[o.kind],
                    help=describe(o),
                    metavar=KINDS[o.kind][0].split()[-1].upper(),
                )


def _options(args) -> int:
    from edalize_dse.options import markdown_table

    print(markdown_table(), end="")
    return 0


def _import_orfs(args) -> int:
    from edalize_dse.orfs_import import import_orfs

    core, space, design = import_orfs(args.config, args.to, args.flow_variant, args.link)
    cores_root = core.parent.parent
    print(
        f"Imported {design.name} (top {design.top}, {len(design.verilog_files)} RTL files, SDC {design.sdc.name}"
        + (f", {len(design.macro_libs)} macro liberty view(s)" if design.macro_libs else "")
        + (", SystemVerilog through slang" if design.frontend == "slang" else "")
        + ")"
    )
    print(f"  core:  {core}\n  space: {space}")
    print(f"Run it: fusesoc --cores-root {cores_root} run --target=dse orfs:asap7:{design.name}")
    return 0


class _Parser(argparse.ArgumentParser):
    """A usage error is one line (the usage block is for ``--help``)."""

    def error(self, message):
        self.exit(
            exit_status.BAD_INPUT,
            f"edalize-dse: error: {one_line(message)} ('{self.prog} --help' lists the commands and options)\n",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="edalize-dse", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"edalize-dse {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="explore a design space (resumes an existing output directory)")
    run.add_argument(
        "--config", help="run configuration JSON (as written by the FuseSoC flow); options given here override it"
    )
    add_option_arguments(run)
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    # The FuseSoC flow's Makefile passes it: when FuseSoC is interrupted it kills make,
    # and the run must not go on as an orphan.
    run.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    run.set_defaults(func=_run)

    rep = sub.add_parser("report", help="rewrite the CSV files, plot, report.html and summary of an output directory")
    rep.add_argument("output")
    rep.add_argument("--space", required=True, help="the design-space file the exploration used")
    rep.set_defaults(func=_report)

    cmp_ = sub.add_parser(
        "compare",
        help="compare a run's feasible front with a baseline's (exit status: 0 match, "
        f"{exit_status.COMPARE_DOMINATES} NEW dominates, "
        f"{exit_status.COMPARE_REGRESSES} NEW regresses)",
    )
    cmp_.add_argument("old", help="the baseline run's output folder (or its summary.json)")
    cmp_.add_argument("new", help="the new run's output folder (or its summary.json)")
    cmp_.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        help="relative tolerance: NEW within it of an OLD value counts as equal (default 0)",
    )
    cmp_.set_defaults(func=_compare)

    exp = sub.add_parser("export", help="write a point's ORFS config.mk + constraint.sdc (and Gemmini Scala config)")
    exp.add_argument("output", help="the exploration's output directory")
    exp.add_argument("--point", required=True, help="point id (see evaluations.csv)")
    exp.add_argument("--to", help="destination folder (default: <output>/export/<point>)")
    exp.set_defaults(func=_export)

    rec = sub.add_parser(
        "recover",
        help="keep every readable row of a damaged store (dse.sqlite), set the damaged "
        "file aside; then the same run command resumes",
    )
    rec.add_argument("output", help="the exploration's output directory")
    rec.set_defaults(func=_recover)

    opt = sub.add_parser("options", help="every run option, grouped by concern (a Markdown table)")
    opt.set_defaults(func=_options)

    imp = sub.add_parser(
        "import-orfs",
        help="an OpenROAD-flow-scripts design (its config.mk) as a FuseSoC core "
        "and design-space file for 'fusesoc run --target=dse'",
    )
    imp.add_argument("config", help="the design's config.mk (in an ORFS tree, or a design folder with src/)")
    imp.add_argument("--to", default=".", help="folder to write <name>/<name>.core and its space into (default .)")
    imp.add_argument("--flow-variant", help="FLOW_VARIANT the config.mk is read with (default: none, as ORFS's base)")
    imp.add_argument(
        "--link",
        action="store_true",
        help="link the design's files into the core folder instead of "
        "copying them (edits to the RTL then reach the core)",
    )
    imp.set_defaults(func=_import_orfs)

    chk = sub.add_parser("check-space", help="validate a design-space file and describe it")
    chk.add_argument("space")
    chk.add_argument(
        "--config",
        help="a run configuration (e.g. the FuseSoC work root's dse-run.json): also "
        "check the space's names against its generator, core and flow",
    )
    chk.set_defaults(func=_check_space)
    return parser


def _exit_with_parent() -> None:
    """Linux: get SIGTERM when the parent (FuseSoC's make) dies, so the run stops with it."""
    import ctypes
    import os

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def stopped_line(exc: KeyboardInterrupt) -> int:
    """The one line and exit status of a run stopped by a signal (the first one received)."""
    signum = signals.first_signal(exc)
    how = "interrupted" if signum == signal.SIGINT else f"stopped by {signum.name}"
    print(
        f"edalize-dse: {how}; every tool was stopped, finished evaluations are in the store, re-run the "
        "same command to resume",
        file=sys.stderr,
    )
    return exit_status.BY_SIGNAL[signum]


def main(argv=None) -> int:
    signals.install()  # already done by ``python -m edalize_dse``; here for callers of main()
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except KeyboardInterrupt as exc:
        return stopped_line(exc)
    except EnvironmentFault as exc:
        error_line(str(exc))
        return exit_status.ENVIRONMENT
    except DseError as exc:
        error_line(str(exc))
        return exit_status.BAD_INPUT
    except Exception as exc:
        problem = environment_problem(exc)
        if problem:
            error_line(f"{problem}; fix the machine and re-run the same command to resume")
            return exit_status.ENVIRONMENT
        args = locals().get("args")
        log = log_internal_error(exc, getattr(args, "output_dir", None) or getattr(args, "output", None))
        print(
            f"edalize-dse: internal error {type(exc).__name__}: {one_line(exc, 200)} (details in {log}; please "
            "report it)",
            file=sys.stderr,
        )
        return exit_status.INTERNAL
