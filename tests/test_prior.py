"""Warm start from earlier data (run option ``prior``): mapping onto the space,
exclusion of the prior's points, the budget, and reproducible proposals."""

import csv
import gzip
import io

import pytest

from edalize_dse.errors import DseError
from edalize_dse.explore import RunConfig, explore
from edalize_dse.prior import load_prior
from edalize_dse.space import load_space
from edalize_dse.store import STORE_NAME, Evaluation, Store
from edalize_dse.strategies import make_strategy

from conftest import ONE_SMALL_ARRAY, write_space

# A small space with a synthetic QoR (no tools): 8 x 4 x 3 = 96 points.
TOY = """
name: prior_toy
parameters:
  a: {layer: hardware, type: int, low: 0, high: 7, default: 0}
  b: {layer: hardware, type: pow2, low: 1, high: 8, default: 1}
  c: {layer: eda, type: choice, choices: [x, y, z], default: x}
objectives:
  - {name: f1, goal: min}
  - {name: f2, goal: min}
"""
# The same space as an earlier run saw it: 'a' went to 9, 'c' did not exist, 'booth' did.
OLD_TOY = """
name: prior_toy_old
parameters:
  a: {layer: hardware, type: int, low: 0, high: 9, default: 0}
  b: {layer: hardware, type: pow2, low: 1, high: 8, default: 1}
  booth: {layer: eda, type: bool, default: false}
objectives:
  - {name: f1, goal: min}
  - {name: f2, goal: min}
"""
FAST = {
    "diffusion": dict(train_steps=50, finetune_steps=20, candidates=32, targets=4, ddim_steps=5),
    "qnehvi": dict(max_candidates=64, mc_samples=16),
    "motpe": {},
    "nsga2": dict(population_size=8),
    "random": {},
    "sobol": {},
}


def qor(point: dict) -> dict:
    c = {"x": 0.0, "y": 0.5, "z": 1.0}.get(point.get("c"), 0.0)
    f2 = (9 - point["a"]) + 8 / point["b"] + c + 0.3 * point.get("booth", 0)
    return {"f1": point["a"] + point["b"] + c, "f2": f2}


def evaluation(space, point: dict) -> Evaluation:
    return Evaluation(point_id=space.point_id(point), params=point, status="ok", qor=qor(point))


def toy_prior(space, count: int = 24) -> list[Evaluation]:
    """The first ``count`` valid points, in enumeration order, with their QoR."""
    return [evaluation(space, p) for p in space.enumerate_valid()[:count]]


def run_rounds(strategy, space, rounds: int = 2, batch: int = 4) -> list[list[dict]]:
    asked = []
    for _ in range(rounds):
        points = strategy.ask(batch)
        asked.append(points)
        strategy.tell([evaluation(space, p) for p in points])
    return asked


# qnehvi's GP rounds take seconds each: `make test` runs it, `make check` the others.
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n == "qnehvi" else n for n in sorted(FAST)]
)
def test_prior_points_are_never_proposed_nor_counted(tmp_path, name):
    space = load_space(write_space(tmp_path, TOY))
    prior = toy_prior(space)
    strategy = make_strategy(name, space, 3, **FAST[name])
    strategy.warm_start(prior)
    asked = run_rounds(strategy, space)
    keys = {space.canonical(e.params) for e in prior}
    proposed = [space.canonical(p) for batch in asked for p in batch]
    assert len(proposed) == 8 and len(set(proposed)) == 8
    assert not keys & set(proposed)
    # The run's own history holds only its own results.
    assert len(strategy.history) == 8 and not keys & strategy.evaluated
    if name in ("diffusion", "qnehvi"):
        # 24 prior points cover the initial design (init_points 10): the first ask is a model round.
        assert strategy.model_rounds == 2
    if name in ("motpe", "nsga2"):
        # The study holds the prior as completed trials, through Optuna's own add_trial.
        from optuna.trial import TrialState

        complete = strategy.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        assert len(complete) == len(prior) + 8


