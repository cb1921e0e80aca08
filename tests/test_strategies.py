"""Every strategy behind the ask/tell interface, on the default space with an
analytic QoR (a stand-in for the flow, so many rounds run in seconds), and the
DiffuSE controller's parts on problems whose answer is known."""

import numpy as np
import pytest
import torch

from edalize_dse.errors import DseError
from edalize_dse.pareto import front
from edalize_dse.space import load_space
from edalize_dse.store import Evaluation
from edalize_dse.strategies import available, make_strategy, parse_options
from edalize_dse.strategies.diffusion import denoiser as dn
from edalize_dse.strategies.diffusion.screening import front_reference, select_batch, select_batch_sampled, shortfall
from edalize_dse.strategies.diffusion.strategy import STALL_LOCAL_CAP, front_progress
from edalize_dse.strategies.diffusion.targets import STEP_MAX, STEP_MIN, adapt_step, select_targets

from conftest import SPACE, write_space

# The machine is shared with synthesis runs: one thread keeps the small models fast.
torch.set_num_threads(1)

# Small models so each strategy's model rounds take well under a second here.
FAST = {
    "diffusion": {"init_points": 6, "train_steps": 150, "finetune_steps": 30, "candidates": 64},
    "qnehvi": {"init_points": 6, "max_candidates": 64, "mc_samples": 16},
    "nsga2": {"population_size": 6},
    "motpe": {"startup_trials": 6},
    "dosa": {"init_points": 6, "max_hardware": 4},
}


def analytic_qor(p):
    pes = p["meshRows"] * p["tileRows"] * p["meshColumns"] * p["tileColumns"]
    fmax = 1e6 / (
        p["clock_period_ps"] * (1.2 if p["ASAP7_USE_VT"] == "RVT" else 1.0) + (80 if p["abc_script"] == "area" else 0)
    )
    area = pes * (3 * p["inputType"] + p["accType"]) * (0.9 if p["abc_script"] == "area" else 1.0)
    power = area * fmax / 1000 * (1.5 if p["ASAP7_USE_VT"] == "SLVT" else 1.0)
    return {"area_um2": area, "power_mw": power, "throughput_gops": 2 * pes * fmax / 1000}


def evaluate(space, points, fail_every=0, start=0):
    evs = []
    for i, p in enumerate(points, start):
        failed = fail_every and i % fail_every == fail_every - 1
        evs.append(Evaluation(space.point_id(p), p, "failed" if failed else "ok", {} if failed else analytic_qor(p)))
    return evs


def drive(strategy, rounds, batch=3, fail_every=0):
    """Ask/tell ``rounds`` batches; returns every batch of proposals."""
    batches, told = [], 0
    for _ in range(rounds):
        points = strategy.ask(batch)
        batches.append(points)
        strategy.tell(evaluate(strategy.space, points, fail_every, told))
        told += len(points)
    return batches


@pytest.fixture(scope="module")
def space():
    return load_space(SPACE)


def test_all_strategies_are_registered():
    assert set(available()) == {"random", "sobol", "nsga2", "motpe", "qnehvi", "diffusion", "dosa", "grid"}


# dosa's and qnehvi's rounds take tens of seconds each: `make test` runs them, `make check` the rest.
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.slow) if n in ("dosa", "qnehvi") else n
        for n in sorted(FAST) + ["random", "sobol"]
    ],
)
def test_strategy_is_valid_new_bounded_and_deterministic(space, name):
    options = FAST.get(name, {})
    first = drive(make_strategy(name, space, seed=5, **options), rounds=5, fail_every=4)
    again = drive(make_strategy(name, space, seed=5, **options), rounds=5, fail_every=4)
    assert first == again  # same seed, same told history -> same proposals
    points = [p for batch in first for p in batch]
    assert all(len(batch) == 3 for batch in first)
    assert all(space.is_valid(p) for p in points)
    assert len({space.canonical(p) for p in points}) == len(points)  # never re-proposed, failed ones included
    other = drive(make_strategy(name, space, seed=6, **options), rounds=5, fail_every=4)
    assert other != first


