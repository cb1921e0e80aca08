"""The exploration loop: space -> strategy.ask -> generator -> flow -> metrics ->
store -> strategy.tell, until the budget of finished evaluations is spent.

Everything that can be checked without running a tool (the space file, knob
and parameter names, objectives, the platform, the tools) is checked in
``prepare`` before the first point starts."""

from __future__ import annotations

import copy
import json
import logging
import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from edalize_dse import report
from edalize_dse.errors import DseError, SpaceError
from edalize_dse.evaluate import EvaluationContext
from edalize_dse.executors import make_executor
from edalize_dse.flows import get_flow
from edalize_dse.generators import get_generator
from edalize_dse.identity import changes, run_identity, same_space_file
from edalize_dse.lock import OutputLock
from edalize_dse.options import GROUPS, by_group, options
from edalize_dse.pareto import promotion_order
from edalize_dse.runner import allow_tools, stop_all_tools
from edalize_dse.qor_constraints import check_metrics as check_constraint_metrics
from edalize_dse.qor_constraints import parse_all as parse_qor_constraints
from edalize_dse.qor_constraints import violation
from edalize_dse.space import load_space
from edalize_dse.store import STORE_NAME, Evaluation, Store, aside
from edalize_dse.strategies import make_strategy


CONTROLLER_LOG = "controller.log"

log = logging.getLogger("edalize_dse.strategies.rounds")


RUN_RECORD = "run.json"


class RunConfig:
    """One run's options (``options.options()``), read and set as attributes
    (``config.workers``); written grouped by concern to ``run.json``."""

    def __init__(self, **values):
        table = options()
        unknown = sorted(set(values) - set(table))
        if unknown:
            raise DseError(f"unknown run option(s) {', '.join(unknown)}; known: {', '.join(table)}")
        for name, option in table.items():
            setattr(self, name, values[name] if name in values else copy.deepcopy(option.default))

    @classmethod
    def from_json(cls, path) -> "RunConfig":
        """A run configuration file: ``{group: {option: value}}`` as ``write_json`` writes it
        (a flat ``{option: value}``, as older versions wrote, is read too)."""
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DseError(f"cannot read run configuration {path}: {exc}") from None
        if not isinstance(doc, dict):
            raise DseError(f"{path}: a run configuration is a JSON object of option groups")
        flat = {}
        for key, value in doc.items():
            if key in GROUPS and isinstance(value, dict):
                flat.update(value)
            else:
                flat[key] = value
        try:
            config = cls(**flat)
        except DseError as exc:
            raise DseError(f"{path}: {exc}") from None
        config.check(source=str(path))
        return config

    def as_dict(self) -> dict:
        """``{group: {option: value}}`` in declaration order."""
        return {group: {o.name: getattr(self, o.name) for o in opts} for group, opts in by_group().items()}

    def write_json(self, path) -> None:
        Path(path).write_text(json.dumps(self.as_dict(), indent=2) + "\n")

    def check(self, source: str = "run configuration") -> None:
        """Each option's type and range (``Option.coerce``); raises DseError naming the option."""
        for name, option in options().items():
            setattr(self, name, option.coerce(getattr(self, name), source))

    def all_strategy_options(self) -> dict:
        """The strategy's options; ``dosa`` models the run's workload unless told another."""
        options = dict(self.strategy_options)
        if self.strategy == "dosa" and self.workload:
            options.setdefault("workload", self.workload)
            options.setdefault("dram_pj_per_byte", self.dram_pj_per_byte)
            options.setdefault("dram_bytes_per_cycle", self.dram_bytes_per_cycle)
        return options

    def workload_options(self) -> dict | None:
        if not self.workload:
            return None
        return dict(workload=self.workload, dram_pj_per_byte=self.dram_pj_per_byte,
                    dram_bytes_per_cycle=self.dram_bytes_per_cycle)

    def flow_options(self) -> dict:
        caching = self.cache_dir != "off"
        return dict(timeout_s=self.tool_timeout, cache=caching, cache_dir=self.cache_dir if caching else None,
                    activity=self.activity, frontend=self.frontend)


@dataclass
class Prepared:
    config: RunConfig
    space: object
    generator: object
    flow: object  # the flow every point runs (the first of the fidelity)
    promoted_flow: object = None  # synth+orfs: the flow of the promoted points
    prior: object = None  # prior.Prior: earlier data mapped onto the space (option prior)
    tool_versions: dict = field(default_factory=dict)

    @property
    def flows(self) -> list:
        return [f for f in (self.flow, self.promoted_flow) if f is not None]