def test_initial_design_is_shortened_by_the_prior(tmp_path):
    space = load_space(write_space(tmp_path, TOY))
    strategy = make_strategy("diffusion", space, 0, init_points=10, **FAST["diffusion"])
    strategy.warm_start(toy_prior(space, 6))
    # 10 - 6 = 4 Sobol points, then the models.
    strategy.tell([evaluation(space, p) for p in strategy.ask(4)])
    assert strategy.model_rounds == 0
    strategy.ask(2)
    assert strategy.model_rounds == 1


@pytest.mark.parametrize("name", ["diffusion", "motpe", pytest.param("qnehvi", marks=pytest.mark.slow)])
def test_same_seed_and_prior_give_the_same_proposals(tmp_path, name):
    space = load_space(write_space(tmp_path, TOY))

    def proposals(prior):
        strategy = make_strategy(name, space, 5, **FAST[name])
        if prior is not None:
            strategy.warm_start(prior)
        return run_rounds(strategy, space)

    with_prior = proposals(toy_prior(space))
    assert proposals(toy_prior(space)) == with_prior
    # ... and the prior is what made them: without it the same seed proposes otherwise.
    assert proposals(None) != with_prior


def test_screen_optimism_moves_with_the_share_of_the_data_a_prior_holds(tmp_path):
    space = load_space(write_space(tmp_path, TOY))
    # Own data only: the screen's kappa is kappa.
    alone = make_strategy(
        "diffusion", space, 1, init_points=6, kappa=0.5, prior_kappa=1.0, stall_growth=1.0, **FAST["diffusion"]
    )
    run_rounds(alone, space, rounds=3)
    assert alone.model_rounds >= 1 and alone.optimism() == 0.5
    # 24 prior rows of weight 0.5 against the own rows: kappa + share * (prior_kappa - kappa),
    # the share by weight, so it falls as the run's own results come in.
    primed = make_strategy("diffusion", space, 1, kappa=0.5, prior_kappa=1.0, stall_growth=1.0, **FAST["diffusion"])
    primed.warm_start(toy_prior(space), weight=0.5)
    shares = []
    for _ in range(3):
        run_rounds(primed, space, rounds=1)
        shares.append(primed.optimism())
    own = [0, 4, 8]  # own results at each ask
    assert shares == pytest.approx([0.5 + 0.5 * 12 / (12 + k) for k in own])
    with pytest.raises(DseError, match="prior_kappa"):
        make_strategy("diffusion", space, 1, prior_kappa=-1)


def test_screen_optimism_grows_while_the_batches_add_nothing_to_the_front(tmp_path):
    space = load_space(write_space(tmp_path, TOY))
    strategy = make_strategy("diffusion", space, 2, init_points=6, kappa=0.5, stall_growth=2.0, **FAST["diffusion"])
    run_rounds(strategy, space, rounds=2, batch=3)  # the initial design
    kappas = []
    for _ in range(4):
        points = strategy.ask(2)
        kappas.append(strategy.optimism())
        # Every proposal measures far worse than anything seen: no batch reaches the front.
        strategy.tell([Evaluation(space.point_id(p), p, "ok", {"f1": 1e3, "f2": 1e3}) for p in points])
    # The first model round has nothing to judge; then x2 per stalled round, capped at 4x.
    assert kappas == [0.5, 1.0, 2.0, 2.0]
    # A batch that reaches the front ends the stall.
    points = strategy.ask(2)
    strategy.tell([Evaluation(space.point_id(p), p, "ok", {"f1": -1.0, "f2": -1.0}) for p in points])
    strategy.ask(2)
    assert strategy.stalled == 0 and strategy.optimism() == 0.5


def test_prior_weight_zero_only_excludes(tmp_path):
    space = load_space(write_space(tmp_path, TOY))
    prior = toy_prior(space)
    strategy = make_strategy("qnehvi", space, 0, **FAST["qnehvi"])
    strategy.warm_start(prior, weight=0.0)
    first = strategy.ask(4)
    # No data from the prior: the Sobol initial design runs, and still avoids the prior's points.
    assert strategy.model_rounds == 0
    assert not {space.canonical(e.params) for e in prior} & {space.canonical(p) for p in first}


