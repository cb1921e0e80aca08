"""The embedded generator's RTL, simulated with Icarus Verilog, against numpy."""

import subprocess
from pathlib import Path

import numpy as np
import pytest

from edalize_dse.generators import get_generator
from edalize_dse.templating import render_to


def wrap(values: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement wrap-around to ``bits`` bits (the accumulators' overflow rule)."""
    half = 1 << (bits - 1)
    return ((values + half) % (1 << bits)) - half


def simulate(tmp: Path, config: dict, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int]:
    gen = get_generator("embedded")
    cfg = gen.resolve(config)
    assert gen.violations(cfg) == []
    design = gen.generate(cfg, tmp / "rtl")
    ctx = gen.template_context(cfg)
    in_bits, acc_bits, dim = ctx["in_bits"], ctx["acc_bits"], ctx["dim"]
    mask = (1 << in_bits) - 1
    (tmp / "a.hex").write_text("".join(f"{int(x) & mask:x}\n" for x in a.flatten()))
    (tmp / "b.hex").write_text("".join(f"{int(x) & mask:x}\n" for x in b.flatten()))
    tb = render_to(tmp / "tb.v", "sim/tb_mesh.v.j2", **ctx, k=a.shape[1],
                   a_file="a.hex", b_file="b.hex", c_file="c.hex")
    subprocess.run(["iverilog", "-g2012", "-o", str(tmp / "sim.vvp"), str(tb), *map(str, design.files)],
                   check=True, capture_output=True, text=True)
    run = subprocess.run(["vvp", "-n", "sim.vvp"], cwd=tmp, check=True, capture_output=True, text=True)
    raw = np.array([int(x, 16) for x in (tmp / "c.hex").read_text().split()], dtype=np.int64)
    cycles = int(run.stdout.split("CYCLES")[1].split()[0])
    return wrap(raw, acc_bits).reshape(dim, dim), cycles


SHAPES = [
    # meshRows x tileRows split of a side-4 array, a side-8 array, and narrow widths
    dict(meshRows=2, meshColumns=2, tileRows=2, tileColumns=2, inputType=8, accType=32),
    dict(meshRows=1, meshColumns=1, tileRows=4, tileColumns=4, inputType=8, accType=32),
    dict(meshRows=4, meshColumns=4, tileRows=1, tileColumns=1, inputType=4, accType=12),
    dict(meshRows=4, meshColumns=2, tileRows=2, tileColumns=4, inputType=8, accType=16),
]


@pytest.mark.parametrize("config", SHAPES, ids=lambda c: "m{meshRows}x{meshColumns}_t{tileRows}x{tileColumns}"
                         "_i{inputType}_a{accType}".format(**c))
def test_matrix_product_is_bit_exact(tmp_path, tools, config):
    dim = config["meshRows"] * config["tileRows"]
    bits = config["inputType"]
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    rng = np.random.default_rng(dim * 100 + bits)
    k = 2 * dim + 1
    a = rng.integers(lo, hi + 1, size=(dim, k))
    b = rng.integers(lo, hi + 1, size=(k, dim))
    # Extreme values: the most negative operand squared, and a full row of maxima.
    a[0, :], b[:, 0] = lo, lo
    a[-1, :], b[:, -1] = hi, lo
    got, cycles = simulate(tmp_path, config, a, b)
    expected = wrap(a.astype(np.int64) @ b.astype(np.int64), config["accType"])
    np.testing.assert_array_equal(got, expected)
    assert cycles > k


def test_narrow_accumulator_really_wraps(tmp_path, tools):
    """A 16-bit accumulator summing 9 products of -128*-128 must wrap, not saturate."""
    config = dict(meshRows=2, meshColumns=2, tileRows=2, tileColumns=2, inputType=8, accType=16)
    a = np.full((4, 9), -128)
    b = np.full((9, 4), -128)
    got, _ = simulate(tmp_path, config, a, b)
    assert int(got[0, 0]) == int(wrap(np.array(9 * 16384), 16)) == 16384
    assert not np.array_equal(got, a @ b)


@pytest.mark.parametrize("config, rule", [
    (dict(meshRows=2, meshColumns=1, tileRows=2, tileColumns=2), "square_array"),
    (dict(meshRows=3, meshColumns=3, tileRows=1, tileColumns=1), "pow2_dim"),
    (dict(inputType=16, accType=8), "acc_width"),
    (dict(meshRows=0), "positive_integers"),
])
def test_invalid_configuration_names_the_rule(config, rule):
    gen = get_generator("embedded")
    problems = gen.violations(gen.resolve(config))
    assert problems and rule in problems[0]


def test_generation_is_deterministic(tmp_path):
    gen = get_generator("embedded")
    cfg = gen.resolve(SHAPES[0])
    first = [p.read_text() for p in gen.generate(cfg, tmp_path / "a").files]
    second = [p.read_text() for p in gen.generate(cfg, tmp_path / "b").files]
    assert first == second
