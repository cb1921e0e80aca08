"""The exploration: space -> strategy.ask -> generator -> flow -> metrics -> store ->
strategy.tell, until the budget of finished evaluations is spent.

The pipeline's parts live beside it: the run's options (``run_config``), the checks
before the first point (``preflight``), the ask/tell loops (``rounds``); this module
opens the output folder and its store, runs a loop and writes the reports. Their
names are re-exported here (``from edalize_dse.explore import RunConfig`` keeps working)."""

from __future__ import annotations

import logging
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from edalize_dse import report
from edalize_dse.errors import DseError
from edalize_dse.evaluate import EvaluationContext
from edalize_dse.executors import make_executor
from edalize_dse.identity import changes, run_identity, same_space_file
from edalize_dse.lock import OutputLock
from edalize_dse.preflight import Prepared, check_inputs, check_tools, platform_needs, prepare
from edalize_dse.qor_constraints import judge
from edalize_dse.rounds import promote, replay_rounds, run_asynchronously, run_in_rounds
from edalize_dse.run_config import MAXIMISED, RUN_RECORD, RunConfig, objectives_from_option
from edalize_dse.runner import allow_tools, stop_all_tools
from edalize_dse.store import STORE_NAME, Evaluation, Store, aside
from edalize_dse.strategies import make_strategy

__all__ = [
    "MAXIMISED",
    "RUN_RECORD",
    "Prepared",
    "RunConfig",
    "Summary",
    "check_inputs",
    "check_tools",
    "explore",
    "judge",
    "objectives_from_option",
    "open_store",
    "platform_needs",
    "prepare",
    "promote",
    "rejudge",
    "replay_rounds",
    "run_asynchronously",
    "run_in_rounds",
]

CONTROLLER_LOG = "controller.log"


def open_store(output: Path, identity: dict, restart: bool, space_file=None) -> Store:
    """The output folder's store, bound to this exploration's identity.

    Results are resumed only when everything they depend on is unchanged; otherwise
    one error names what changed, unless ``restart`` moves the old store aside."""
    path = output / STORE_NAME
    store = Store(path)
    recorded = store.recorded_identity()
    if recorded is None:
        store.record_identity(identity)
        return store
    recorded = same_space_file(recorded, space_file, identity["space"])
    changed = (
        changes(recorded, identity)
        if recorded
        else ["results made by an early edalize-dse 0.1.0 that did not record what they depend on"]
    )
    if not changed:
        store.record_identity(identity)  # as this version words it
        return store
    store.close()
    if not restart:
        raise DseError(
            f"{output} holds results of a different exploration (changed: {'; '.join(changed)}); "
            "they are not reused: give another --output, or --restart (FuseSoC: --restart) "
            "to start afresh there (the old store is kept beside it as dse.sqlite.old, .old.2, ...)"
        )
    old = aside(path, "old")
    path.replace(old)
    print(f"note: --restart: the earlier results are kept as {old}", flush=True)
    store = Store(path)
    store.record_identity(identity)
    return store


@dataclass
class Summary:
    output: Path
    space: object
    evaluations: list[Evaluation]
    new: int
    files: dict
    exhausted: bool = False  # the strategy ran out of unseen valid points before the budget
    timed_out: list = field(default_factory=list)  # point ids not recorded: the next run tries them again


def rejudge(store: Store, evaluations: list[Evaluation], space) -> None:
    """A resumed run judges the stored points by its own QoR constraints (the option may differ)."""
    changed = {}
    for ev in evaluations:
        before = ev.violation
        if judge(ev, space).violation != before:
            changed[ev.id] = ev.violation
    if changed:
        store.set_violations(changed)


