import sqlite3

import numpy as np
import pytest

from edalize_dse.errors import DseError
from edalize_dse.pareto import front, hypervolume, normalized_hypervolume
from edalize_dse.space import Objective, load_space
from edalize_dse.store import Evaluation, Store
from edalize_dse.strategies import make_strategy

from conftest import write_space

SPACE = """
parameters:
  a: {layer: hardware, type: int, low: 0, high: 5, default: 0}
  b: {layer: eda, type: choice, choices: [x, y, z], default: x}
constraints:
  - {name: not_5z, expr: "not (a == 5 and b == 'z')"}
objectives:
  - {name: area_um2, goal: min}
  - {name: throughput_gops, goal: max}
"""


def ev(pid, params, status="ok", **qor):
    return Evaluation(
        point_id=pid, params=params, status=status, qor=qor, strategy="t", round=1, started_at="s", finished_at="f"
    )


def test_store_round_trip_and_uniqueness(tmp_path):
    store = Store(tmp_path / "dse.sqlite")
    store.add(ev("p1", {"a": 1}, area_um2=3.0))
    store.add(
        Evaluation(
            point_id="p2",
            params={"a": 2},
            status="failed",
            error="synth: timed out",
            log_tail="tail",
            timings={"synth_s": 1.0},
            started_at="s",
            finished_at="f",
        )
    )
    store.close()
    again = Store(tmp_path / "dse.sqlite")
    rows = again.evaluations()
    assert [(r.point_id, r.status) for r in rows] == [("p1", "ok"), ("p2", "failed")]
    assert rows[0].qor == {"area_um2": 3.0} and rows[1].error == "synth: timed out"
    with pytest.raises(sqlite3.IntegrityError):
        again.add(ev("p1", {"a": 1}))
    assert len(again.evaluations()) == 2


def test_store_identity_binds_and_names_what_changed(tmp_path):
    from edalize_dse.explore import open_store
    from edalize_dse.identity import changes

    identity = {"space": "aaa", "clock_port": "clk", "tools": {"yosys": "0.70"}}
    store = open_store(tmp_path, identity, restart=False)
    store.add(ev("p1", {"a": 1}))
    store.close()
    open_store(tmp_path, dict(identity), restart=False).close()  # the same exploration resumes
    moved = {**identity, "clock_port": "wb_clk_i", "space": "bbb"}
    assert changes(identity, moved) == ["space file", "clock port ('clk' -> 'wb_clk_i')"]
    with pytest.raises(DseError, match=r"changed: space file; clock port \('clk' -> 'wb_clk_i'\).*--restart"):
        open_store(tmp_path, moved, restart=False)
    # --restart keeps the old results aside and starts an empty store.
    fresh = open_store(tmp_path, moved, restart=True)
    assert fresh.evaluations() == [] and fresh.recorded_identity() == moved
    fresh.add(ev("p2", {"a": 2}))
    fresh.close()
    assert [e.point_id for e in Store(tmp_path / "dse.sqlite.old").evaluations()] == ["p1"]
    # A second --restart numbers its old store: the first one is never overwritten.
    open_store(tmp_path, identity, restart=True).close()
    assert [e.point_id for e in Store(tmp_path / "dse.sqlite.old").evaluations()] == ["p1"]
    assert [e.point_id for e in Store(tmp_path / "dse.sqlite.old.2").evaluations()] == ["p2"]


def test_random_strategy_is_valid_unique_seeded_and_exhausts(tmp_path):
    space = load_space(write_space(tmp_path, SPACE))
    first = make_strategy("random", space, seed=7).ask(5)
    assert first == make_strategy("random", space, seed=7).ask(5)
    assert first != make_strategy("random", space, seed=8).ask(5)
    strat = make_strategy("random", space, seed=1)
    seen = []
    while True:
        batch = strat.ask(4)
        if not batch:
            break
        seen += batch
        strat.tell([ev(space.point_id(p), p, status="failed") for p in batch])
    assert len(seen) == 17  # 6 x 3 minus the excluded (5, z)
    assert len({space.canonical(p) for p in seen}) == 17
    assert all(space.is_valid(p) for p in seen)


def test_pending_points_are_not_proposed_twice(tmp_path):
    space = load_space(write_space(tmp_path, SPACE))
    strat = make_strategy("random", space, seed=0)
    a, b = strat.ask(9), strat.ask(9)
    assert not {space.canonical(p) for p in a} & {space.canonical(p) for p in b}
    assert strat.ask(1) == []


def test_unknown_strategy():
    with pytest.raises(
        DseError, match="unknown strategy 'nope'; available: diffusion, dosa, grid, motpe, nsga2, qnehvi, random, sobol"
    ):
        make_strategy("nope", None, seed=0)


def test_front_and_hypervolume_known_values():
    objectives = [Objective("area_um2", "min"), Objective("throughput_gops", "max")]
    evs = [
        ev("a", {}, area_um2=1, throughput_gops=1),
        ev("b", {}, area_um2=2, throughput_gops=3),
        ev("c", {}, area_um2=3, throughput_gops=2),
        ev("d", {}, status="failed"),
    ]
    assert [e.point_id for e in front(evs, objectives)] == ["a", "b"]
    # minimisation form: (1,-1), (2,-3), (3,-2); ideal (1,-3), nadir (3,-1)
    # scaled: (0,1), (0.5,0), (1,0.5); reference 1.1 each
    expected = 1.1 * 0.1 + 0.6 * 1.0 + 0.0  # union of the boxes dominated by (0,1) and (0.5,0)
    # The run summary's figure is the share of the reference box (1.1 x 1.1): never above 1.
    assert hypervolume(evs, objectives) == pytest.approx(expected / 1.21)
    single = [ev("a", {}, area_um2=1, throughput_gops=1)]
    assert hypervolume(single, objectives) == pytest.approx(1.0)  # one point dominates the whole box
    m = np.array([[0.0, 0.0]])
    assert normalized_hypervolume(m, np.zeros(2), np.ones(2)) == pytest.approx(1.21)
