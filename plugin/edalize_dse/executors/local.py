"""``local``: up to ``workers`` points at once on this machine. Each point spends
its time in tool subprocesses, so threads are enough to keep that many tools busy;
the tools were checked by ``explore.prepare`` on this very machine."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from edalize_dse.evaluate import evaluate_point
from edalize_dse.executors.base import Executor
from edalize_dse.executors.facts import NodeFacts


class LocalExecutor(Executor):
    def __init__(self, workers: int):
        super().__init__(workers)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="dse-eval")
        self._running: set[Future] = set()

    def check_nodes(self, flows) -> NodeFacts:
        """This machine is the only node and ``prepare`` checked its tools already."""
        return NodeFacts()

    def submit(self, point: dict, ctx, round_no: int, controller_s: float | None = None) -> None:
        self._running.add(self._pool.submit(evaluate_point, point, ctx, round_no, controller_s))

    def finished(self) -> list:
        """Block until at least one point is done; return the Evaluations of all done points."""
        done, self._running = wait(self._running, return_when=FIRST_COMPLETED)
        return [f.result() for f in done]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
