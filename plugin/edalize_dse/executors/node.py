"""What runs on a node of a cluster (Ray or Dask alike).

``check_node`` finds the node's own tools and ASAP7 platform (from the node's
environment, never the driver's) and builds the flows that its points run.
``run_point`` evaluates one point there: in a scratch folder of the node whose
contents come back compressed with the Evaluation (the driver alone writes the
output folder and the store), or in place with a shared filesystem.

Nothing here imports Ray or Dask: the backends send these functions to their
workers, which import this module from their own installation of the package."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from edalize_dse import __version__
from edalize_dse.errors import DseError
from edalize_dse.evaluate import EvaluationContext, evaluate_point
from edalize_dse.identity import platform_digest
from edalize_dse.store import Evaluation

# Where a node's points work when nothing is shared; default the system temp folder.
SCRATCH_ENV = "EDALIZE_DSE_SCRATCH"
# What a node's check depends on besides the host: where its tools and platform are found.
CHECKED_ENV = ("PATH", "ASAP7_PLATFORM_DIR", "FLOW_HOME", "PYTHONPATH")


def scratch_root() -> Path:
    root = Path(os.environ.get(SCRATCH_ENV) or tempfile.gettempdir())
    root.mkdir(parents=True, exist_ok=True)
    return root


def node_label(backend: str) -> str:
    """The node as a user can find it: host name plus the engine's own name for it."""
    host = socket.gethostname()
    try:
        if backend == "ray":
            import ray

            node_id = ray.get_runtime_context().get_node_id()
            return f"{host} (ray node {node_id[:12]} at {ray.util.get_node_ip_address()})"
        if backend == "dask":
            from distributed import get_worker

            return f"{host} (dask worker {get_worker().address})"
    except Exception:  # outside a worker (a test calling directly): the host is still a name
        pass
    return host


@dataclass
class NodeSetup:
    flows: dict  # flow name -> the flow built on this node (its platform, its cache folder)
    versions: dict  # tool -> version, as found on this node
    platform: str | None  # digest of this node's ASAP7 cell data (identity.platform_digest)


# One per worker process: the tools are checked once, not before every point.
_SETUPS: dict[str, NodeSetup] = {}


def set_up_node(flow_names, flow_options: dict, driver_version: str, run_token: str) -> NodeSetup:
    """Build and check this node's flows; raises DseError saying what is missing.

    A node's first check of a run leaves its tool versions in the scratch folder
    (keyed by the run), so the run's other worker processes there skip the tools'
    start-up: on a busy node that is seconds per process."""
    key = json.dumps([list(flow_names), flow_options, driver_version, run_token], sort_keys=True, default=str)
    if key in _SETUPS:
        return _SETUPS[key]
    from edalize_dse.flows import get_flow

    if __version__ != driver_version:
        raise DseError(
            f"it runs edalize-dse {__version__}, the driver {driver_version}: install the same version on every node"
        )
    # The marker is this host's and this environment's: a scratch folder may be shared.
    where = json.dumps([key, socket.gethostname(), sys.executable, *(os.environ.get(v) for v in CHECKED_ENV)])
    try:
        marker = scratch_root() / f"edalize-dse-node-{hashlib.sha256(where.encode()).hexdigest()[:16]}.json"
        checked = json.loads(marker.read_text()) if marker.is_file() else None
        if not isinstance(checked, dict) or "versions" not in checked:
            checked = None  # none yet, or written by edalize-dse 0.1.0 (versions only): check again
    except (OSError, ValueError) as exc:
        raise DseError(
            f"its scratch folder cannot be used ({exc}); set {SCRATCH_ENV} on the node to a writable folder"
        ) from None
    flows, versions = {}, {}
    for name in flow_names:
        flow = get_flow(name, **flow_options)
        flow.check_platform()  # this node's ASAP7_PLATFORM_DIR / FLOW_HOME
        if checked is None:
            versions.update(flow.preflight())  # this node's pyosys, sta (or ORFS)
        flows[name] = flow
    if checked is not None:
        versions, platform = checked["versions"], checked["platform"]
    else:
        platform = platform_digest(flows.values())
        try:  # written whole or not at all: another process may read it at once
            fd, tmp = tempfile.mkstemp(prefix=".edalize-dse-node-", dir=marker.parent)
            with os.fdopen(fd, "w") as out:
                json.dump({"versions": versions, "platform": platform}, out)
            os.replace(tmp, marker)
            forget_old_markers(marker.parent)
        except OSError as exc:
            raise DseError(
                f"its scratch folder cannot be written ({exc}); set {SCRATCH_ENV} on the node to a writable folder"
            ) from None
    _SETUPS[key] = NodeSetup(flows, versions, platform)
    return _SETUPS[key]


