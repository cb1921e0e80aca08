"""Replaying stored rounds (``explore.replay_rounds``), without tools: a strategy
driven round by round, with an analytic QoR, is the uninterrupted run; a fresh
strategy given its stored evaluations must end up where it was."""

import pytest
from test_nsga2 import SPACE, qor

from edalize_dse.explore import RunConfig, replay_rounds
from edalize_dse.space import load_space
from edalize_dse.store import Evaluation
from edalize_dse.strategies import make_strategy

from conftest import write_space

TINY = {"init_points": 4, "train_steps": 40, "finetune_steps": 10, "candidates": 32, "targets": 4, "ddim_steps": 4}


def config(tmp_path, budget):
    return RunConfig(space=str(tmp_path / "space.yml"), output=str(tmp_path / "out"), budget=budget, round_size=4)


def run_rounds(strategy, space, rounds):
    """``rounds`` rounds of 4, told in proposal order; the evaluations as the store keeps them."""
    stored = []
    for r in range(1, rounds + 1):
        evs = [Evaluation(space.point_id(p), p, "ok", qor(p), round=r) for p in strategy.ask(4)]
        strategy.tell(evs)
        stored += reversed(evs)  # completion order differs from proposal order
    return stored


@pytest.fixture
def space(tmp_path):
    return load_space(write_space(tmp_path, SPACE))


def test_replayed_rounds_continue_the_same_sequence(tmp_path, space):
    original = make_strategy("diffusion", space, seed=4, **TINY)
    stored = run_rounds(original, space, 3)  # one Sobol round, two model rounds
    resumed = make_strategy("diffusion", space, seed=4, **TINY)
    carried, last, asked = replay_rounds(config(tmp_path, 16), resumed, space, stored)
    assert (carried, last, asked) == (None, 3, 12)
    assert resumed.ask(4) == original.ask(4)


def test_an_interrupted_round_is_handed_back_to_be_finished(tmp_path, space):
    original = make_strategy("diffusion", space, seed=4, **TINY)
    stored = run_rounds(original, space, 3)
    last_round = [e.params for e in reversed(stored[-4:])]  # in proposal order
    kept = stored[:-2]  # two points of round 3 finished before the stop
    resumed = make_strategy("diffusion", space, seed=4, **TINY)
    carried, last, asked = replay_rounds(config(tmp_path, 16), resumed, space, kept)
    unfinished, points, done = carried
    assert points == last_round and (last, asked) == (3, 12)
    assert [p for p, _ in unfinished] == [p for p in last_round if space.point_id(p) not in {e.point_id for e in kept}]
    assert all(r == 3 for _, r in unfinished) and len(done) == 2


def test_results_the_strategy_would_not_propose_are_told_at_once(tmp_path, space):
    stored = run_rounds(make_strategy("diffusion", space, seed=4, **TINY), space, 3)
    other = make_strategy("diffusion", space, seed=5, **TINY)  # another seed: other proposals
    carried, last, asked = replay_rounds(config(tmp_path, 16), other, space, stored)
    assert (carried, last, asked) == (None, 3, 12)
    assert other.evaluated == {space.canonical(e.params) for e in stored} and not other.pending


def test_a_finished_run_is_not_replayed(tmp_path, space):
    """Budget spent: the stored results are told at once and no round is asked again, so a
    resumed finished run trains no model (it starts in seconds)."""
    stored = run_rounds(make_strategy("diffusion", space, seed=4, **TINY), space, 3)
    resumed = make_strategy("diffusion", space, seed=4, **TINY)
    carried, last, asked = replay_rounds(config(tmp_path, 12), resumed, space, stored)
    assert (carried, last, asked) == (None, 3, 12)
    assert resumed.model_rounds == 0 and resumed.denoiser is None
    assert resumed.evaluated == {space.canonical(e.params) for e in stored} and not resumed.pending