def check_inputs(config: RunConfig) -> Prepared:
    """Every check that starts no process: options, space file, names, platform.

    Raises DseError with one clear line."""
    config.check()
    space = load_space(config.space)
    if config.objectives:
        space.objectives = objectives_from_option(config.objectives)
    constraints_source = str(space.path)
    if config.qor_constraints is not None:
        constraints_source = "run option qor_constraints"
        space.qor_constraints = parse_qor_constraints(config.qor_constraints, constraints_source)
    generator = get_generator(config.generator, core=config.core, chipyard_root=config.chipyard_root,
                              timeout_s=config.tool_timeout, clock_port=config.clock_port,
                              frontend=config.frontend)
    if hasattr(generator, "check"):
        generator.check()  # an external generator's checkout
    flows = [get_flow(name, **config.flow_options()) for name in config.fidelity.split("+")]
    make_strategy(config.strategy, space, config.seed, **config.all_strategy_options())  # name and options
    for p in space.layer("hardware"):
        if p.name not in generator.PARAMETERS:
            raise SpaceError(space.path, f"generator '{generator.name}' has no such hardware parameter "
                                         f"(known: {', '.join(generator.PARAMETERS)})", p.name)
    for p in space.layer("eda"):
        owners = [f for f in flows if p.name in f.KNOBS]
        if not owners:
            known = sorted({k for f in flows for k in f.KNOBS})
            raise SpaceError(space.path, f"fidelity '{config.fidelity}' has no such EDA knob "
                                         f"(known: {', '.join(known)})", p.name)
        for flow in owners:
            values = p.values()
            # The ends of a long range stand for it (an int knob may span 10**12 values).
            for value in values if values is not None and len(values) <= 1000 else [p.low, p.high]:
                problems = flow.check_knobs({p.name: value})
                if problems:
                    raise SpaceError(space.path, f"flow '{flow.name}': {problems[0]}", p.name)
    workload_metrics = []
    if config.workload:
        from edalize_dse.workload.hardware import WORKLOAD_METRICS
        from edalize_dse.workload.layers import load_workload

        load_workload(config.workload)  # a bad file stops here, before any tool
        if generator.name != "embedded":
            raise DseError(f"the workload model (option workload) needs generator 'embedded', not '{generator.name}'")
        workload_metrics = list(WORKLOAD_METRICS)
    for flow in flows:
        known_metrics = [*flow.METRICS, *generator.DERIVED_METRICS, *workload_metrics]
        for o in space.objectives:
            if o.name not in known_metrics:
                raise SpaceError(space.path, f"objective '{o.name}' is not measured by flow '{flow.name}' with "
                                             f"generator '{generator.name}' (known: {', '.join(known_metrics)})")
        check_constraint_metrics(space.qor_constraints, known_metrics, constraints_source)
    hw_default, _ = space.split(space.default_point())
    broken = generator.violations(generator.resolve(hw_default))
    if broken:
        raise SpaceError(space.path, f"the default point is not a valid {generator.name} configuration: {broken[0]}")
    if config.executor == "local":  # elsewhere each node finds its own platform (executors.check_nodes)
        for flow in flows:
            flow.check_platform(**platform_needs(space, flow))
    prior = None
    if config.prior:
        from edalize_dse.prior import load_prior

        prior = load_prior(config.prior, space, flows[0].name, config.output)  # a bad entry stops here
    return Prepared(config, space, generator, flows[0], flows[1] if len(flows) > 1 else None, prior=prior)


def platform_needs(space, flow) -> dict:
    """The corners and threshold flavours the space's points will read the liberty files of."""
    def values(name):
        param = space.parameters.get(name)
        if param is None:
            return [flow.KNOBS[name].default] if name in flow.KNOBS else []
        listed = param.values()
        return list(listed) if listed is not None and len(listed) <= 1000 else [param.default]

    vts = sorted({vt for value in values("ASAP7_USE_VT") for vt in str(value).split()}) or ["RVT"]
    return dict(corners=sorted({str(c) for c in values("CORNER")}) or ["TC"], vts=vts)


def prepare(config: RunConfig) -> Prepared:
    """``check_inputs``, then the tools themselves (their versions are recorded);
    with a cluster executor each node checks its own tools (``check_nodes``)."""
    prep = check_inputs(config)
    check_tools(prep)
    return prep


def check_tools(prep: Prepared) -> None:
    """The tools on this machine (local executor; a cluster's nodes check their own when
    the executor starts), and a user core's interface (elaborated here, on the driver)."""
    if prep.config.executor == "local":
        for flow in prep.flows:
            prep.tool_versions.update(flow.preflight())
    if hasattr(prep.generator, "check_interface"):
        # A user core: its top elaborates and has the clock port, or one error now.
        hw_default, _ = prep.space.split(prep.space.default_point())
        prep.generator.check_interface(prep.generator.resolve(hw_default), prep.config.tool_timeout)


MAXIMISED = ("throughput_gops", "fmax_mhz")


