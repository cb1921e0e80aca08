import numpy as np

from edalize_dse.encoding import SpaceEncoder
from edalize_dse.qor import QorScaler, usable
from edalize_dse.space import Objective, load_space
from edalize_dse.store import Evaluation

from conftest import SPACE, write_space

MIXED = """
parameters:
  n:    {layer: hardware, type: int, low: 0, high: 10, step: 2, default: 4}
  w:    {layer: hardware, type: pow2, low: 1, high: 16, default: 4}
  f:    {layer: eda, type: float, low: 1.0, high: 100.0, log: true, default: 10.0}
  c:    {layer: eda, type: choice, choices: [a, b, c], default: b}
  flag: {layer: eda, type: bool, default: false}
constraints:
  - {name: small, expr: "n * w <= 32"}
"""


def test_encoding_layout_round_trip_and_range(tmp_path):
    space = load_space(write_space(tmp_path, MIXED))
    enc = SpaceEncoder(space)
    assert enc.dim == 1 + 1 + 1 + 3 + 1  # choice is one-hot
    point = {"n": 6, "w": 4, "f": 10.0, "c": "c", "flag": True}
    x = enc.encode(point)
    # n: index 3 of 0..5 -> 0.2; w: exponent 2 of 0..4 -> 0.0; f: log-midpoint -> 0.0; c one-hot; flag +1
    np.testing.assert_allclose(x, [0.2, 0.0, 0.0, -1, -1, 1, 1.0], atol=1e-12)
    decoded = enc.decode(x)
    assert decoded == dict(point, f=decoded["f"]) and abs(decoded["f"] - 10.0) < 1e-9
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = space.sample(rng)
        xp = enc.encode(p)
        assert xp.min() >= -1 and xp.max() <= 1
        decoded = enc.decode(xp + rng.normal(0, 0.02, enc.dim))  # small noise snaps back
        assert {k: v for k, v in decoded.items() if k != "f"} == {k: v for k, v in p.items() if k != "f"}


def test_decode_snaps_to_nearest_legal_value(tmp_path):
    space = load_space(write_space(tmp_path, MIXED))
    enc = SpaceEncoder(space)
    point = enc.decode([0.05, 0.3, 5.0, 0.1, 0.2, -0.3, -0.2])
    # n: position 0.525 * 5 -> index 3 (6); w: 0.65 * 4 -> 2.6 -> 8; f clipped to high; c arg-max b; flag False
    assert point == {"n": 6, "w": 8, "f": 100.0, "c": "b", "flag": False}


def test_legalise_repairs_invalid_and_seen_points_to_valid_new_distinct_ones():
    space = load_space(SPACE)
    enc = SpaceEncoder(space)
    rng = np.random.default_rng(3)
    default = space.default_point()
    # An 8x8 array of 8x... tiles breaks dim_4_to_8; every row decodes to the same invalid point.
    bad = dict(default, meshRows=8, meshColumns=8, tileRows=4, tileColumns=4)
    assert not space.is_valid(bad)
    xs = np.stack([enc.encode(bad)] * 5 + [enc.encode(default)])
    seen = {space.canonical(default)}
    points = enc.legalise(xs, seen, rng)
    assert len(points) == 6
    keys = [space.canonical(p) for p in points]
    assert len(set(keys)) == 6 and not set(keys) & seen
    assert all(space.is_valid(p) for p in points)
    # the repair is local: the nearest valid point keeps the EDA knobs of the request
    assert all(
        (p["ASAP7_USE_VT"], p["abc_script"]) == (default["ASAP7_USE_VT"], default["abc_script"]) for p in points[:2]
    )


def test_legalise_of_a_non_enumerable_space_stays_valid(tmp_path):
    space = load_space(write_space(tmp_path, MIXED))
    enc = SpaceEncoder(space)
    assert space.enumerate_valid() is None  # float: repaired against a sampled pool
    rng = np.random.default_rng(1)
    xs = np.ones((4, enc.dim))  # n=10, w=16 breaks n * w <= 32
    points = enc.legalise(xs, set(), rng)
    assert len(points) == 4 and all(space.is_valid(p) for p in points)
    assert len({space.canonical(p) for p in points}) == 4


def test_legalise_stops_when_the_space_runs_out(tmp_path):
    space = load_space(
        write_space(tmp_path, "parameters:\n  a: {layer: hardware, type: int, low: 0, high: 2, default: 0}\n")
    )
    enc = SpaceEncoder(space)
    points = enc.legalise(np.zeros((5, 1)), {space.canonical({"a": 0})}, np.random.default_rng(0))
    assert sorted(p["a"] for p in points) == [1, 2]


