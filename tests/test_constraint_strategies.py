"""Every strategy is constraint-aware with its library's mechanism, checked on the committed
table (benchmarks/tables/gemmini_table.csv.gz) with 'wns_ps >= 0', which a minority of its
rows meet: once its initial design is over, each model-based strategy proposes feasible points
more often than the same strategy, same seed, told no constraint (and than the table's share);
Optuna's trials carry the constraint values. The runs are the benchmark's own (pool-based,
``strategy_bench.run_loop``)."""

import pytest

from benchmarks import strategy_bench
from edalize_dse.qor_constraints import parse_all
from edalize_dse.strategies import make_strategy

from conftest import CORES, REPO

TABLE = str(REPO / "benchmarks" / "tables" / "gemmini_table.csv.gz")
SPACE = str(CORES / "spaces" / "gemmini_table.yml")
CONSTRAINT = "wns_ps >= 0"
SPEC = f"table:{SPACE},{TABLE}{strategy_bench.WHERE}{CONSTRAINT}"


def table():
    return strategy_bench._objective(SPEC)


def share_after_init(strategy, budget, blind=False, **options):
    """The share of feasible evaluations after the first 10 of a seed-0 run against the
    table; ``blind``: the strategy is told no constraint (its points are still judged by it)."""
    name = strategy + (strategy_bench.UNAWARE if blind else "")
    rows = strategy_bench.run_one(SPEC, name, 0, budget, 4, {strategy: options})[3]
    assert len(rows) == budget
    return strategy_bench.feasible_share(rows, 10)


def table_share():
    return table().feasible_share()


def test_the_constraint_leaves_a_minority_of_the_table_feasible():
    assert 0.05 < table_share() < 0.35


@pytest.mark.parametrize("name", ["nsga2", "motpe"])
def test_optuna_trials_carry_the_constraint_slack(name):
    strat = make_strategy(name, table().space, 0)
    strategy_bench.run_loop(table(), strat, 8, 4)
    done = [t for t in strat.study.trials if t.state.name == "COMPLETE"]
    assert len(done) == 8
    (c,) = parse_all([CONSTRAINT])
    for trial in done:
        (value,) = trial.constraints.values()
        wns = table().evaluate(strat.to_point(trial.params))["wns_ps"]
        assert value == pytest.approx(c.slack(wns))


def aware_and_blind(strategy, budget, **options):
    return share_after_init(strategy, budget, **options), share_after_init(strategy, budget, blind=True, **options)


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


def test_the_study_command_judges_a_table_by_a_constraint_and_reports_the_feasible_share(tmp_path):
    argv = ["--problems", f"table:{SPACE},{TABLE}", "--constraint", CONSTRAINT, "--strategies", "random"]
    argv += ["random-unaware", "--seeds", "2", "--budgets", "12", "--batch", "4", "--init", "4", "--jobs", "1"]
    results, _ = strategy_bench.main([*argv, "--runs", str(tmp_path / "runs"), "--out", str(tmp_path), "--tag", "c"])
    assert {r[0] for r in results} == {SPEC}
    rows = {(r[1], r[2]): r[3] for r in results}
    # random never reads the constraints: told them or not, the same seed evaluates the same rows.
    assert rows[("random", 0)] == rows[("random-unaware", 0)] and rows[("random", 0)] != rows[("random", 1)]
    table_md = (tmp_path / "strategies_c.md").read_text()
    assert "| feasible share after 4 |" in table_md and "where wns_ps >= 0" in table_md
    assert f"{table_share():.1%} of the pool's successful rows meet wns_ps >= 0" in table_md
    with pytest.raises(SystemExit, match="--constraint applies to table problems, not zdt1"):
        strategy_bench.main(["--problems", "zdt1", "--constraint", CONSTRAINT, "--out", str(tmp_path)])
