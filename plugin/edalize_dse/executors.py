"""Where evaluations run. ``LocalExecutor`` runs up to ``workers`` points at once
on this machine; each point spends its time in tool subprocesses, so threads
are enough to keep that many tools busy."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait


class LocalExecutor:
    def __init__(self, workers: int):
        self.workers = max(1, int(workers))
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="dse-eval")
        self._running: set[Future] = set()

    @property
    def free_slots(self) -> int:
        return self.workers - len(self._running)

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def submit(self, fn, *args) -> Future:
        future = self._pool.submit(fn, *args)
        self._running.add(future)
        return future

    def finished(self) -> list:
        """Block until at least one job is done; return the results of all done jobs."""
        done, self._running = wait(self._running, return_when=FIRST_COMPLETED)
        return [f.result() for f in done]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