def test_qor_scaler_log_scales_decade_spans_and_negates_maximised():
    objectives = [Objective("area_um2", "min"), Objective("throughput_gops", "max"), Objective("wns_ps", "min")]
    evs = [
        Evaluation("a", {}, "ok", {"area_um2": 10.0, "throughput_gops": 1.0, "wns_ps": -5.0}),
        Evaluation("b", {}, "ok", {"area_um2": 1000.0, "throughput_gops": 2.0, "wns_ps": 5.0}),
        Evaluation("c", {}, "failed", {}),
        Evaluation("d", {}, "ok", {"area_um2": 100.0, "throughput_gops": 1.5, "wns_ps": 0.0}),
    ]
    good = usable(evs, objectives)
    assert [e.point_id for e in good] == ["a", "b", "d"]
    scaler = QorScaler(objectives)
    z = scaler.fit(scaler.raw(good)).transform(scaler.raw(good))
    assert list(scaler.log) == [True, False, False]
    np.testing.assert_allclose(z[:, 0], [0.0, 1.0, 0.5])  # log: 100 is the middle of 10..1000
    np.testing.assert_allclose(z[:, 1], [1.0, 0.0, 0.5])  # maximised: the largest is best (0)
    np.testing.assert_allclose(z[:, 2], [0.0, 1.0, 0.5])


def test_qor_scaler_keeps_a_floating_point_near_zero_on_the_linear_scale():
    # DTLZ2's f1 is a cosine: at pi/2 it is 6e-17, not 0. The "span" is then 17 decades,
    # but on a log scale every other value would crowd into the top of [0, 1].
    objectives = [Objective("f1", "min"), Objective("area_um2", "min")]
    f1 = [6.1e-17, 0.2, 0.5, 0.7, 0.9, 1.3]
    area = [10.0, 20.0, 40.0, 80.0, 160.0, 320.0]  # a geometric sweep: log is its natural scale
    evs = [Evaluation(str(i), {}, "ok", {"f1": a, "area_um2": b}) for i, (a, b) in enumerate(zip(f1, area))]
    scaler = QorScaler(objectives)
    z = scaler.fit(scaler.raw(evs)).transform(scaler.raw(evs))
    assert list(scaler.log) == [False, True]
    np.testing.assert_allclose(z[:, 0], np.array(f1) / 1.3, atol=1e-12)
    np.testing.assert_allclose(z[:, 1], np.arange(6) / 5)


def test_neighbours_move_one_or_two_parameters_and_recombination_mixes_parameters():
    space = load_space(SPACE)
    enc = SpaceEncoder(space)
    rng = np.random.default_rng(3)
    points = [space.sample(rng) for _ in range(2)]
    bases = enc.encode_many(points)
    moved = enc.neighbours(bases, 50, rng)
    for row, base in zip(moved, bases[np.arange(50) % 2]):
        changed = [
            p.name for p, (s, w) in zip(enc.params, enc.slices) if not np.allclose(row[s : s + w], base[s : s + w])
        ]
        assert 1 <= len(changed) <= 2, changed
    mixed = enc.recombine(bases, 50, rng)
    for row in mixed:
        # every parameter's block comes whole from one of the two bases
        assert all(any(np.allclose(row[s : s + w], b[s : s + w]) for b in bases) for s, w in enc.slices)
    assert len({tuple(r) for r in mixed}) > 2  # and the parameters are mixed, not whole copies


def test_parzen_samples_concentrate_where_the_good_points_agree():
    space = load_space(SPACE)
    enc = SpaceEncoder(space)
    rng = np.random.default_rng(5)
    points = [space.sample(rng) for _ in range(8)]
    agreed = enc.params[0]  # every base point takes this parameter's first value
    for p in points:
        p[agreed.name] = agreed.choices[0] if agreed.type == "choice" else agreed.values()[0]
    drawn = enc.parzen(enc.encode_many(points), 2000, rng)
    start, width = enc.slices[0]
    base = enc.encode(points[0])[start : start + width]
    same = np.mean([np.allclose(row[start : start + width], base) for row in drawn])
    # kept unless moved by the kernel (ordinal: half the time) or drawn from the prior (1/9)
    assert same > (0.4 if width == 1 else 0.8)
    # every row decodes to a box point of legal values
    assert all(
        enc.decode(row)[p.name] in (p.choices if p.type == "choice" else p.values())
        for row in drawn[:50]
        for p in enc.params
        if p.type != "float"
    )