@pytest.mark.parametrize("name", ["diffusion", pytest.param("qnehvi", marks=pytest.mark.slow)])
def test_model_strategies_leave_the_initial_design_and_time_their_rounds(space, name):
    strategy = make_strategy(name, space, seed=1, **FAST[name])
    drive(strategy, rounds=4)
    assert strategy.model_rounds == 2  # 6 Sobol points, then two model batches
    assert all(t["total_s"] > 0 for t in strategy.round_times)


def test_diffusion_improves_on_its_initial_design(space):
    """On the analytic QoR the model rounds must add points to the front (the
    initial Sobol design alone leaves it incomplete)."""
    strategy = make_strategy("diffusion", space, seed=3, **FAST["diffusion"])
    batches = drive(strategy, rounds=6, batch=3)
    evs = evaluate(space, [p for b in batches for p in b])
    ids_on_front = {e.point_id for e in front(evs, space.objectives)}
    model_ids = {space.point_id(p) for b in batches[2:] for p in b}
    assert ids_on_front & model_ids


def test_resumed_sobol_skips_the_points_it_already_drew(space):
    first = make_strategy("sobol", space, seed=2)
    done = first.ask(4)
    resumed = make_strategy("sobol", space, seed=2)
    resumed.tell(evaluate(space, done))
    fresh = make_strategy("sobol", space, seed=2)
    fresh.ask(4)
    assert resumed.ask(3) == fresh.ask(3)


def test_unknown_or_bad_options_are_one_clear_error(space):
    with pytest.raises(DseError, match="strategy 'nsga2' has no option.*popsize.*population_size"):
        make_strategy("nsga2", space, seed=0, popsize=10)
    with pytest.raises(DseError, match="strategy 'diffusion': bad option value.*explore"):
        make_strategy("diffusion", space, seed=0, explore=1.5)
    with pytest.raises(DseError, match="unknown strategy 'bayes'.*diffusion"):
        make_strategy("bayes", space, seed=0)


def test_conditional_denoiser_with_guidance_samples_the_asked_cluster():
    """Two clusters of points, each labelled by its QoR: conditioning on one label
    must draw samples from that cluster."""
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    centres = torch.tensor([[0.6, -0.6, 0.6], [-0.6, 0.6, -0.6]])
    labels = torch.tensor([[-1.0], [1.0]])
    x0 = centres.repeat(40, 1) + 0.05 * torch.randn(80, 3, generator=gen)
    cond = labels.repeat(40, 1)
    model = dn.Denoiser(3, 1, hidden=64)
    dn.train(model, x0, cond, 800, gen, torch.optim.Adam(model.parameters(), lr=3e-3))
    for label, centre in zip(labels, centres):
        samples = dn.ddim_sample(model, label.repeat(20, 1), 3, gen, steps=20, cfg_weight=1.0)
        assert ((samples - centre).norm(dim=1) < 0.4).float().mean() >= 0.9


def test_targets_favour_sparse_front_regions_and_lie_toward_the_ideal_point():
    # three crowded points near (0.5, 0.5) and two isolated ends
    front_pts = np.array([[0.0, 1.0], [0.49, 0.51], [0.5, 0.5], [0.51, 0.49], [1.0, 0.0]])
    rng = np.random.default_rng(0)
    targets = select_targets(front_pts, 400, step=0.2, rng=rng)
    anchors = np.round((targets - 0.2 * (0 - 0.1)) / 0.8, 6)  # invert t = p - s (p - 0 + margin)
    ends = np.mean([any(np.allclose(a, e) for e in front_pts[[0, 4]]) for a in anchors])
    assert ends > 0.6  # 2 of 5 points, but most of the hypervolume contribution
    assert np.all(targets.sum(axis=1) < 1.0)  # every target beyond the front (front sums to 1)
    assert adapt_step(0.5, True) == STEP_MAX and adapt_step(0.06, False) == STEP_MIN
    assert adapt_step(0.2, True) > 0.2 > adapt_step(0.2, False)


