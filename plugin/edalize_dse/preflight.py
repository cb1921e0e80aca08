"""Everything checked before the first point: the options, the space file, the
generator's parameters and the flows' knobs and metrics, the platform's files
(``check_inputs``, no process started), then the tools and a user core's interface
(``check_tools``). Each problem is one DseError line."""

from __future__ import annotations

from dataclasses import dataclass, field

from edalize_dse.errors import DseError, SpaceError
from edalize_dse.flows import Flow, get_flow
from edalize_dse.generators import Generator, get_generator
from edalize_dse.qor_constraints import check_metrics as check_constraint_metrics
from edalize_dse.qor_constraints import parse_all as parse_qor_constraints
from edalize_dse.run_config import RunConfig, objectives_from_option
from edalize_dse.space import load_space
from edalize_dse.strategies import make_strategy


@dataclass
class Prepared:
    config: RunConfig
    space: object
    generator: Generator
    flow: Flow  # the flow every point runs (the first of the fidelity)
    promoted_flow: Flow | None = None  # synth+orfs: the flow of the promoted points
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
    generator = get_generator(
        config.generator,
        core=config.core,
        chipyard_root=config.chipyard_root,
        timeout_s=config.tool_timeout,
        clock_port=config.clock_port,
        frontend=config.frontend,
    )
    if hasattr(generator, "check"):
        generator.check()  # an external generator's checkout
    flows = [get_flow(name, **config.flow_options()) for name in config.fidelity.split("+")]
    make_strategy(config.strategy, space, config.seed, **config.all_strategy_options())  # name and options
    for p in space.layer("hardware"):
        if p.name not in generator.PARAMETERS:
            raise SpaceError(
                space.path,
                f"generator '{generator.name}' has no such hardware parameter "
                f"(known: {', '.join(generator.PARAMETERS)})",
                p.name,
            )
    for p in space.layer("eda"):
        owners = [f for f in flows if p.name in f.KNOBS]
        if not owners:
            known = sorted({k for f in flows for k in f.KNOBS})
            raise SpaceError(
                space.path, f"fidelity '{config.fidelity}' has no such EDA knob (known: {', '.join(known)})", p.name
            )
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
                raise SpaceError(
                    space.path,
                    f"objective '{o.name}' is not measured by flow '{flow.name}' with "
                    f"generator '{generator.name}' (known: {', '.join(known_metrics)})",
                )
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