def write_old_store(tmp_path) -> tuple:
    """An earlier run's output folder over OLD_TOY: 40 points, 10 of them with a = 8 or 9."""
    old = load_space(write_space(tmp_path, OLD_TOY, "old.yml"))
    folder = tmp_path / "old_run"
    store = Store(folder / STORE_NAME)
    points = [p for p in old.enumerate_valid() if p["b"] in (2, 4)][:40]
    for point in points:
        store.add(evaluation(old, point))
    store.close()
    return folder, points


def test_prior_from_a_changed_space_is_mapped_by_name_with_one_line(tmp_path):
    space = load_space(write_space(tmp_path, TOY))
    folder, points = write_old_store(tmp_path)
    outside = sum(p["a"] > 7 for p in points)
    assert outside == 8
    prior = load_prior([str(folder)], space)
    assert prior.lines == [
        f"prior {folder}: 32 of 40 points used; parameter 'booth' dropped (not in this space); "
        "'c' missing (set to default x); 8 points outside this space (a=8: 4, a=9: 4); "
        "its points inform the models only (other parameters), the run may evaluate them"
    ]
    assert len(prior.evaluations) == 32
    assert all(
        set(e.params) == {"a", "b", "c"} and e.params["c"] == "x" and e.params["a"] <= 7 for e in prior.evaluations
    )
    assert all(space.is_valid(e.params) and e.point_id == space.point_id(e.params) for e in prior.evaluations)
    # Other parameters: other designs were measured; the run may still measure these points itself.
    assert prior.excluded == set()


def test_prior_from_a_table_with_the_same_parameters(tmp_path):
    """A benchmark table (build_table's layout) from another range of 'a': the points in
    this space are used and excluded, the others reported by their value."""
    space = load_space(write_space(tmp_path, TOY))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["a", "b", "c", "status", "error", "f1", "f2", "flow_wall_s", "version_yosys", "finished_at"])
    rows = [{"a": a, "b": 2, "c": c} for a in (6, 7, 8) for c in ("x", "z")]
    for p in rows:
        q = qor(p)
        w.writerow([p["a"], p["b"], p["c"], "ok", "", q["f1"], q["f2"], 1.5, "Yosys 0.70", "2026-11-30"])
    w.writerow([5, 2, "y", "failed", "synth: broke", "", "", 0.2, "Yosys 0.70", "2026-11-30"])
    table = tmp_path / "old_table.csv.gz"
    table.write_bytes(gzip.compress(buf.getvalue().encode()))
    prior = load_prior([str(table)], space)
    assert prior.lines == [f"prior {table}: 5 of 7 points used (1 failed); 2 points outside this space (a=8: 2)"]
    used = [e.params for e in prior.evaluations]
    assert {"a": 7, "b": 2, "c": "z"} in used and all(isinstance(p["a"], int) for p in used)
    assert prior.evaluations[0].qor["f1"] == qor(rows[0])["f1"]
    # Same parameters: every used point (the failed one too) is never proposed.
    assert prior.excluded == {space.canonical(p) for p in used}


def test_bad_prior_entries_are_one_clear_error(tmp_path):
    space = load_space(write_space(tmp_path, TOY))
    with pytest.raises(DseError, match=r"prior .*nowhere: no such file or folder"):
        load_prior([str(tmp_path / "nowhere")], space)
    (tmp_path / "empty_folder").mkdir()
    with pytest.raises(DseError, match=r"empty_folder: no dse.sqlite in this folder"):
        load_prior([str(tmp_path / "empty_folder")], space)
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database")
    with pytest.raises(DseError, match=r"junk.sqlite is neither an edalize-dse store"):
        load_prior([str(junk)], space)
    # Every point of this prior lies outside the space: nothing to learn from.
    folder, _ = write_old_store(tmp_path)
    narrow = load_space(
        write_space(
            tmp_path,
            TOY.replace(
                "a: {layer: hardware, type: int, low: 0, high: 7, default: 0}",
                "a: {layer: hardware, type: int, low: 20, high: 30, default: 20}",
            ),
            "narrow.yml",
        )
    )
    with pytest.raises(DseError, match=r"0 of 40 points used.*no successful point of it lies in this space"):
        load_prior([str(folder)], narrow)