def test_screen_prefers_hypervolume_gain_and_spreads_the_batch():
    front_pts = np.array([[0.0, 1.0], [1.0, 0.0]])
    mean = np.array([[0.5, 0.5], [0.51, 0.5], [0.9, 0.9], [0.2, 0.8], [1.05, 1.05]])
    spread = np.zeros_like(mean)
    picks = select_batch(front_pts, mean, spread, n=2, kappa=1.0)
    assert picks[0] == 0 and picks[1] == 3  # not the near-copy of the first pick
    # an uncertain candidate is optimistic enough to win
    spread[2] = 0.6
    assert select_batch(front_pts, mean, spread, n=1, kappa=1.0) == [2]
    assert shortfall(np.array([[0.5, 1.2]]), front_pts)[0] == pytest.approx(0.2)
    # exploit: the first pick scores the mean, so the certain interior point wins over the
    # uncertain one; the second is optimistic again and takes the uncertain one
    assert select_batch(front_pts, mean, spread, n=2, kappa=1.0, exploit=1) == [0, 2]


def test_front_reference_counts_only_gains_inside_the_fronts_box():
    # The seen range is 0..1, but the front only spans 0..0.4: a candidate far out in the
    # first objective gains more hypervolume (0.02) than one inside the front's box (0.01)
    # against the seen reference (1.1), and none against the front's.
    front_pts = np.array([[0.0, 0.4], [0.4, 0.1]])
    np.testing.assert_allclose(front_reference(front_pts), [0.44, 0.43])
    mean = np.array([[0.9, 0.0], [0.3, 0.3]])
    spread = np.zeros_like(mean)
    assert select_batch(front_pts, mean, spread, n=1, kappa=0.0) == [0]
    assert select_batch(front_pts, mean, spread, n=1, kappa=0.0, reference=front_reference(front_pts)) == [1]
    # mixed: the first pick against the front's reference, the second against the seen range
    assert select_batch(
        front_pts, mean, spread, n=2, kappa=0.0, reference=front_reference(front_pts), reference_picks=1
    ) == [1, 0]


def test_sampled_gain_averages_over_members_and_keeps_each_members_front():
    front_pts = np.array([[0.5, 0.5]])
    # Candidate 0: member 0 sees it at the ideal point, member 1 at 0.2, the other three
    # dominated (mean 0.64: no gain by the mean). Candidate 1: every member sees 0.4.
    samples = np.array([[[0.0, 0.0], [0.4, 0.4]], [[0.2, 0.2], [0.4, 0.4]]] + [[[1.0, 1.0], [0.4, 0.4]]] * 3)
    # Against 1.1, averaged over five: candidate 0 gains (0.85 + 0.45) / 5 = 0.26, candidate 1 0.13.
    assert select_batch_sampled(front_pts, samples, n=1) == [0]
    assert select_batch(front_pts, samples.mean(axis=0), np.zeros((2, 2)), n=1, kappa=0.0) == [1]
    # Member 0 has candidate 0 infeasible: its gain falls to 0.09 and candidate 1 wins.
    feasible = np.ones((5, 2), dtype=bool)
    feasible[0, 0] = False
    assert select_batch_sampled(front_pts, samples, n=1, feasible=feasible) == [1]
    # Candidate 2 is a near-copy of candidate 1 (0.129 alone): once candidate 1 is in every
    # member's front it gains nothing, and the second pick is candidate 0.
    three = np.concatenate([samples, samples[:, 1:2] + 0.001], axis=1)
    assert select_batch_sampled(front_pts, three, n=2, feasible=np.c_[feasible, np.ones(5, bool)]) == [1, 0]


def _predictor_error(linear: bool, x, y, x_test, y_test, epochs=300, weights=None):
    from edalize_dse.strategies.diffusion.predictor import PredictorEnsemble

    torch.manual_seed(0)
    ensemble = PredictorEnsemble(x.shape[1], y.shape[1], linear=linear)
    ensemble.fit(x, y, epochs, torch.Generator().manual_seed(0), weights=weights)
    mean, spread = ensemble.predict(x_test)
    assert torch.allclose(mean, ensemble.mean(x_test), atol=1e-5)  # guidance sees the same mean
    return float(((mean - y_test) ** 2).mean())


