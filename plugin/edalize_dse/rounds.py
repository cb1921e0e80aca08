"""How the exploration asks and tells: the asynchronous loop (round_size 0), rounds of a
fixed size that reproduce whatever the number of workers (and their replay when a run
resumes), and the promotion of the best points to a second flow (synth+orfs)."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import replace

from edalize_dse.evaluate import EvaluationContext
from edalize_dse.pareto import promotion_order
from edalize_dse.preflight import Prepared
from edalize_dse.qor_constraints import judge
from edalize_dse.run_config import RunConfig
from edalize_dse.store import Store

log = logging.getLogger("edalize_dse.strategies.rounds")


def run_asynchronously(strategy, executor, ctx: EvaluationContext, remaining: int, rounds: int, record) -> int:
    """round_size 0: ask as many points as there are free workers, tell each result as it
    finishes. Every worker stays busy, but once the strategy's model rounds run, what it
    proposes depends on which results came back first: with more than one worker the
    same command can explore other points. Returns the last round's number."""
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
                executor.submit(point, ctx, rounds, ask_s / len(points))
            remaining -= len(points)
        if not executor.busy:
            break  # the space has no unseen point left
        for ev in executor.finished():
            if record(ev):
                strategy.tell([ev])
    return rounds


def run_in_rounds(config: RunConfig, strategy, executor, ctx: EvaluationContext, done: list, record) -> int:
    """round_size B: ask B points, evaluate them on however many workers there are, and
    tell their results in the order they were proposed once the whole round is back;
    then ask the next round. What is proposed depends on the seed and the results only,
    never on the number of workers or on which point finished first. A resumed run
    replays its stored rounds first (``replay_rounds``) and so continues the same
    sequence. Returns the last round's number."""
    space = ctx.space
    if config.workers > config.round_size:
        print(
            f"note: round_size {config.round_size} < workers {config.workers}: "
            f"{config.workers - config.round_size} worker(s) wait in every round (raise round_size, "
            "or 0 for the asynchronous loop)",
            file=sys.stderr,
        )
    carried, rounds, asked = replay_rounds(config, strategy, space, done)
    remaining = config.budget - asked
    exhausted = False
    while True:
        if carried:  # what the previous run proposed and did not store: evaluated first
            unfinished, points, stored = carried
            carried = None
            jobs = unfinished
            told = points  # the unfinished last round; points of earlier rounds are told after it
            ask_s = None
        else:
            size = min(config.round_size, remaining)
            if size <= 0 or exhausted:
                break
            start = time.perf_counter()
            points = strategy.ask(size)
            ask_s = (time.perf_counter() - start) / max(len(points), 1)
            if not points:
                break  # the space has no unseen point left
            rounds += 1
            exhausted = len(points) < size
            remaining -= len(points)
            stored = {}
            jobs = [(p, rounds) for p in points]
            told = points
        results = dict(stored)
        queue = list(jobs)
        started, workers = time.perf_counter(), config.workers
        freed = []  # when each worker that found the queue empty became free
        while queue or executor.busy:
            while queue and executor.free_slots > 0:
                point, round_no = queue.pop(0)
                executor.submit(point, ctx, round_no, ask_s)
            for ev in executor.finished():
                if record(ev):
                    results[space.canonical(ev.params)] = ev
                if not queue:
                    freed.append(time.perf_counter())
        end = time.perf_counter()
        # Worker-seconds spent waiting for the round's last point (the price of rounds).
        idle = sum(end - t for t in freed) + max(0, workers - len(jobs)) * (end - started)
        keys = [space.canonical(p) for p in told]
        keys += [k for k in (space.canonical(p) for p, _ in jobs) if k not in keys]
        told = [results[k] for k in keys if k in results]
        strategy.tell(told)
        log.info(
            "round %d: %d point(s) on %d worker(s) in %.1f s; workers idle at its end %.1f s; told %s",
            rounds,
            len(jobs),
            workers,
            end - started,
            idle,
            " ".join(e.point_id for e in told),
        )
    return rounds


def replay_rounds(config: RunConfig, strategy, space, done: list):
    """A resumed run in rounds: ask the strategy each stored round again (as many points as
    the loop asked then) and tell the stored results in the order they were proposed, so
    the strategy is where the interrupted run left it. A proposed point that was not stored
    (the run was interrupted in that round, or the point timed out) is handed back to be
    evaluated now, with its own round, before the next round is asked. Replaying costs the
    earlier rounds' controller time again. Stored results the strategy would not propose
    (another version, the asynchronous mode) cannot be replayed: they are told at once,
    one log line says so, and the run goes on from there.

    Returns (the round to finish first or None, last round number, points asked so far)."""
    by_round: dict[int, list] = {}
    for ev in done:
        by_round.setdefault(ev.round, []).append(ev)
    order = sorted(by_round)
    if len(done) >= config.budget:
        # The budget is spent: nothing will be asked, so the strategy need not be brought
        # back round by round (a resumed, finished run starts no model, so it starts in seconds).
        strategy.tell(done)
        return None, order[-1] if order else 0, len(done)
    asked, last = 0, None
    unfinished = []  # (point, its round) proposed but not stored
    for i, round_no in enumerate(order):
        stored = {space.canonical(e.params): e for e in by_round[round_no]}
        rest = [e for r in order[i:] for e in by_round[r]]
        size = min(config.round_size, config.budget - asked)
        if size <= 0:  # a smaller budget than the stored run's: nothing left to ask
            strategy.tell(rest)
            return None, order[-1], asked + len(rest)
        points = strategy.ask(size)
        keys = [space.canonical(p) for p in points]
        if not set(stored) <= set(keys):
            strategy.pending.difference_update(keys)
            strategy.tell(rest)
            log.info(
                "resumed: stored round %d is not what the strategy proposes now (results of another version "
                "or of the asynchronous mode); its %d result(s) are told at once, and the proposals from "
                "here on differ from an uninterrupted run's",
                round_no,
                len(rest),
            )
            return None, order[-1], len(done)
        asked += len(points)
        unfinished += [(p, round_no) for p, k in zip(points, keys) if k not in stored]
        if i == len(order) - 1 and len(stored) < len(points):
            last = (points, stored, round_no)  # told when its missing points are back
        else:
            strategy.tell([stored[k] for k in keys if k in stored])
    if not unfinished:
        return None, order[-1] if order else 0, asked
    points, stored, _ = last or ([], {}, None)
    return (unfinished, points, stored), order[-1], asked


def promote(prep: Prepared, store: Store, executor, ctx: EvaluationContext, round_no: int) -> None:
    """synth+orfs: run the promoted flow on the best ``promote`` points of the synth
    results (Pareto rank, then the first objective), skipping those already done."""
    flow = prep.promoted_flow
    done = {e.point_id for e in store.evaluations(fidelity=flow.name)}
    wanted = prep.config.promote - len(done)
    explored = store.evaluations(fidelity=prep.flow.name)
    chosen = [e for e in promotion_order(explored, prep.space.objectives) if e.point_id not in done][: max(wanted, 0)]
    promoted_ctx = replace(ctx, flow=flow, strategy=f"promoted from {prep.flow.name}")
    for ev in chosen:
        executor.submit(ev.params, promoted_ctx, round_no)
    while executor.busy:
        for ev in executor.finished():
            if ev.status != "timeout":  # a timed-out promotion is retried by the next run
                store.add(judge(ev, prep.space))
