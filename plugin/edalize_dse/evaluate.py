"""One point through the whole chain: generator -> flow -> metrics.

Only the design's own failure is recorded: an invalid configuration or a tool that
failed on this point comes back as a failed Evaluation with the tool's reason and
log. A timeout comes back with status ``timeout`` (not stored: the next run tries
the point again). Anything else says nothing about the point, so it stops the run
with the point unrecorded: a problem of the machine or of its files (disk full,
permission denied, a tool removed or killed, a platform file damaged) raises
``EnvironmentFault`` (``faults.py``), and a bug of ours propagates as it is."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from edalize_dse.errors import DseError, EnvironmentFault, ToolFailure
from edalize_dse.faults import as_environment_fault
from edalize_dse.flows.base import Flow
from edalize_dse.generators import Generator
from edalize_dse.metrics import derive
from edalize_dse.space import Space
from edalize_dse.store import Evaluation, utc_now


@dataclass
class EvaluationContext:
    space: Space
    generator: Generator
    flow: Flow
    points_dir: Path
    tool_versions: dict
    strategy: str = ""
    workload: dict | None = None  # RunConfig.workload_options(): adds latency_ms, energy_mj


def evaluate_point(
    point: dict, ctx: EvaluationContext, round_no: int = 0, controller_s: float | None = None
) -> Evaluation:
    """Evaluate one point; ``controller_s`` is its share of the ask() that proposed it."""
    space = ctx.space
    point_id = space.point_id(point)
    workdir = ctx.points_dir / point_id
    try:
        # A point has one folder; each fidelity's flow has its own sub-folder in it.
        for leftover in (workdir / "rtl", workdir / ctx.flow.name):
            if leftover.exists():
                # Left over from an interrupted run: never mix its files with this one's.
                shutil.rmtree(leftover)
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise as_environment_fault(exc, f"point {point_id}") or exc from None
    ev = Evaluation(
        point_id=point_id,
        params=point,
        status="failed",
        tool_versions=dict(ctx.tool_versions),
        started_at=utc_now(),
        log_path=str(workdir),
        strategy=ctx.strategy,
        round=round_no,
        fidelity=ctx.flow.name,
    )
    if controller_s is not None:
        ev.timings["controller_s"] = controller_s
    hw, eda = space.split(point)
    try:
        config = ctx.generator.resolve(hw)
        broken = ctx.generator.violations(config)
        if broken:
            raise ToolFailure("generate", "invalid configuration: " + "; ".join(broken))
        start = time.perf_counter()
        design = ctx.generator.generate(config, workdir / "rtl")
        ev.timings["generate_s"] = time.perf_counter() - start
        # With two fidelities a knob may belong to one flow only (P&R knobs do not change synthesis).
        own = {k: v for k, v in eda.items() if k in ctx.flow.KNOBS}
        metrics, flow_timings = ctx.flow.run(design, own, workdir / ctx.flow.name)
        ev.cache_hit = bool(flow_timings.pop("cache_hit", False))
        ev.timings.update(flow_timings)
        ev.qor = derive(metrics, design.info)
        if ctx.workload and ctx.flow.name == "synth":
            start = time.perf_counter()
            ev.qor.update(workload_qor(config, ev.qor, design, eda, ctx.workload))
            ev.timings["workload_s"] = time.perf_counter() - start
        ev.status = "ok"
    except ToolFailure as failure:
        if failure.kind == "environment":
            raise EnvironmentFault(
                f"point {point_id}: {failure}; the run stopped without recording it, re-run the same command to resume"
            ) from None
        ev.error = str(failure)
        ev.log_path = str(failure.log_path or workdir)
        ev.log_tail = failure.log_tail
        if failure.kind == "timeout":
            ev.status = "timeout"
    except EnvironmentFault:
        raise
    except DseError as exc:
        # A platform, macro or input file found unusable now (damaged, removed): not the point's failure.
        raise EnvironmentFault(
            f"point {point_id}: {exc}; the run stopped without recording it, fix that and "
            "re-run the same command to resume"
        ) from None
    except Exception as exc:
        fault = as_environment_fault(exc, f"point {point_id}")
        if fault is not None:
            raise fault from None
        raise  # a bug of ours: the run stops (its traceback logged), the point stays unrecorded
    ev.finished_at = utc_now()
    return ev


def workload_qor(config: dict, qor: dict, design, eda: dict, options: dict) -> dict:
    """Latency and energy per inference of the workload, every layer mapped on this point."""
    from edalize_dse.workload.hardware import array_model, run_workload

    # Power was measured at the achieved period (the operating point): energy per cycle = power x that period.
    hw = array_model(
        config,
        qor,
        design.info,
        design.macros,
        qor["period_ps"],
        options["dram_pj_per_byte"],
        options["dram_bytes_per_cycle"],
    )
    result = run_workload(hw, options["workload"])
    return {"latency_ms": result.latency_ms, "energy_mj": result.energy_mj}