def test_predictor_linear_part_learns_an_additive_qor_from_few_points_and_the_mlps_the_rest():
    gen = torch.Generator().manual_seed(1)
    w = torch.randn(10, 2, generator=gen)

    def additive(x):
        return x @ w + 0.5

    x, x_test = (torch.rand(n, 10, generator=gen) * 2 - 1 for n in (16, 400))
    # 16 points in 10 dimensions: the ridge part gets an additive QoR nearly right where
    # the MLPs alone do not.
    with_linear = _predictor_error(True, x, additive(x), x_test, additive(x_test))
    mlp_only = _predictor_error(False, x, additive(x), x_test, additive(x_test))
    assert with_linear < 0.25 * mlp_only

    # Not additive (DTLZ's cosines): the MLPs model what the linear part leaves.
    def curved(x):
        return torch.stack([x[:, 0] ** 2, torch.cos(2.0 * x[:, 1])], dim=1)

    x = torch.rand(300, 10, generator=gen) * 2 - 1
    from edalize_dse.strategies.diffusion.predictor import PredictorEnsemble

    ridge_alone = PredictorEnsemble(10, 2)
    ridge_alone.fit_linear(x, curved(x), None)
    ridge_error = float(((ridge_alone.linear_part(x_test) - curved(x_test)) ** 2).mean())
    curved_error = _predictor_error(True, x, curved(x), x_test, curved(x_test))
    assert curved_error < 0.3 * ridge_error

    # A row's weight counts in the ridge part as in the bootstrap: the same points told
    # twice with opposite values, one copy weighted 0.05, are predicted near the other.
    x = torch.rand(20, 10, generator=gen) * 2 - 1
    twice, values = torch.cat([x, x]), torch.cat([additive(x), -additive(x)])
    weights = torch.cat([torch.full((20,), 0.05), torch.ones(20)])
    assert _predictor_error(True, twice, values, x, -additive(x), weights=weights) < 0.1 * float(
        (additive(x) ** 2).mean()
    )


CURVY = """
name: curvy
parameters:
  size: {layer: hardware, type: pow2, low: 1, high: 64, default: 8}
  flag: {layer: eda, type: bool, default: false}
  mode: {layer: eda, type: choice, choices: [a, b, c], default: a}
  two: {layer: eda, type: int, low: 0, high: 1, default: 0}
  effort: {layer: eda, type: int, low: 0, high: 9, default: 0}
objectives:
  - {name: f1, goal: min}
"""


def test_predictor_squares_of_the_ordinal_columns_fit_a_bowl_from_few_points(tmp_path):
    from edalize_dse.encoding import SpaceEncoder
    from edalize_dse.strategies.diffusion.predictor import PredictorEnsemble

    # Squares only where they are not constant: size and effort, not the bool, the one-hot
    # columns of the choice, nor a two-level int.
    encoder = SpaceEncoder(load_space(write_space(tmp_path, CURVY)))
    assert encoder.dim == 7 and encoder.curved_columns() == [0, 6]
    gen = torch.Generator().manual_seed(3)
    x, x_test = (torch.rand(n, 7, generator=gen) * 2 - 1 for n in (24, 400))

    def bowl(x):  # best at an inner value of column 0, plus a slope along column 6
        return (x[:, :1] - 0.2) ** 2 + 0.5 * x[:, 6:7]

    errors = {}
    for curved in ([], [0, 6]):
        ridge = PredictorEnsemble(7, 1, curved=curved)
        ridge.fit_linear(x, bowl(x), None)
        errors[len(curved)] = float(((ridge.linear_part(x_test) - bowl(x_test)) ** 2).mean())
        spread = ridge.predict(x_test)[1]
        assert spread.shape == (400, 1) and bool((spread > 0).all())
    assert errors[2] < 0.2 * errors[0]


WIDE = (
    """
name: wide
parameters:
  fixed: {layer: hardware, type: choice, choices: [16], default: 16}
  same: {layer: hardware, type: int, low: 3, high: 3, default: 3}
  size: {layer: hardware, type: pow2, low: 1, high: 64, default: 8}
"""
    + "".join(f"  knob{i}: {{layer: eda, type: choice, choices: [a, b, c, d, e], default: a}}\n" for i in range(8))
    + """
objectives:
  - {name: f1, goal: min}
"""
)