def objectives_from_option(items) -> list:
    """``["latency_ms", "fmax_mhz:max"]`` (or one comma-separated string) as objectives;
    without a goal, throughput and fmax are maximised and everything else minimised."""
    from edalize_dse.space import Objective

    if isinstance(items, str):
        items = items.split(",")
    objectives = []
    for item in (str(i).strip() for i in items):
        name, _, goal = item.partition(":")
        goal = goal or ("max" if name in MAXIMISED else "min")
        if not name or goal not in ("min", "max"):
            raise DseError(f"objective '{item}': expected name or name:min / name:max")
        objectives.append(Objective(name, goal))
    if len({o.name for o in objectives}) != len(objectives) or not objectives:
        raise DseError(f"objectives option {items!r}: give each metric once")
    return objectives


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
    changed = changes(recorded, identity) if recorded else \
        ["results made by an older edalize-dse that did not record what they depend on"]
    if not changed:
        store.record_identity(identity)  # as this version words it
        return store
    store.close()
    if not restart:
        raise DseError(f"{output} holds results of a different exploration (changed: {'; '.join(changed)}); "
                       "they are not reused: give another --output, or --restart (FuseSoC: --restart) "
                       "to start afresh there (the old store is kept beside it as dse.sqlite.old, .old.2, ...)")
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


def judge(ev: Evaluation, space) -> Evaluation:
    """Record which QoR constraints a successful evaluation breaks (None: feasible)."""
    ev.violation = violation(ev.qor, space.qor_constraints) if ev.ok else None
    return ev


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
        ctx = EvaluationContext(prep.space, prep.generator, prep.flow, output / "points", prep.tool_versions,
                                strategy=config.strategy, workload=config.workload_options())
        remaining = config.budget - len(done)
        rounds = max((e.round for e in done), default=0)
        new = 0
        timed_out = []
        # A terminal gets a progress bar; a pipe (a CI log) one plain line per finished evaluation.
        lines = progress and not sys.stdout.isatty()
        bar = tqdm(total=config.budget, initial=min(len(done), config.budget), unit="eval",
                   desc=f"dse[{config.strategy}]", disable=not progress or lines, dynamic_ncols=True)
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
        return Summary(output=output, space=prep.space, evaluations=evaluations, new=new, files=files,
                       exhausted=len(explored) < config.budget and not timed_out, timed_out=timed_out)
    finally:
        executor.shutdown()  # at once after the loop (above); here after a failure before it
        store.close()
        release()


def run_asynchronously(strategy, executor, ctx: EvaluationContext, remaining: int, rounds: int, record) -> int:
    """round_size 0: ask as many points as there are free workers, tell each result as it
    finishes. Every worker stays busy, but once the strategy's model rounds run, what it
    proposes depends on which results came back first: with more than one worker the
    same command can explore other points. Returns the last round's number."""
    exhausted = False
    while remaining > 0 or executor.busy:
        slots = min(executor.free_slots, remaining)
        if slots > 0 and not exhausted:
            start = time.perf_counter()
            points = strategy.ask(slots)
            ask_s = time.perf_counter() - start
            rounds += 1
            exhausted = len(points) < slots
            for point in points:
                executor.submit(point, ctx, rounds, ask_s / len(points))
            remaining -= len(points)
        if not executor.busy:
            break  # the space has no unseen point left
        for ev in executor.finished():
            if record(ev):
                strategy.tell([ev])
    return rounds


def run_in_rounds(config: RunConfig, strategy, executor, ctx: EvaluationContext, done: list, record) -> int:
    """round_size B: ask B points, evaluate them on however many workers there are, and
    tell their results in the order they were proposed once the whole round is back;
    then ask the next round. What is proposed depends on the seed and the results only,
    never on the number of workers or on which point finished first. A resumed run
    replays its stored rounds first (``replay_rounds``) and so continues the same
    sequence. Returns the last round's number."""
    space = ctx.space
    if config.workers > config.round_size:
        print(f"note: round_size {config.round_size} < workers {config.workers}: "
              f"{config.workers - config.round_size} worker(s) wait in every round (raise round_size, "
              "or 0 for the asynchronous loop)", file=sys.stderr)
    carried, rounds, asked = replay_rounds(config, strategy, space, done)
    remaining = config.budget - asked
    exhausted = False
    while True:
        if carried:  # what the previous run proposed and did not store: evaluated first
            unfinished, points, stored = carried
            carried = None
            jobs = unfinished
            told = points  # the unfinished last round; points of earlier rounds are told after it
            ask_s = None
        else:
            size = min(config.round_size, remaining)
            if size <= 0 or exhausted:
                break
            start = time.perf_counter()
            points = strategy.ask(size)
            ask_s = (time.perf_counter() - start) / max(len(points), 1)
            if not points:
                break  # the space has no unseen point left
            rounds += 1
            exhausted = len(points) < size
            remaining -= len(points)
            stored = {}
            jobs = [(p, rounds) for p in points]
            told = points
        results = dict(stored)
        queue = list(jobs)
        started, workers = time.perf_counter(), config.workers
        freed = []  # when each worker that found the queue empty became free
        while queue or executor.busy:
            while queue and executor.free_slots > 0:
                point, round_no = queue.pop(0)
                executor.submit(point, ctx, round_no, ask_s)
            for ev in executor.finished():
                if record(ev):
                    results[space.canonical(ev.params)] = ev
                if not queue:
                    freed.append(time.perf_counter())
        end = time.perf_counter()
        # Worker-seconds spent waiting for the round's last point (the price of rounds).
        idle = sum(end - t for t in freed) + max(0, workers - len(jobs)) * (end - started)
        keys = [space.canonical(p) for p in told]
        keys += [k for k in (space.canonical(p) for p, _ in jobs) if k not in keys]
        told = [results[k] for k in keys if k in results]
        strategy.tell(told)
        log.info("round %d: %d point(s) on %d worker(s) in %.1f s; workers idle at its end %.1f s; told %s",
                 rounds, len(jobs), workers, end - started, idle, " ".join(e.point_id for e in told))
    return rounds


