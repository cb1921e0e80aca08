"""``dask``: each point is one task of a ``dask.distributed`` cluster:
the running scheduler at ``dask_address``; else worker jobs that dask-jobqueue
submits to the batch system ``dask_cluster`` (Slurm, LSF, PBS, SGE); else a
local cluster of worker processes started for the run.

The clusters started here tell the scheduler to give up on a task at its first
dead worker (``allowed-failures`` 0), so the driver restarts it and counts the
attempt; a scheduler of your own may rerun it unseen first (its own setting).
Dask is imported only here; it is the optional extra ``edalize-dse[dask]``."""

from __future__ import annotations

import logging
import math
import time
import uuid

from edalize_dse import __version__
from edalize_dse.errors import DseError
from edalize_dse.executors import node
from edalize_dse.executors.remote import Crashed, Lost, RemoteExecutor
from edalize_dse.extras import require

# Seconds to wait for the first worker of a running scheduler or a local cluster
# (batch jobs wait in their queue as long as the batch system keeps them there).
WORKER_TIMEOUT_S = 120
# How often a run waiting for its batch jobs checks that they were submitted at all.
BATCH_POLL_S = 15
# The worker resource a point asks for, cpus_per_point of it.
CPU_RESOURCE = "cpus"


def _import_distributed():
    require("dask", "executor 'dask'")
    import dask
    import distributed

    return dask, distributed


def lsf_walltime(walltime: str) -> str:
    """LSF's -W takes [hours:]minutes: HH:MM:SS rounded up to the minute."""
    parts = walltime.split(":")
    if len(parts) != 3:
        return walltime
    hours, minutes, seconds = (int(p) for p in parts)
    minutes += hours * 60 + (1 if seconds else 0)
    return f"{minutes // 60}:{minutes % 60:02d}"


def jobqueue_cluster(config):
    """The dask-jobqueue cluster of ``config.dask_cluster``; no job is submitted yet.

    One worker process per job with ``dask_cores`` threads, declaring that many
    ``cpus`` so a point takes ``cpus_per_point`` of them."""
    dask, _ = _import_distributed()
    try:
        import dask_jobqueue
    except ImportError:
        raise DseError("option dask_cluster needs dask-jobqueue: pip install 'edalize-dse[dask]'") from None
    classes = {
        "slurm": dask_jobqueue.SLURMCluster,
        "lsf": dask_jobqueue.LSFCluster,
        "pbs": dask_jobqueue.PBSCluster,
        "sge": dask_jobqueue.SGECluster,
    }
    if config.cpus_per_point > config.dask_cores:
        raise DseError(
            f"option cpus_per_point ({config.cpus_per_point}) is more than a worker job's "
            f"dask_cores ({config.dask_cores}): no job could take a point"
        )
    walltime = lsf_walltime(config.dask_walltime) if config.dask_cluster == "lsf" else config.dask_walltime
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        return classes[config.dask_cluster](
            queue=config.dask_queue,
            cores=config.dask_cores,
            processes=1,
            memory=config.dask_memory,
            walltime=walltime,
            job_name="edalize-dse",
            job_extra_directives=list(config.dask_job_extra),
            job_script_prologue=list(config.dask_job_prologue),
            worker_extra_args=["--resources", f"{CPU_RESOURCE}={config.dask_cores}"],
        )