def test_diffusion_initial_design_grows_with_the_width_of_the_encoding(tmp_path):
    # The default (init_points 0): a third of the coordinates that can vary, at least 8. The
    # test space's narrow one has 8 coordinates (3 parameters of it, the CURVY space: 7).
    narrow = make_strategy("diffusion", load_space(write_space(tmp_path, CURVY)), 0)
    assert narrow.init_points == 8
    # 1 + 8 * 5 coordinates vary; the one-value choice and int are the same in every point.
    wide_space = load_space(write_space(tmp_path, WIDE))
    wide = make_strategy("diffusion", wide_space, 0)
    assert wide.encoder.dim == 43 and wide.encoder.varying_width() == 41 and wide.init_points == 14
    assert make_strategy("diffusion", wide_space, 0, init_points=5).init_points == 5  # set: as set
    # The initial design is that long: Sobol points until 14 are asked, then a model round.
    assert len(wide.ask(10)) == 10 and wide.model_rounds == 0
    assert len(wide.ask(4)) == 4 and wide.model_rounds == 0
    with pytest.raises(DseError, match="'init_points' must be an integer from 0"):
        make_strategy("diffusion", wide_space, 0, init_points=-1)


CLOCKED = """
name: clocked
parameters:
  clock_period_ps: {layer: eda, type: choice, choices: [800, 1000, 1250, 1600], default: 1000}
  offset: {layer: eda, type: choice, choices: [-2, 0, 2], default: 0}
  vt: {layer: eda, type: choice, choices: [RVT, LVT, SLVT], default: RVT}
  width: {layer: hardware, type: choice, choices: [4, 8], default: 8}
  size: {layer: hardware, type: pow2, low: 1, high: 8, default: 2}
objectives:
  - {name: slack, goal: max}
"""


def test_predictor_trend_carries_a_slope_over_a_numeric_choices_seen_levels_to_unseen_ones(tmp_path):
    from edalize_dse.encoding import SpaceEncoder
    from edalize_dse.strategies.diffusion.predictor import PredictorEnsemble

    # Trends only for numeric choices of more than two levels: not the string choice nor
    # the two-level width; a choice with a value <= 0 has no log position.
    space = load_space(write_space(tmp_path, CLOCKED))
    encoder = SpaceEncoder(space)
    trends = encoder.trend_columns()
    assert [(start, width) for start, width, *_ in trends] == [(0, 4), (4, 3)]
    assert trends[0][2] == [-1.0, -0.5, 0.125, 1.0] and trends[1][3] is None
    assert trends[0][3][0] == -1.0 and trends[0][3][-1] == 1.0

    # A timing slack: the period minus the logic's delay (which grows with the size).
    # Trained at 800 and 1000 ps only (a prior from another clock set, table 2's transfer
    # split), the one-hot columns of 1250 and 1600 ps were never set; the trend reads the
    # slack there off the slope between the two clocks seen.
    rng = np.random.default_rng(4)
    points = [
        {
            "clock_period_ps": int(rng.choice(c)),
            "offset": 0,
            "vt": str(rng.choice(["RVT", "LVT", "SLVT"])),
            "width": 8,
            "size": int(rng.choice([1, 2, 4, 8])),
        }
        for c in ([800, 1000],) * 60 + ([1250, 1600],) * 60
    ]
    slack = torch.tensor([[p["clock_period_ps"] / 400 - p["size"] / 4] for p in points])
    x = torch.tensor(encoder.encode_many(points), dtype=torch.float32)
    errors = {}
    for kind, columns in (("flat", None), ("trend", trends)):
        ridge = PredictorEnsemble(encoder.dim, 1, trends=columns)
        ridge.fit_linear(x[:60], slack[:60], None)
        errors[kind] = float(((ridge.linear_part(x[60:]) - slack[60:]) ** 2).mean())
        # The features are linear in the encoding: the guidance's gradient goes through them.
        probe = x[60:61].clone().requires_grad_(True)
        ridge.mean(probe).sum().backward()
        assert probe.grad is not None and bool(torch.isfinite(probe.grad).all())
    # (Not exact: the slope seen between 800 and 1000 ps is shared between the value's and
    # the log value's columns, and the log's bends below the straight line beyond them.)
    assert errors["trend"] < 0.15 * errors["flat"]


