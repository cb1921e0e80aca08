"""Where points are evaluated: the run option ``executor`` picks one backend.

Every executor offers the same small interface to the exploration loop
(``explore.py``; ``base.Executor``), as the strategies offer ask/tell:

- ``check_nodes(flows)``: check each node's tools and platform before any point
  (one DseError naming the node and what is missing); what the nodes share
  (``NodeFacts``: tool versions, platform digest; the run's identity records them);
- ``free_slots`` / ``busy``: points that may start now / points still running;
- ``submit(point, ctx, round_no, controller_s)``: start one point;
- ``finished()``: block until a point is done; the Evaluations of the done points;
- ``shutdown()``: stop what is still running and release the engine.

Backends: ``local`` (threads, local.py), ``ray`` (ray_backend.py) and ``dask``
(dask_backend.py); the engines are imported only by their own backend."""

from __future__ import annotations

from edalize_dse.executors.base import Executor
from edalize_dse.executors.facts import NodeFacts
from edalize_dse.executors.local import LocalExecutor


def make_executor(config):
    """The executor of ``config.executor``, connected and ready for ``check_nodes``."""
    if config.executor == "ray":
        from edalize_dse.executors.ray_backend import RayExecutor

        return RayExecutor(config)
    if config.executor == "dask":
        from edalize_dse.executors.dask_backend import DaskExecutor

        return DaskExecutor(config)
    return LocalExecutor(config.workers)


__all__ = ["Executor", "LocalExecutor", "NodeFacts", "make_executor"]
