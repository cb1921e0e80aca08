"""``ray``: each point is one plain Ray task (not Ray Tune: the store is the
experiment's state). The cluster is ``ray_address``, else ``$RAY_ADDRESS``,
else a Ray started on this machine for the run and stopped after it.

Ray itself never retries a point (``max_retries=0``): the driver does, so that
every attempt is counted in the store. Ray is imported only here; it is the
optional extra ``edalize-dse[ray]``."""

from __future__ import annotations

import logging
import os

from edalize_dse import __version__
from edalize_dse.errors import DseError
from edalize_dse.executors import node
from edalize_dse.executors.remote import Crashed, Lost, RemoteExecutor
from edalize_dse.extras import require

# A node that does not answer its check in this time is named as the problem.
CHECK_TIMEOUT_S = 300


def _import_ray():
    require("ray", "executor 'ray'")
    import ray

    return ray


class RayExecutor(RemoteExecutor):
    backend = "ray"

    def __init__(self, config):
        super().__init__(config)
        ray = self._ray = _import_ray()
        address = config.ray_address or os.environ.get("RAY_ADDRESS")
        self.where = address or "a Ray started on this machine"
        try:
            if address:
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
            else:
                # Only this run uses it: it listens on the loopback interface alone.
                ray.init(
                    num_cpus=self.workers * self.cpus_per_point,
                    include_dashboard=False,
                    _node_ip_address="127.0.0.1",
                    logging_level=logging.WARNING,
                    log_to_driver=False,
                )
        except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError...
            raise DseError(
                f"executor ray: cannot join the Ray cluster at {self.where}: {exc}; check ray_address "
                "(or RAY_ADDRESS) and that 'ray status' works there"
            ) from None
        self._run_point = ray.remote(node.run_point).options(
            num_cpus=self.cpus_per_point, max_retries=0, retry_exceptions=False
        )

    def _node_reports(self) -> list[dict]:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        ray = self._ray
        nodes = [
            n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= self.cpus_per_point
        ]
        check = ray.remote(node.check_node)
        args = (self.flow_names, self.flow_options, __version__, self.run_token, "ray")
        refs = {
            check.options(
                num_cpus=0, max_retries=0, scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
            ).remote(*args): n
            for n in nodes
        }
        ready, late = ray.wait(list(refs), num_returns=len(refs), timeout=CHECK_TIMEOUT_S)
        reports = []
        for ref in ready:
            try:
                reports.append(ray.get(ref))
            except ray.exceptions.RayError as exc:
                n = refs[ref]
                reports.append(dict(node=self._name(n), versions={}, problem=f"its check failed: {_first_line(exc)}"))
        for ref in late:
            reports.append(
                dict(
                    node=self._name(refs[ref]),
                    versions={},
                    problem=f"it did not answer the tool check within {CHECK_TIMEOUT_S} s",
                )
            )
        return reports

    @staticmethod
    def _name(n: dict) -> str:
        return f"{n.get('NodeManagerHostname')} (ray node {n['NodeID'][:12]} at {n.get('NodeManagerAddress')})"

    def _start(self, job):
        return self._run_point.remote(job)

    def _wait(self, handles):
        ray = self._ray
        ray.wait(handles, num_returns=1)
        ready, _ = ray.wait(handles, num_returns=len(handles), timeout=0)
        outcomes = []
        for ref in ready:
            try:
                outcomes.append((ref, ray.get(ref)))
            except ray.exceptions.RayTaskError as exc:  # raised by our code on the node
                outcomes.append((ref, Crashed(_first_line(exc))))
            except ray.exceptions.RayError as exc:  # worker or node died, object lost, out of memory
                outcomes.append((ref, Lost(f"{type(exc).__name__}: {_first_line(exc)}")))
        return outcomes

    def _cancel(self, handles):
        for ref in handles:
            try:
                self._ray.cancel(ref, force=True)
            except Exception:  # already finished or its node is gone
                pass

    def _close(self):
        self._ray.shutdown()  # disconnects; stops the Ray this run started


def _first_line(exc) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