def test_predictor_spread_grows_along_directions_the_data_has_not_pinned_down():
    from edalize_dse.strategies.diffusion.predictor import PredictorEnsemble

    gen = torch.Generator().manual_seed(2)
    # 100 points where column 9 (a one-hot column no point has used) is always 0.
    x = torch.rand(100, 10, generator=gen) * 2 - 1
    x[:, 9] = 0.0
    y = x[:, :3].sum(dim=1, keepdim=True) + 0.05 * torch.randn(100, 1, generator=gen)
    probe = torch.rand(50, 10, generator=gen) * 2 - 1
    probe[:, 9] = 0.0
    unused = probe.clone()
    unused[:, 9] = 1.0
    spreads, ensembles = {}, {}
    for kind in ("linear+members", "members"):
        torch.manual_seed(0)
        ensembles[kind] = PredictorEnsemble(10, 1, spread=kind)
        ensembles[kind].fit(x, y, 100, torch.Generator().manual_seed(0))
        spreads[kind] = [ensembles[kind].predict(p)[1] for p in (probe, unused)]
    # The MLPs' disagreement alone (the ridge part fits these points) does not see the
    # unused column; the ridge part's posterior spread does, up to its cap: the ridge
    # fit's leave-one-out error (s2), what a prediction misses by on an unseen point.
    members, posterior = ([float(v.mean()) for v in spreads[k]] for k in ("members", "linear+members"))
    assert members[1] < 1.2 * members[0]
    assert posterior[1] > 1.5 * posterior[0]
    capped = (spreads["members"][1] ** 2 + ensembles["linear+members"].noise.float()).sqrt()
    assert torch.allclose(spreads["linear+members"][1], capped, rtol=1e-4)


def test_model_scale_fits_a_product_on_its_log_and_maps_back_to_the_screens_form():
    from edalize_dse.qor import QorScaler
    from edalize_dse.space import Objective
    from edalize_dse.strategies.diffusion.model_scale import ModelScale
    from edalize_dse.strategies.diffusion.predictor import PredictorEnsemble

    gen = np.random.default_rng(3)
    # Throughput-like (maximised) and power-like (minimised) products of three effects, each
    # spanning well under a decade, so the screen's form keeps them linear; and a sum
    # crossing zero, which no log can take.
    x = gen.uniform(-1.0, 1.0, (400, 6))
    effects = np.exp(0.35 * x[:, :3])
    raw = np.column_stack([effects.prod(axis=1), effects[:, 0] * effects[:, 1] ** 2, x[:, 3] + x[:, 4]])
    objectives = [Objective("thr", "max"), Objective("pow", "min"), Objective("sum", "min")]
    train = slice(0, 16)
    screen = QorScaler(objectives).fit(raw[train])
    assert not screen.log.any()
    y = screen.transform(raw)
    scale = ModelScale(screen, raw[train])
    assert list(scale.use_log) == [True, True, False]
    assert np.allclose(ModelScale(screen, raw[train], log=False).targets(y[train]), y[train])

    # The targets map back to the data exactly, slacks after the objectives pass through.
    slack = np.ones((16, 1))
    targets = torch.tensor(np.hstack([scale.targets(y[train]), slack]))
    back = scale.to_screen(targets).numpy()
    assert np.allclose(back[:, :3], y[train]) and np.allclose(back[:, 3:], slack)
    assert not np.allclose(targets[:, :2].numpy(), y[train, :2])
    # A spread is scaled by the map's slope (a finite difference of the mean's map).
    z, spread = targets[:5], torch.full((5, 4), 0.01, dtype=torch.float64)
    step = scale.to_screen(z + 1e-6) - scale.to_screen(z)
    assert torch.allclose(scale.spread_to_screen(z, spread)[:, :3], 0.01 * step[:, :3] / 1e-6, rtol=1e-3)
    assert torch.equal(scale.spread_to_screen(z, spread)[:, 3], spread[:, 3])

    # From 16 points the ridge part predicts the products far better on their log, mapped
    # back, than on the screen's linear form; the sum alike.
    def held_out_error(chosen):
        ridge = PredictorEnsemble(6, 3)
        targets = torch.tensor(chosen.targets(y[train]), dtype=torch.float32)
        ridge.fit_linear(torch.tensor(x[train], dtype=torch.float32), targets, None)
        predicted = ridge.linear_part(torch.tensor(x[16:], dtype=torch.float32)).detach()
        return np.abs(chosen.to_screen(predicted).numpy() - y[16:]).mean(axis=0)

    on_log, on_screen = held_out_error(scale), held_out_error(ModelScale(screen, raw[train], log=False))
    assert np.all(on_log[:2] < 0.5 * on_screen[:2])
    assert np.isclose(on_log[2], on_screen[2])