def replay_rounds(config: RunConfig, strategy, space, done: list):
    """A resumed run in rounds: ask the strategy each stored round again (as many points as
    the loop asked then) and tell the stored results in the order they were proposed, so
    the strategy is where the interrupted run left it. A proposed point that was not stored
    (the run was interrupted in that round, or the point timed out) is handed back to be
    evaluated now, with its own round, before the next round is asked. Replaying costs the
    earlier rounds' controller time again. Stored results the strategy would not propose
    (another version, the asynchronous mode) cannot be replayed: they are told at once,
    one log line says so, and the run goes on from there.

    Returns (the round to finish first or None, last round number, points asked so far)."""
    by_round: dict[int, list] = {}
    for ev in done:
        by_round.setdefault(ev.round, []).append(ev)
    order = sorted(by_round)
    if len(done) >= config.budget:
        # The budget is spent: nothing will be asked, so the strategy need not be brought
        # back round by round (a resumed, finished run starts no model: issue 13's startup).
        strategy.tell(done)
        return None, order[-1] if order else 0, len(done)
    asked, last = 0, None
    unfinished = []  # (point, its round) proposed but not stored
    for i, round_no in enumerate(order):
        stored = {space.canonical(e.params): e for e in by_round[round_no]}
        rest = [e for r in order[i:] for e in by_round[r]]
        size = min(config.round_size, config.budget - asked)
        if size <= 0:  # a smaller budget than the stored run's: nothing left to ask
            strategy.tell(rest)
            return None, order[-1], asked + len(rest)
        points = strategy.ask(size)
        keys = [space.canonical(p) for p in points]
        if not set(stored) <= set(keys):
            strategy.pending.difference_update(keys)
            strategy.tell(rest)
            log.info("resumed: stored round %d is not what the strategy proposes now (results of another version "
                     "or of the asynchronous mode); its %d result(s) are told at once, and the proposals from "
                     "here on differ from an uninterrupted run's", round_no, len(rest))
            return None, order[-1], len(done)
        asked += len(points)
        unfinished += [(p, round_no) for p, k in zip(points, keys) if k not in stored]
        if i == len(order) - 1 and len(stored) < len(points):
            last = (points, stored, round_no)  # told when its missing points are back
        else:
            strategy.tell([stored[k] for k in keys if k in stored])
    if not unfinished:
        return None, order[-1] if order else 0, asked
    points, stored, _ = last or ([], {}, None)
    return (unfinished, points, stored), order[-1], asked


def promote(prep: Prepared, store: Store, executor, ctx: EvaluationContext, round_no: int) -> None:
    """synth+orfs: run the promoted flow on the best ``promote`` points of the synth
    results (Pareto rank, then the first objective), skipping those already done."""
    flow = prep.promoted_flow
    done = {e.point_id for e in store.evaluations(fidelity=flow.name)}
    wanted = prep.config.promote - len(done)
    explored = store.evaluations(fidelity=prep.flow.name)
    chosen = [e for e in promotion_order(explored, prep.space.objectives) if e.point_id not in done][:max(wanted, 0)]
    promoted_ctx = replace(ctx, flow=flow, strategy=f"promoted from {prep.flow.name}")
    for ev in chosen:
        executor.submit(ev.params, promoted_ctx, round_no)
    while executor.busy:
        for ev in executor.finished():
            if ev.status != "timeout":  # a timed-out promotion is retried by the next run
                store.add(judge(ev, prep.space))
