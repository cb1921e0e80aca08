"""Every strategy is constraint-aware with its library's mechanism, checked on the committed
table (benchmarks/tables/gemmini_table.csv.gz) with 'wns_ps >= 0', which a minority of its
rows meet: once its initial design is over, each model-based strategy proposes feasible points
more often than the same strategy, same seed, told no constraint (and than the table's share);
Optuna's trials carry the constraint values."""

import copy
import sys

import pytest

from edalize_dse.qor_constraints import parse_all, violation
from edalize_dse.store import Evaluation
from edalize_dse.strategies import make_strategy

from conftest import CORES, REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from constraint_bench import feasible_reference, table  # noqa: E402

TABLE = str(REPO / "benchmarks" / "tables" / "gemmini_table.csv.gz")
SPACE = str(CORES / "spaces" / "gemmini_table.yml")
CONSTRAINT = ("wns_ps >= 0",)


def replay(strategy, budget, batch=4, blind=False, **options):
    """(strategy object, feasibility of each evaluation in order) against the table; ``blind``:
    the strategy is told no constraint (its points are still judged by it)."""
    objective = table(SPACE, TABLE, CONSTRAINT)
    space = objective.space
    told = space
    if blind:
        told = copy.copy(space)
        told.qor_constraints = []
    strat = make_strategy(strategy, told, 0, **options)
    feasible = []
    while len(feasible) < budget:
        evs = []
        for p in strat.ask(batch):
            qor = objective.evaluate(p)
            ev = Evaluation(space.point_id(p), p, "ok", dict(qor))
            ev.violation = violation(qor, space.qor_constraints)
            evs.append(ev)
            feasible.append(ev.feasible)
        strat.tell(evs)
    return strat, feasible


def table_share():
    return feasible_reference(table(SPACE, TABLE, CONSTRAINT))[3]


def test_the_constraint_leaves_a_minority_of_the_table_feasible():
    assert 0.05 < table_share() < 0.35


@pytest.mark.parametrize("name", ["nsga2", "motpe"])
def test_optuna_trials_carry_the_constraint_slack(name):
    strat, _ = replay(name, 8)
    done = [t for t in strat.study.trials if t.state.name == "COMPLETE"]
    assert len(done) == 8
    (c,) = parse_all(list(CONSTRAINT))
    for trial in done:
        (value,) = trial.constraints.values()
        wns = table(SPACE, TABLE, CONSTRAINT).evaluate(strat.to_point(trial.params))["wns_ps"]
        assert value == pytest.approx(c.slack(wns))


def share_after(feasible, init=10):
    return sum(feasible[init:]) / len(feasible[init:])


def aware_and_blind(strategy, budget, **options):
    aware = share_after(replay(strategy, budget, **options)[1])
    blind = share_after(replay(strategy, budget, blind=True, **options)[1])
    return aware, blind


def test_motpe_prefers_feasible_points_after_its_startup():
    aware, blind = aware_and_blind("motpe", 60)
    assert aware > blind and aware > 2 * table_share()


@pytest.mark.slow  # model rounds to a feasible region
def test_diffusion_conditions_on_feasible_targets_and_screens_by_feasibility():
    aware, blind = aware_and_blind("diffusion", 26, init_points=10, train_steps=400, finetune_steps=100, candidates=96)
    assert aware >= blind + 0.15 and aware > 2 * table_share()


@pytest.mark.slow  # GP rounds with outcome constraints (over a minute)
def test_qnehvi_outcome_constraints_steer_it_to_feasible_points():
    aware, blind = aware_and_blind("qnehvi", 26, init_points=10, max_candidates=64, mc_samples=16)
    assert aware >= blind + 0.15 and aware > 2 * table_share()


def test_dosa_screens_by_predicted_feasibility(platform_dir):
    aware, blind = aware_and_blind("dosa", 18, init_points=10, max_hardware=8)
    assert aware >= blind + 0.3 and aware > 2 * table_share()