def test_strategy_options_parse_from_text():
    assert parse_options("init_points=16, explore=0.5,kappa=2") == {"init_points": 16, "explore": 0.5, "kappa": 2}
    assert parse_options(["population_size=8"]) == {"population_size": 8}
    with pytest.raises(DseError, match="'init_points' is not KEY=VALUE"):
        parse_options("init_points")


def test_target_rule_ablations_draw_plain_or_unpushed_anchors():
    front_pts = np.array([[0.0, 1.0], [0.49, 0.51], [0.5, 0.5], [0.51, 0.49], [1.0, 0.0]])
    rng = np.random.default_rng(0)
    # front: the anchors themselves, each one of the front's points
    unpushed = select_targets(front_pts, 200, step=0.2, rng=rng, rule="front")
    assert all(any(np.allclose(t, p) for p in front_pts) for t in unpushed)
    # uniform: the ends get their plain share (2 of 5), not the hypervolume contribution's
    pushed = select_targets(front_pts, 2000, step=0.2, rng=rng, rule="uniform")
    anchors = np.round((pushed - 0.2 * (0 - 0.1)) / 0.8, 6)
    ends = np.mean([any(np.allclose(a, e) for e in front_pts[[0, 4]]) for a in anchors])
    assert 0.35 < ends < 0.45


@pytest.mark.slow  # a model round per switch
def test_diffusion_ablation_switches_run_and_are_checked(space):
    with pytest.raises(DseError, match="target_rule"):
        make_strategy("diffusion", space, seed=0, target_rule="nearest")
    with pytest.raises(DseError, match="screen"):
        make_strategy("diffusion", space, seed=0, screen="mean")
    with pytest.raises(DseError, match="reference"):
        make_strategy("diffusion", space, seed=0, reference="nadir")
    with pytest.raises(DseError, match="gain"):
        make_strategy("diffusion", space, seed=0, gain="mean")
    with pytest.raises(DseError, match="repeats"):
        make_strategy("diffusion", space, seed=0, repeats="drop")
    with pytest.raises(DseError, match="stall_test"):
        make_strategy("diffusion", space, seed=0, stall_test="time")
    with pytest.raises(DseError, match="stall_local"):
        make_strategy("diffusion", space, seed=0, stall_local=-0.1)
    with pytest.raises(DseError, match="model_scale"):
        make_strategy("diffusion", space, seed=0, model_scale="linear")
    with pytest.raises(DseError, match="explore, local, recombine and density"):
        make_strategy("diffusion", space, seed=0, explore=0.5, local=0.3, recombine=0.3)
    for options in (
        {"screen": "random", "target_rule": "front"},
        {"local": 0.3, "recombine": 0.3, "density": 0.0},
        {"density": 0.5, "reference": "mixed", "exploit": 0.5},
        {"gain": "members"},
        {"repeats": "density"},
        {"repeats": "copies"},
        {"repeats": "neighbour"},
        {"stall_test": "front", "stall_local": 0.5},
        {"model_scale": "screen"},
    ):
        strategy = make_strategy("diffusion", space, seed=0, **{**FAST["diffusion"], **options})
        batches = drive(strategy, rounds=4, batch=3)
        assert strategy.model_rounds >= 1
        keys = [space.canonical(p) for b in batches for p in b]
        assert len(keys) == len(set(keys)) and all(space.is_valid(p) for b in batches for p in b)