def forget_old_markers(folder: Path, max_age_s: float = 86400) -> None:
    """Markers of runs over a day old: a run that long re-checks a node at worst once more."""
    now = time.time()
    for old in folder.glob("edalize-dse-node-*.json"):
        try:
            if now - old.stat().st_mtime > max_age_s:
                old.unlink()
        except OSError:  # another process removed it first
            pass


def check_node(flow_names, flow_options: dict, driver_version: str, run_token: str, backend: str) -> dict:
    """The driver's check of one node before any point: {node, versions, platform, problem}."""
    try:
        setup = set_up_node(flow_names, flow_options, driver_version, run_token)
        return dict(node=node_label(backend), versions=dict(setup.versions), platform=setup.platform, problem=None)
    except DseError as exc:
        return dict(node=node_label(backend), versions={}, problem=str(exc))


@dataclass
class PointJob:
    """One point as it travels to a node."""

    point: dict
    ctx: EvaluationContext  # the driver's; its flow is rebuilt on the node
    round_no: int
    controller_s: float | None
    flow_names: tuple
    flow_options: dict
    driver_version: str
    run_token: str  # one per run: a node's check is shared by the run's worker processes there
    backend: str
    shared_fs: bool = False
    attempt: int = 1


@dataclass
class PointResult:
    """What comes back: the Evaluation and its point folder, or why the node cannot work."""

    node: str
    evaluation: Evaluation | None = None
    archive: bytes | None = None  # tar.gz of the point folder (None with a shared filesystem)
    scratch: str | None = None  # the point folder on the node, as the evaluation's paths name it
    unfit: str | None = None  # the node failed its check: the run stops with this
    timings: dict = field(default_factory=dict)  # evaluate_s: the node's wall time of evaluate_point


def run_point(job: PointJob) -> PointResult:
    node = node_label(job.backend)
    try:
        # A node that joined after the start is checked by its first point.
        setup = set_up_node(job.flow_names, job.flow_options, job.driver_version, job.run_token)
    except DseError as exc:
        return PointResult(node, unfit=str(exc))
    ctx = replace(job.ctx, flow=setup.flows[job.ctx.flow.name], tool_versions=dict(setup.versions))
    if job.shared_fs:
        start = time.perf_counter()
        ev = evaluate_point(job.point, ctx, job.round_no, job.controller_s)
        return PointResult(node, ev, timings=dict(evaluate_s=time.perf_counter() - start))
    scratch = Path(tempfile.mkdtemp(prefix="edalize-dse-point-", dir=scratch_root()))
    try:
        start = time.perf_counter()
        ev = evaluate_point(job.point, replace(ctx, points_dir=scratch), job.round_no, job.controller_s)
        evaluated = time.perf_counter()
        archive = pack(scratch / ev.point_id)
        ev.timings["pack_s"] = time.perf_counter() - evaluated
        return PointResult(node, ev, archive, str(scratch / ev.point_id), timings=dict(evaluate_s=evaluated - start))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def pack(folder: Path) -> bytes:
    """The folder's contents as a gzip-compressed tar (names relative to it)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        for child in sorted(Path(folder).iterdir()):
            tar.add(child, arcname=child.name)
    return buffer.getvalue()


def unpack(archive: bytes, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(folder, filter="data")  # no absolute paths, no links out of the folder