# A tiny space of real synthesis runs: one 1x1 array, four clocks x booth.
SYNTH_SPACE = (
    """
name: prior_synth
parameters:
"""
    + ONE_SMALL_ARRAY
    + """  clock_period_ps: {layer: eda, type: choice, choices: [1000, 800, 600, 400], default: 1000}
  booth: {layer: eda, type: bool, default: false}
"""
)


def stored(folder):
    store = Store(folder / STORE_NAME)
    try:
        return store.evaluations()
    finally:
        store.close()


def test_run_with_a_finished_run_as_prior(tmp_path, platform_dir, tools):
    space_file = write_space(tmp_path, SYNTH_SPACE)
    first = tmp_path / "first"
    explore(RunConfig(space=str(space_file), output=str(first), budget=4, strategy="sobol"), progress=False)
    prior_keys = {load_space(space_file).canonical(e.params) for e in stored(first)}
    assert len(prior_keys) == 4

    # A bad prior stops the run before any tool starts or the output folder is made.
    missing = tmp_path / "missing_run"
    with pytest.raises(DseError, match="missing_run: no such file or folder"):
        explore(RunConfig(space=str(space_file), output=str(tmp_path / "never"), prior=[str(missing)]), progress=False)
    assert not (tmp_path / "never").exists()

    second = tmp_path / "second"
    options = dict(init_points=4, **FAST["diffusion"])
    config = RunConfig(
        space=str(space_file),
        output=str(second),
        budget=2,
        strategy="diffusion",
        strategy_options=options,
        prior=[str(first)],
    )
    explore(config, progress=False)
    own = stored(second)
    # Exactly the budget of new evaluations, none of them a prior point.
    assert len(own) == 2
    assert not prior_keys & {load_space(space_file).canonical(e.params) for e in own}
    log = (second / "controller.log").read_text()
    assert f"prior {first}: 4 of 4 points used" in log
    # The prior covers the initial design (init_points 4): the first round (the whole budget
    # of 2, rounds of 4) is already a model round, trained on the prior's four results.
    assert "diffusion round 1: 2 point(s) from 4 results" in log

    # Resumed with the same prior and a larger budget: one more point, still none of the prior's.
    config.budget = 3
    explore(config, progress=False)
    own = stored(second)
    assert len(own) == 3
    assert not prior_keys & {load_space(space_file).canonical(e.params) for e in own}


def test_command_line_takes_repeated_priors(tmp_path, platform_dir):
    import subprocess
    import sys

    space = write_space(tmp_path, SYNTH_SPACE)
    table = tmp_path / "earlier.csv"
    table.write_text(
        "clock_period_ps,booth,status,error,area_um2,power_mw,throughput_gops\n800,True,ok,,4600.5,23.1,6.9\n"
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "edalize_dse",
            "run",
            "--space",
            str(space),
            "--output",
            str(tmp_path / "out"),
            "--prior",
            str(table),
            "--prior",
            str(tmp_path / "gone"),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # Both entries are read, in order: the first is good, the second stops the run before any tool.
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip().splitlines() == [f"edalize-dse: error: prior {tmp_path / 'gone'}: no such file or folder"]
    assert not (tmp_path / "out" / STORE_NAME).exists()


def test_qnehvi_takes_a_large_prior_by_its_best_points(tmp_path):
    from edalize_dse.pareto import front as pareto_front

    space = load_space(write_space(tmp_path, TOY))
    prior = toy_prior(space, 60)
    strategy = make_strategy("qnehvi", space, 0, max_prior=12)
    strategy.warm_start(prior)
    data = strategy.prior_data()
    assert len(data) == 12
    # The prior's whole front (9 of its 60 points) is in the GP's data.
    front = {e.point_id for e in pareto_front(prior, space.objectives)}
    assert len(front) == 9 and front <= {e.point_id for e in data}
    # Every prior point is still excluded.
    assert len(strategy.prior_keys) == 60
