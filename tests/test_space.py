import numpy as np
import pytest

from edalize_dse.errors import SpaceError
from edalize_dse.space import load_space

from conftest import SPACE, write_space

MINIMAL = """
parameters:
  meshRows:    {layer: hardware, type: pow2, low: 1, high: 4, default: 2}
  tileRows:    {layer: hardware, type: pow2, low: 1, high: 4, default: 2}
  meshColumns: {layer: hardware, type: pow2, low: 1, high: 4, default: 2}
  tileColumns: {layer: hardware, type: pow2, low: 1, high: 4, default: 2}
  ASAP7_USE_VT: {layer: eda, type: choice, choices: [RVT, LVT], default: RVT}
constraints:
  - {name: square_array, expr: "meshRows * tileRows == meshColumns * tileColumns"}
"""


@pytest.mark.slow  # enumerates every valid point of the default space
def test_default_space_loads_and_counts_valid_points():
    import itertools

    from edalize_dse.generators import get_generator

    space = load_space(SPACE)
    assert [p.name for p in space.layer("eda")] == ["clock_period_ps", "ASAP7_USE_VT", "abc_script"]
    assert space.enumerate_valid() is None  # too large to list with its EDA knobs
    hw = space.layer("hardware")
    names = [p.name for p in hw]
    grid = (dict(zip(names, combo)) for combo in itertools.product(*[p.values() for p in hw]))
    valid = [pt for pt in grid if all(c.holds(pt) for c in space.constraints)]
    # 18 mesh/tile splits (9 per side length 4 and 8) x 3 dataflows x 2 inputType x 3 (output, acc)
    # width pairs x 9 scratchpad x 9 accumulator (capacity, banks) x 4 (tile_latency, output delay)
    assert len(valid) == 18 * 3 * 2 * 3 * 9 * 9 * 4
    gen = get_generator("embedded")
    for p in valid:
        assert p["meshRows"] * p["tileRows"] == p["meshColumns"] * p["tileColumns"]
        assert not gen.violations(gen.resolve(p)), p  # the constraints mirror every generator rule
    eda_default = {p.name: p.default for p in space.layer("eda")}
    assert all(space.is_valid({**p, **eda_default}) for p in valid[:50])


def test_violations_name_the_constraint(tmp_path):
    space = load_space(write_space(tmp_path, MINIMAL))
    bad = dict(space.default_point(), meshRows=4)
    problems = space.violations(bad)
    assert len(problems) == 1 and "square_array" in problems[0]
    assert "outside its domain" in space.violations(dict(space.default_point(), ASAP7_USE_VT="HVT"))[0]
    assert "missing" in space.violations({"ASAP7_USE_VT": "RVT"})[0]


def test_sampling_is_valid_and_seeded(tmp_path):
    space = load_space(write_space(tmp_path, MINIMAL))
    a = [space.sample(np.random.default_rng(3)) for _ in range(5)]
    b = [space.sample(np.random.default_rng(3)) for _ in range(5)]
    assert a == b
    rng = np.random.default_rng(0)
    assert all(space.is_valid(space.sample(rng)) for _ in range(200))


def test_point_id_is_order_independent(tmp_path):
    space = load_space(write_space(tmp_path, MINIMAL))
    p = space.default_point()
    assert space.point_id(p) == space.point_id(dict(reversed(list(p.items()))))
    assert space.point_id(p) != space.point_id(dict(p, ASAP7_USE_VT="LVT"))


@pytest.mark.parametrize(
    "fragment, problem",
    [
        ("x: {layer: eda, type: intt, low: 1, high: 2, default: 1}", "unknown type 'intt'"),
        ("x: {layer: eda, type: choice, choices: [], default: 1}", "'choices' must be a non-empty list"),
        ("x: {layer: chip, type: bool, default: true}", "unknown layer 'chip'"),
        ("x: {layer: eda, type: int, low: 5, high: 2, default: 3}", "'low' (5) is greater than 'high' (2)"),
        ("x: {layer: eda, type: pow2, low: 3, high: 8, default: 4}", "must be powers of two"),
        ("x: {layer: eda, type: int, low: 1, high: 4, default: 9}", "default 9 is not a legal value"),
        ("x: {layer: eda, type: bool, default: true, choices: [1]}", "do not apply to type 'bool'"),
        ("x: {layer: eda, type: float, low: 1, high: 4}", "no 'default' given"),
    ],
)
def test_bad_parameter_is_one_message_naming_file_and_parameter(tmp_path, fragment, problem):
    path = write_space(tmp_path, MINIMAL.replace("parameters:\n", f"parameters:\n  {fragment}\n"))
    with pytest.raises(SpaceError) as err:
        load_space(path)
    message = str(err.value)
    assert str(path) in message and "parameter 'x'" in message and problem in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "expr, problem",
    [
        ("meshRows == nope", "unknown name 'nope'"),
        ("__import__('os')", "only the functions"),
        ("meshRows.real == 1", "Attribute is not allowed"),
        ("meshRows ==", "cannot parse"),
    ],
)
def test_bad_constraint_is_rejected_at_load(tmp_path, expr, problem):
    text = MINIMAL + f'  - {{name: c, expr: "{expr}"}}\n'
    with pytest.raises(SpaceError, match="constraint 'c'") as err:
        load_space(write_space(tmp_path, text))
    assert problem in str(err.value)


def test_default_point_must_satisfy_constraints(tmp_path):
    text = MINIMAL.replace(
        "meshRows:    {layer: hardware, type: pow2, low: 1, high: 4, default: 2}",
        "meshRows:    {layer: hardware, type: pow2, low: 1, high: 4, default: 4}",
    )
    with pytest.raises(SpaceError, match="default point breaks constraint 'square_array'"):
        load_space(write_space(tmp_path, text))


def test_malformed_yaml_and_missing_file(tmp_path):
    with pytest.raises(SpaceError, match="not valid YAML at line"):
        load_space(write_space(tmp_path, "parameters: {a: [1, 2}\n"))
    with pytest.raises(SpaceError, match="file not found"):
        load_space(tmp_path / "absent.yml")
