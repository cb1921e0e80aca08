"""The exploration loop: space -> strategy.ask -> generator -> flow -> metrics ->
store -> strategy.tell, until the budget of finished evaluations is spent.

Everything that can be checked without running a tool (the space file, knob
and parameter names, objectives, the platform, the tools) is checked in
``prepare`` before the first point starts."""

from __future__ import annotations

import hashlib
import logging
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from edalize_dse import report
from edalize_dse.errors import DseError, SpaceError
from edalize_dse.evaluate import EvaluationContext, evaluate_point
from edalize_dse.executors import LocalExecutor
from edalize_dse.flows import get_flow
from edalize_dse.generators import get_generator
from edalize_dse.space import load_space
from edalize_dse.store import STORE_NAME, Evaluation, Store
from edalize_dse.strategies import DEFAULT_STRATEGY, make_strategy


CONTROLLER_LOG = "controller.log"


@dataclass
class RunConfig:
    space: str
    output: str
    budget: int = 12
    strategy: str = DEFAULT_STRATEGY
    strategy_options: dict = field(default_factory=dict)  # option -> value, see each strategy's OPTIONS
    seed: int = 0
    workers: int = 1
    generator: str = "embedded"
    flow: str = "synth"
    tool_timeout: float | None = None  # seconds per tool run; None: no limit

    @classmethod
    def from_json(cls, path) -> "RunConfig":
        try:
            doc = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise DseError(f"cannot read run configuration {path}: {exc}") from None
        unknown = set(doc) - set(cls.__dataclass_fields__)
        if unknown:
            raise DseError(f"{path}: unknown run option(s) {sorted(unknown)}")
        return cls(**doc)

    def write_json(self, path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")

    def check(self) -> None:
        if self.budget < 1:
            raise DseError(f"budget must be at least 1, got {self.budget}")
        if self.workers < 1:
            raise DseError(f"workers must be at least 1, got {self.workers}")
        if not isinstance(self.strategy_options, dict):
            raise DseError(f"strategy_options must be a mapping of option -> value, got {self.strategy_options!r}")
        if self.tool_timeout is not None and self.tool_timeout <= 0:
            raise DseError(f"tool_timeout must be positive seconds, got {self.tool_timeout}")


@dataclass
class Prepared:
    config: RunConfig
    space: object
    generator: object
    flow: object
    tool_versions: dict = field(default_factory=dict)


def check_inputs(config: RunConfig) -> Prepared:
    """Every check that starts no process: options, space file, names, platform.

    Raises DseError with one clear line."""
    config.check()
    space = load_space(config.space)
    make_strategy(config.strategy, space, config.seed, **config.strategy_options)  # name and options
    generator = get_generator(config.generator)
    flow = get_flow(config.flow, timeout_s=config.tool_timeout)
    for p in space.layer("hardware"):
        if p.name not in generator.PARAMETERS:
            raise SpaceError(space.path, f"generator '{generator.name}' has no such hardware parameter "
                                         f"(known: {', '.join(generator.PARAMETERS)})", p.name)
    for p in space.layer("eda"):
        if p.name not in flow.KNOBS:
            raise SpaceError(space.path, f"flow '{flow.name}' has no such EDA knob "
                                         f"(known: {', '.join(flow.KNOBS)})", p.name)
        for value in p.values() or [p.low, p.high]:
            problems = flow.check_knobs({p.name: value})
            if problems:
                raise SpaceError(space.path, problems[0], p.name)
    known_metrics = set(flow.METRICS)
    for o in space.objectives:
        if o.name not in known_metrics:
            raise SpaceError(space.path, f"objective '{o.name}' is not a metric of flow '{flow.name}' "
                                         f"(known: {', '.join(flow.METRICS)})")
    hw_default, _ = space.split(space.default_point())
    broken = generator.violations(generator.resolve(hw_default))
    if broken:
        raise SpaceError(space.path, f"the default point is not a valid {generator.name} configuration: {broken[0]}")
    flow.check_platform()
    return Prepared(config, space, generator, flow)


def prepare(config: RunConfig) -> Prepared:
    """``check_inputs``, then the tools themselves (their versions are recorded)."""
    prep = check_inputs(config)
    prep.tool_versions = prep.flow.preflight()
    return prep


def space_digest(space_path) -> str:
    return hashlib.sha256(Path(space_path).read_bytes()).hexdigest()


@dataclass
class Summary:
    output: Path
    space: object
    evaluations: list[Evaluation]
    new: int
    files: dict
    exhausted: bool = False  # the strategy ran out of unseen valid points before the budget


def explore(config: RunConfig, progress: bool = True) -> Summary:
    prep = prepare(config)
    output = Path(config.output)
    output.mkdir(parents=True, exist_ok=True)
    store = Store(output / STORE_NAME)
    # The model-based strategies log each round's wall time (fit, sample, screen).
    controller_log = logging.FileHandler(output / CONTROLLER_LOG)
    controller_log.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    strategy_logger = logging.getLogger("edalize_dse.strategies")
    strategy_logger.addHandler(controller_log)
    strategy_logger.setLevel(logging.INFO)
    try:
        store.bind(space_sha256=space_digest(config.space), generator=config.generator, flow=config.flow)
        done = store.evaluations()
        strategy = make_strategy(config.strategy, prep.space, config.seed, **config.strategy_options)
        strategy.tell(done)
        ctx = EvaluationContext(prep.space, prep.generator, prep.flow, output / "points", prep.tool_versions,
                                strategy=config.strategy)
        executor = LocalExecutor(config.workers)
        remaining = config.budget - len(done)
        rounds = max((e.round for e in done), default=0)
        new = 0
        bar = tqdm(total=config.budget, initial=min(len(done), config.budget), unit="eval",
                   desc=f"dse[{config.strategy}]", disable=not progress, dynamic_ncols=True)
        try:
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
                        executor.submit(evaluate_point, point, ctx, rounds, ask_s / len(points))
                    remaining -= len(points)
                if not executor.busy:
                    break  # the space has no unseen point left
                for ev in executor.finished():
                    store.add(ev)
                    strategy.tell([ev])
                    new += 1
                    bar.update(1)
                    bar.set_postfix_str(f"{ev.point_id} {ev.status}")
        finally:
            bar.close()
            executor.shutdown()
        evaluations = store.evaluations()
        files = report.write_all(output, prep.space, evaluations)
        return Summary(output=output, space=prep.space, evaluations=evaluations, new=new, files=files,
                       exhausted=len(evaluations) < config.budget)
    finally:
        strategy_logger.removeHandler(controller_log)
        controller_log.close()
        store.close()