class DaskExecutor(RemoteExecutor):
    backend = "dask"

    def __init__(self, config):
        super().__init__(config)
        dask, distributed = _import_distributed()
        self._distributed = distributed
        self._cluster = None
        self._batch = bool(config.dask_cluster) and not config.dask_address
        if config.dask_address and config.dask_cluster:
            raise DseError(
                "options dask_address and dask_cluster exclude each other: give the running "
                "scheduler or the batch system to start workers on"
            )
        try:
            if config.dask_address:
                self.where = config.dask_address
                self._client = distributed.Client(config.dask_address, timeout=f"{WORKER_TIMEOUT_S}s")
            else:
                if self._batch:
                    self._cluster = jobqueue_cluster(config)
                    jobs = math.ceil(self.workers * self.cpus_per_point / config.dask_cores)
                    self._cluster.scale(jobs=jobs)
                else:
                    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                        self._cluster = distributed.LocalCluster(
                            n_workers=self.workers,
                            threads_per_worker=1,
                            processes=True,
                            host="127.0.0.1",
                            dashboard_address=None,
                            resources={CPU_RESOURCE: self.cpus_per_point},
                        )
                self.where = self._cluster.scheduler_address
                self._client = distributed.Client(self._cluster)
        except DseError:
            self._close()
            raise
        except Exception as exc:
            self._close()
            raise DseError(
                f"executor dask: cannot start or join the Dask cluster "
                f"({config.dask_address or config.dask_cluster or 'local'}): {exc}"
            ) from None
        self._resources = None

    def _node_reports(self) -> list[dict]:
        if self._batch:
            self._wait_for_batch_jobs()
        else:
            try:
                self._client.wait_for_workers(1, timeout=WORKER_TIMEOUT_S)
            except TimeoutError:
                raise DseError(f"the Dask scheduler at {self.where} has no worker after {WORKER_TIMEOUT_S} s") from None
        workers = self._client.scheduler_info()["workers"]
        # Ask for cpus only where the workers declare them (a scheduler of your own may not).
        if any(CPU_RESOURCE in w.get("resources", {}) for w in workers.values()):
            self._resources = {CPU_RESOURCE: self.cpus_per_point}
        answers = self._client.run(
            node.check_node, self.flow_names, self.flow_options, __version__, self.run_token, "dask", on_error="return"
        )
        reports = []
        for address, answer in answers.items():
            if isinstance(answer, BaseException):
                answer = dict(node=address, versions={}, problem=f"its check failed: {answer!r}")
            elif answer["node"] and address not in answer["node"]:
                answer["node"] = f"{answer['node']} (dask worker {address})"
            reports.append(answer)
        return reports

    def _wait_for_batch_jobs(self) -> None:
        """Until a worker job runs: as long as the batch system keeps them queued,
        but not when it refused them (the refusal is logged by dask-jobqueue)."""
        started = time.monotonic()
        while True:
            try:
                self._client.wait_for_workers(1, timeout=BATCH_POLL_S)
                return
            except TimeoutError:
                pass
            jobs = list(self._cluster.workers.values())
            if time.monotonic() - started > BATCH_POLL_S and not any(getattr(j, "job_id", None) for j in jobs):
                raise DseError(
                    f"the batch system ({self._cluster.job_cls.__name__}) took none of the worker "
                    "jobs (its error is logged above): check the options dask_queue, dask_cores, "
                    "dask_memory, dask_walltime and dask_job_extra"
                )

    def _start(self, job):
        key = f"edalize-dse-{job.ctx.space.point_id(job.point)}-{job.attempt}-{uuid.uuid4().hex[:8]}"
        return self._client.submit(node.run_point, job, key=key, pure=False, retries=0, resources=self._resources)

    def _wait(self, handles):
        distributed = self._distributed
        done, _ = distributed.wait(handles, return_when="FIRST_COMPLETED")
        outcomes = []
        for future in done:
            if future.status == "finished":
                outcomes.append((future, future.result()))
                continue
            exc = future.exception() if future.status == "error" else None
            if exc is None:
                outcomes.append((future, Lost(f"the scheduler dropped the task ({future.status})")))
            elif isinstance(exc, distributed.KilledWorker):
                outcomes.append((future, Lost(f"KilledWorker: the worker running it died ({exc})")))
            else:
                outcomes.append((future, Crashed(f"{type(exc).__name__}: {exc}")))
        return outcomes

    def _cancel(self, handles):
        try:
            self._client.cancel(handles, force=True)
        except Exception:  # the scheduler is already gone
            pass

    def _close(self):
        client, self._client = getattr(self, "_client", None), None
        if client is not None:
            client.close()
        cluster, self._cluster = self._cluster, None
        if cluster is not None:
            try:
                cluster.close()  # the local workers, or the batch jobs
            except Exception as exc:  # jobs the batch system never took cannot be closed: nothing runs
                logging.getLogger("edalize_dse.executors").warning("closing the Dask cluster: %r", exc)
