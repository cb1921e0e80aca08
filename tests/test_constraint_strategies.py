"""Every strategy is constraint-aware with its library's mechanism, checked on the committed
table (benchmarks/tables/gemmini_table.csv.gz) with 'wns_ps >= 0', which a minority of its
rows meet: the model-based strategies propose feasible points far more often than the table's
share once their initial design is over; Optuna's trials carry the constraint values."""

import sys

import pytest

from conftest import CORES, REPO
from edalize_dse.qor_constraints import parse_all, violation
from edalize_dse.store import Evaluation
from edalize_dse.strategies import make_strategy

sys.path.insert(0, str(REPO / "benchmarks"))
from constraint_bench import feasible_reference, table  # noqa: E402

TABLE = str(REPO / "benchmarks" / "tables" / "gemmini_table.csv.gz")
SPACE = str(CORES / "spaces" / "gemmini_table.yml")
CONSTRAINT = ("wns_ps >= 0",)


def replay(strategy, budget, batch=4, **options):
    """(strategy object, feasibility of each evaluation in order) against the table."""
    objective = table(SPACE, TABLE, CONSTRAINT)
    space = objective.space
    strat = make_strategy(strategy, space, 0, **options)
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


def test_motpe_prefers_feasible_points_after_its_startup():
    _, feasible = replay("motpe", 40)
    assert sum(feasible[10:]) / 30 > 2 * table_share()


def test_diffusion_conditions_on_feasible_targets_and_screens_by_feasibility():
    _, feasible = replay("diffusion", 26, init_points=10, train_steps=400, finetune_steps=100, candidates=96)
    assert sum(feasible[10:]) / 16 > 2 * table_share()


def test_qnehvi_outcome_constraints_steer_it_to_feasible_points():
    _, feasible = replay("qnehvi", 18, init_points=10, max_candidates=96, mc_samples=16)
    assert sum(feasible[10:]) / 8 > 2 * table_share()


def test_dosa_screens_by_predicted_feasibility(platform_dir):
    _, feasible = replay("dosa", 18, init_points=10, max_hardware=8)
    assert sum(feasible[10:]) / 8 > 2 * table_share()