def explore(config: RunConfig, progress: bool = True) -> Summary:
    from edalize_dse import ci

    prep = check_inputs(config)
    check_tools(prep)
    output = Path(config.output)
    created = not output.exists()  # a run refused before its store opens leaves no folder behind
    output.mkdir(parents=True, exist_ok=True)
    # One writer per output folder: a second run is refused here, before it starts a tool.
    lock = OutputLock(output).acquire()
    allow_tools()
    # The model-based strategies log each round's wall time (fit, sample, screen).
    controller_log = logging.FileHandler(output / CONTROLLER_LOG)
    controller_log.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    strategy_logger = logging.getLogger("edalize_dse.strategies")
    strategy_logger.addHandler(controller_log)
    strategy_logger.setLevel(logging.INFO)
    # The cluster executors log the nodes they checked and every point started again.
    executor_logger = logging.getLogger("edalize_dse.executors")
    executor_logger.addHandler(controller_log)
    executor_logger.setLevel(logging.INFO)

    def release() -> None:
        strategy_logger.removeHandler(controller_log)
        executor_logger.removeHandler(controller_log)
        controller_log.close()
        lock.release()

    executor = None
    try:
        # The nodes are checked before the store is opened: with a cluster executor the
        # tools and cell data that make the results are the nodes', and the run's
        # identity must record those, or a resumed run would reuse results of old tools.
        executor = make_executor(config)
        nodes = executor.check_nodes(prep.flows)
        prep.tool_versions.update(nodes.versions)
        store = open_store(output, run_identity(config, prep, nodes.platform), config.restart, config.space)
    except BaseException:
        if executor is not None:
            executor.shutdown()
        release()
        if created:
            shutil.rmtree(output, ignore_errors=True)
        raise
    try:
        # The run configuration next to its results (``edalize-dse export`` reads it).
        config.write_json(output / RUN_RECORD)
        rejudge(store, store.evaluations(), prep.space)
        done = store.evaluations(fidelity=prep.flow.name)
        strategy = make_strategy(config.strategy, prep.space, config.seed, **config.all_strategy_options())
        if prep.prior is not None:  # earlier data first, as in every run with this prior (a resumed one too)
            for line in prep.prior.lines:
                strategy_logger.info(line)
                print(line, flush=True)
            strategy.warm_start(prep.prior.evaluations, prep.prior.excluded, config.prior_weight)
        if not config.round_size:
            strategy.tell(done)  # rounds: replayed by run_in_rounds, round by round
        ctx = EvaluationContext(
            prep.space,
            prep.generator,
            prep.flow,
            output / "points",
            prep.tool_versions,
            strategy=config.strategy,
            workload=config.workload_options(),
        )
        remaining = config.budget - len(done)
        rounds = max((e.round for e in done), default=0)
        new = 0
        timed_out = []
        # A terminal gets a progress bar; a pipe (a CI log) one plain line per finished evaluation.
        lines = progress and not sys.stdout.isatty()
        bar = tqdm(
            total=config.budget,
            initial=min(len(done), config.budget),
            unit="eval",
            desc=f"dse[{config.strategy}]",
            disable=not progress or lines,
            dynamic_ncols=True,
        )
        finished = len(done)

        def record(ev) -> bool:
            """Store a finished evaluation; a timed-out one is not stored (nor told): the next run retries it."""
            nonlocal new, finished
            if ev.status == "timeout":
                timed_out.append(ev.point_id)
                bar.set_postfix_str(f"{ev.point_id} timed out, retried on the next run")
                return False
            store.add(judge(ev, prep.space))
            new += 1
            finished += 1
            if lines:
                print(ci.evaluation_line(ev, prep.space, finished, config.budget), flush=True)
            bar.update(1)
            bar.set_postfix_str(f"{ev.point_id} {ev.status}")
            return True

        try:
            if config.round_size:
                rounds = run_in_rounds(config, strategy, executor, ctx, done, record)
            else:
                rounds = run_asynchronously(strategy, executor, ctx, remaining, rounds, record)
            if prep.promoted_flow is not None:
                promote(prep, store, executor, ctx, rounds + 1)
        except BaseException:
            # Stopping (an environment fault, Ctrl-C, SIGTERM): the points in flight are not
            # recorded, so their tools are killed now rather than waited for.
            stop_all_tools()
            raise
        finally:
            bar.close()
            executor.shutdown()
        evaluations = store.evaluations()
        files = report.write_all(output, prep.space, evaluations)
        files.update(ci.write_outputs(output, prep.space, evaluations))
        explored = [e for e in evaluations if e.fidelity == prep.flow.name]
        return Summary(
            output=output,
            space=prep.space,
            evaluations=evaluations,
            new=new,
            files=files,
            exhausted=len(explored) < config.budget and not timed_out,
            timed_out=timed_out,
        )
    finally:
        executor.shutdown()  # at once after the loop (above); here after a failure before it
        store.close()
        release()