def test_front_progress_is_the_share_of_the_fronts_hypervolume_a_batch_added():
    y = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.6, 0.6], [0.2, 0.2]])
    anchors = np.arange(5)
    # A batch of a dominated point and a copy-like point adds nothing.
    assert front_progress(y[:4], anchors[:4], np.array([False, False, False, True])) == 0.0
    # A batch that joins a dense front without moving it: a tie with a front point.
    tie = np.vstack([y[:3], y[2:3]])
    assert front_progress(tie, np.arange(4), np.array([False, False, False, True])) == 0.0
    # A batch whose point dominates the middle of the front adds a real share.
    gained = front_progress(y, anchors, np.array([False, False, False, False, True]))
    assert 0.2 < gained < 1.0
    # Only the anchors (the feasible rows) count: a gain from an infeasible row is none.
    assert front_progress(y, anchors[:4], np.array([False, False, False, False, True])) == 0.0


def test_a_stall_moves_candidates_from_the_model_and_the_density_to_local_moves(space):
    strategy = make_strategy("diffusion", space, seed=0)
    calm = strategy.candidate_shares()
    assert calm["local"] == 0.0 and abs(sum(calm.values()) - 1.0) < 1e-12
    strategy.stalled = 2
    stalled = strategy.candidate_shares()
    assert stalled["local"] == pytest.approx(0.25) and abs(sum(stalled.values()) - 1.0) < 1e-12
    # Taken from the model and the density in proportion; uniform draws keep theirs.
    assert stalled["model"] / stalled["density"] == pytest.approx(calm["model"] / calm["density"])
    assert stalled["explore"] == calm["explore"]
    strategy.stalled = 50
    assert strategy.candidate_shares()["local"] == STALL_LOCAL_CAP
    off = make_strategy("diffusion", space, seed=0, stall_local=0.0)
    off.stalled = 5
    assert off.candidate_shares() == calm


@pytest.mark.slow  # model rounds
def test_a_batch_that_joins_the_front_without_moving_it_is_a_stall(space):
    """After the first points span the front, each new point lands on it a hair beside its
    middle point: on the front, so the old rule (a front point added) never fires, while the
    front's hypervolume does not move."""
    corners = [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)]

    def beside_the_front(points, told):
        qor = [corners[i % 3] if i < 6 else (0.5 + 1e-5 * i, 0.5 - 1e-5 * i) for i in range(told, told + len(points))]
        return [
            Evaluation(space.point_id(p), p, "ok", {"area_um2": a, "power_mw": b, "throughput_gops": 1.0})
            for p, (a, b) in zip(points, qor)
        ]

    stalls = {}
    for test in ("hv", "front"):
        strategy = make_strategy("diffusion", space, seed=0, stall_test=test, **FAST["diffusion"])
        told = 0
        for _ in range(6):
            points = strategy.ask(3)
            strategy.tell(beside_the_front(points, told))
            told += len(points)
        stalls[test] = strategy.stalled
    assert stalls["front"] == 0
    assert stalls["hv"] >= 2


SMALL_SPACE = """
name: small
parameters:
  a: {layer: hardware, type: int, low: 0, high: 5, default: 0}
  b: {layer: eda, type: int, low: 0, high: 5, default: 0}
objectives:
  - {name: f1, goal: min}
  - {name: f2, goal: min}
"""


def test_screen_all_lets_the_screen_see_every_legal_point_of_a_small_space(tmp_path):
    small = load_space(write_space(tmp_path, SMALL_SPACE))
    told = [{"a": a, "b": b} for a, b in [(0, 0), (5, 5), (0, 5), (5, 0), (2, 3)]]

    def ask_after_init(**options):
        # One sampled candidate per round: without screen_all the screen has at most that one.
        strategy = make_strategy(
            "diffusion",
            small,
            seed=0,
            init_points=5,
            candidates=1,
            targets=1,
            explore=0.0,
            train_steps=20,
            finetune_steps=5,
            **options,
        )
        strategy.tell(
            [Evaluation(small.point_id(p), p, "ok", {"f1": p["a"] + 0.1 * p["b"], "f2": 5 - p["a"]}) for p in told]
        )
        return strategy.ask(3)

    assert len(ask_after_init()) == 1
    picked = ask_after_init(screen_all=100)
    assert len(picked) == 3 and not any(p in told for p in picked)
