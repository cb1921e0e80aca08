"""What the Ray and Dask executors share: the driver's side of remote points.

The driver keeps every point in flight with its attempt number. A finished
point's folder is unpacked under ``points/<id>/`` and its Evaluation handed to
the loop, which alone writes the store. A point whose worker or node died is
started again, up to ``max_attempts`` times, then recorded failed with the
reason; a point whose tool failed is an ordinary failed Evaluation and is
never started again (EDA failures are deterministic)."""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path

from edalize_dse import __version__
from edalize_dse.errors import DseError, EnvironmentFault
from edalize_dse.executors.base import Executor
from edalize_dse.executors.facts import NodeFacts
from edalize_dse.executors.node import PointJob, PointResult, unpack
from edalize_dse.store import Evaluation, utc_now

log = logging.getLogger("edalize_dse.executors")


@dataclass
class Lost:
    """The point's worker process or node went away before it answered."""

    reason: str


@dataclass
class Crashed:
    """Our own code raised on the node (not a tool: tools fail inside the Evaluation)."""

    reason: str


class RemoteExecutor(Executor):
    backend = ""

    def __init__(self, config):
        super().__init__(config.workers)
        self.max_attempts = config.max_attempts
        self.shared_fs = config.shared_fs
        self.cpus_per_point = config.cpus_per_point
        self.flow_names = tuple(config.fidelity.split("+"))
        self.flow_options = config.flow_options()
        self._running: dict = {}  # engine handle -> (PointJob, submit time)
        self.run_token = uuid.uuid4().hex

    # ---- engine hooks
    @abstractmethod
    def _node_reports(self) -> list[dict]:
        """``node.check_node`` run on every node: [{node, versions, problem}]."""

    @abstractmethod
    def _start(self, job: PointJob):
        """Start ``node.run_point(job)``; return the engine's handle."""

    @abstractmethod
    def _wait(self, handles: list) -> list[tuple]:
        """Block until one handle is done; [(handle, PointResult | Lost | Crashed)] for all done."""

    @abstractmethod
    def _cancel(self, handles: list) -> None:
        """Stop the points still running (the driver is leaving)."""

    @abstractmethod
    def _close(self) -> None:
        """Disconnect; stop what this executor started (a local cluster, batch jobs)."""

    # ---- the executor interface (explore.py)
    def check_nodes(self, flows) -> NodeFacts:
        """Check every node before any point; the tool versions and platform they share."""
        reports = self._node_reports()
        if not reports:
            raise DseError(
                f"the {self.backend} cluster has no worker able to take a point "
                f"({self.cpus_per_point} CPU(s), option cpus_per_point)"
            )
        bad = [r for r in reports if r["problem"]]
        if bad:
            raise DseError("; ".join(f"node {r['node']}: {r['problem']}" for r in bad))
        first = reports[0]
        for other in reports[1:]:
            for tool in sorted(set(first["versions"]) | set(other["versions"])):
                mine, theirs = first["versions"].get(tool), other["versions"].get(tool)
                if mine != theirs:
                    raise DseError(
                        f"node {other['node']} has {tool} {theirs!r} but node {first['node']} has "
                        f"{mine!r}: install the same tool versions on every node (results of "
                        "different tools do not compare)"
                    )
            if other.get("platform") != first.get("platform"):
                raise DseError(
                    f"node {other['node']} has other ASAP7 cell data (lib, lef) than node "
                    f"{first['node']}: point every node's ASAP7_PLATFORM_DIR (or FLOW_HOME) at the "
                    "same platform files (results on different cells do not compare)"
                )
        log.info("%s: %d node(s) checked: %s", self.backend, len(reports), ", ".join(r["node"] for r in reports))
        return NodeFacts(dict(first["versions"]), first.get("platform"))

    def submit(self, point: dict, ctx, round_no: int, controller_s: float | None = None) -> None:
        self._launch(
            PointJob(
                point=point,
                ctx=ctx,
                round_no=round_no,
                controller_s=controller_s,
                flow_names=self.flow_names,
                flow_options=self.flow_options,
                driver_version=__version__,
                run_token=self.run_token,
                backend=self.backend,
                shared_fs=self.shared_fs,
            )
        )

    def _launch(self, job: PointJob) -> None:
        submitted = time.perf_counter()
        self._running[self._start(job)] = (job, submitted)

    def finished(self) -> list[Evaluation]:
        """Block until a point is done; the Evaluations of every done point (lost
        points are started again and not among them, so the list may be empty)."""
        evaluations = []
        for handle, outcome in self._wait(list(self._running)):
            job, submitted = self._running.pop(handle)
            point_id = job.ctx.space.point_id(job.point)
            if isinstance(outcome, Lost):
                if job.attempt < self.max_attempts:
                    log.warning(
                        "point %s lost (%s): starting attempt %d of %d",
                        point_id,
                        outcome.reason,
                        job.attempt + 1,
                        self.max_attempts,
                    )
                    job.attempt += 1
                    self._launch(job)
                    continue
                ev = self._failed(job, f"lost: {outcome.reason} (attempt {job.attempt} of {self.max_attempts})")
            elif isinstance(outcome, Crashed):
                # Not the design's failure (a platform file damaged on the node, a bug of ours): stop, unrecorded.
                raise EnvironmentFault(
                    f"point {point_id} on the {self.backend} cluster: {outcome.reason}; the run "
                    "stopped without recording it, fix the node and re-run the same command "
                    "to resume"
                )
            elif outcome.unfit:
                raise DseError(f"node {outcome.node}: {outcome.unfit}")
            else:
                ev = self._receive(outcome, job.ctx.points_dir, submitted)
            ev.attempts = job.attempt
            evaluations.append(ev)
        return evaluations

    def shutdown(self) -> None:
        try:
            if self._running:
                self._cancel(list(self._running))
                self._running.clear()
        finally:
            self._close()

    # ---- results
    def _receive(self, result: PointResult, points_dir: Path, submitted: float) -> Evaluation:
        """The Evaluation with its folder in place under ``points_dir`` and its paths naming it."""
        ev = result.evaluation
        if result.archive is not None:
            start = time.perf_counter()
            folder = Path(points_dir) / ev.point_id
            # This fidelity's files replace an interrupted run's; another fidelity's stay.
            for old in (folder / "rtl", folder / ev.fidelity):
                if old.exists():
                    shutil.rmtree(old)
            unpack(result.archive, folder)
            if ev.log_path and result.scratch and ev.log_path.startswith(result.scratch):
                ev.log_path = str(folder) + ev.log_path[len(result.scratch) :]
            ev.timings["unpack_s"] = time.perf_counter() - start
        # Driver-side time of the point not spent on the node's evaluation: submit,
        # scheduling, node check, shipping and unpacking.
        evaluate_s = result.timings.get("evaluate_s", 0.0)
        ev.timings["executor_s"] = max(0.0, time.perf_counter() - submitted - evaluate_s)
        return ev

    def _failed(self, job: PointJob, error: str) -> Evaluation:
        ctx = job.ctx
        now = utc_now()
        return Evaluation(
            point_id=ctx.space.point_id(job.point),
            params=job.point,
            status="failed",
            error=error,
            log_path=str(Path(ctx.points_dir) / ctx.space.point_id(job.point)),
            tool_versions=dict(ctx.tool_versions),
            strategy=ctx.strategy,
            round=job.round_no,
            started_at=now,
            finished_at=now,
            fidelity=ctx.flow.name,
        )
