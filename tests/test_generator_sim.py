"""The embedded generator's accelerator, simulated with Icarus Verilog, bit-exact
against the numpy reference (``gemmini_sim.reference``): the verification matrix.

Each case records its multiply's cycle count; the session writes the records to
$EDALIZE_DSE_SIM_CYCLES (default build/sim_cycles.json)."""

import json
import os

import numpy as np
import pytest

from edalize_dse.generators import get_generator
from edalize_dse.generators.embedded import command_cycles
from edalize_dse.generators.gemmini_sim import cycle_record, reference, run_case, simulate, verification_cases, wrap

from conftest import REPO

CASES = verification_cases()


@pytest.fixture(scope="session")
def cycle_log():
    records = []
    yield records
    if records:
        path = os.environ.get("EDALIZE_DSE_SIM_CYCLES") or str(REPO / "build" / "sim_cycles.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            json.dump(sorted(records, key=lambda r: r["case"]), fh, indent=1)


def test_matrix_covers_what_the_issue_asks():
    dataflows = {c.config["dataflow"] for c in CASES}
    both_modes = {c.ws for c in CASES if c.config["dataflow"] == "BOTH"}
    splits = {(c.config["meshRows"], c.config["tileRows"]) for c in CASES if c.dim == 4}
    widths = {(c.config["inputType"], c.config["accType"]) for c in CASES}
    banks = {c.config["sp_banks"] for c in CASES} & {c.config["acc_banks"] for c in CASES}
    assert dataflows == {"OS", "WS", "BOTH"} and both_modes == {False, True}
    assert {(1, 4), (2, 2), (4, 1)} <= splits and any(c.dim == 8 for c in CASES)
    assert len(widths) >= 2 and {1, 2, 4} <= banks
    assert all(max(c.shape) > c.dim for c in CASES)  # every case is tiled by the controller
    assert any(not c.accumulate for c in CASES) and any(c.config["tile_latency"] > 0 for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_matrix_product_is_bit_exact(tmp_path, tools, platform_dir, cycle_log, case):
    res, expected = run_case(case, tmp_path)
    np.testing.assert_array_equal(res.c, expected)
    m, k, n = case.shape
    dim = case.dim
    ws = case.ws or case.config["dataflow"] == "WS"
    # The controller's fixed schedule (the cycle model) is what the RTL does.
    assert res.cycles == command_cycles(case.config, m // dim, k // dim, n // dim, ws)
    cycle_log.append(cycle_record(case, res))


def test_narrow_partial_sums_really_wrap(tmp_path, tools, platform_dir):
    """8-bit operands, 16-bit partial sums: four products of -128*-128 (65536) wrap to 0 in
    the mesh, and the 24-bit accumulator wraps too; neither saturates."""
    config = dict(
        meshRows=2,
        meshColumns=2,
        tileRows=2,
        tileColumns=2,
        dataflow="BOTH",
        inputType=8,
        spatialArrayOutputType=16,
        accType=24,
        sp_capacity=1,
        sp_banks=1,
        acc_capacity=3,
        acc_banks=2,
    )
    a = np.full((4, 8), -128)
    b = np.full((8, 4), -128)
    d = np.full((4, 4), (1 << 23) - 1)
    for ws in (False, True):
        res = simulate(config, a, b, d, tmp_path / str(ws), accumulate=True, ws=ws)
        assert int(res.c[0, 0]) == int(wrap((1 << 23) - 1, 24)) == (1 << 23) - 1  # two blocks of 0
        a2 = a.copy()
        a2[:, 3] = 0
        a2[:, 7] = 0
        res = simulate(config, a2, b, d, tmp_path / f"b{ws}", accumulate=True, ws=ws)
        # each block sums 3 * 16384 = 49152 -> -16384 as a 16-bit partial sum
        assert int(res.c[0, 0]) == int(wrap((1 << 23) - 1 - 2 * 16384, 24))
        assert int(res.c[0, 0]) == reference(a2, b, d, 4, 16, 24, True)[0, 0]


@pytest.mark.parametrize(
    "config, rule",
    [
        (dict(meshRows=2, meshColumns=1, tileRows=2, tileColumns=2), "square_array"),
        (dict(meshRows=3, meshColumns=3, tileRows=1, tileColumns=1), "pow2_dim"),
        (dict(inputType=16, accType=8), "acc_width"),
        (dict(spatialArrayOutputType=40), "output_width"),
        (dict(spatialArrayOutputType=4), "output_width"),
        (dict(inputType=1, accType=8, spatialArrayOutputType=8), "input_width"),
        (dict(meshRows=0), "positive_integers"),
        (dict(sp_banks=0), "positive_integers"),
        (dict(tile_latency=-1), "non-negative_integers"),
        (dict(dataflow="RS"), "dataflow"),
        # 256 KiB / (3 banks * 16 * 8 bits) is not a whole number of rows
        (dict(sp_banks=3), "sp_bank_entries_pow2"),
        # 12 KiB / (1 bank * 16 * 8) = 768 rows: not a power of two
        (dict(sp_capacity=12, sp_banks=1), "sp_bank_entries_pow2"),
        # 1 KiB / (8 banks * 16 * 8) = 8 rows: a power of two but fewer than DIM = 16
        (dict(sp_capacity=1, sp_banks=8), "sp_bank_entries_dim"),
        # 64 KiB / (2 banks * 16 * 20 bits) = 819.2 rows
        (dict(accType=20, spatialArrayOutputType=20), "acc_bank_entries_integral"),
        # 1 KiB / (2 banks * 16 * 32 bits) = 8 rows, not divisible by 16
        (dict(acc_capacity=1), "acc_bank_entries_dim"),
    ],
)
def test_invalid_configuration_names_the_rule(config, rule):
    gen = get_generator("embedded")
    problems = gen.violations(gen.resolve(config))
    assert problems and f"rule '{rule}'" in problems[0], problems


def test_defaults_are_gemminis_and_valid():
    gen = get_generator("embedded")
    cfg = gen.resolve({})
    assert gen.violations(cfg) == []
    assert (
        cfg["meshRows"],
        cfg["tileRows"],
        cfg["dataflow"],
        cfg["sp_capacity"],
        cfg["sp_banks"],
        cfg["acc_capacity"],
        cfg["acc_banks"],
    ) == (16, 1, "BOTH", 256, 4, 64, 2)


def test_generated_design_lists_macros_apart_from_rtl(tmp_path, platform_dir):
    gen = get_generator("embedded")
    cfg = gen.resolve(
        dict(
            meshRows=2,
            meshColumns=2,
            tileRows=2,
            tileColumns=2,
            sp_capacity=16,
            sp_banks=4,
            acc_capacity=8,
            acc_banks=1,
        )
    )
    design = gen.generate(cfg, tmp_path)
    names = {m.name for m in design.macros}
    # scratchpad: 16 KiB / 4 banks = 1024 rows of 4 x 8 bits; accumulator: 8 KiB = 512 rows of 4 x 32 bits
    assert names == {"dse_sram_1024x32", "dse_sram_512x128"}
    rtl = "".join(p.read_text() for p in design.files)
    for name in names:
        assert f"module {name}" not in rtl and rtl.count(f"{name} bank_") == (4 if "1024" in name else 1)
        assert any(f"module {name}" in p.read_text() for p in design.sim_files)
    for macro in design.macros:
        assert macro.liberty.is_file() and f"cell({macro.name})" in macro.liberty.read_text()
        assert macro.lef.is_file() and f"MACRO {macro.name}\n" in macro.lef.read_text()
    assert design.info["pes"] == 16 and design.info["dim"] == 4 and design.info["acc_bits"] == 32


def test_generation_is_deterministic(tmp_path, platform_dir):
    gen = get_generator("embedded")
    cfg = gen.resolve(CASES[0].config)
    first = [p.read_text() for p in gen.generate(cfg, tmp_path / "a").files]
    second = [p.read_text() for p in gen.generate(cfg, tmp_path / "b").files]
    assert first == second


@pytest.mark.parametrize(
    "fragment, rule",
    [
        ("meshColumns: {layer: hardware, type: choice, choices: [1], default: 1}", "square_array"),
        (
            "meshColumns: {layer: hardware, type: choice, choices: [2], default: 2}\n"
            "  sp_banks: {layer: hardware, type: choice, choices: [3], default: 3}",
            "sp_bank_entries_pow2",
        ),
    ],
)
def test_invalid_default_is_rejected_before_any_tool(tmp_path, fragment, rule):
    import subprocess
    import sys

    from conftest import write_space

    space = write_space(
        tmp_path,
        "parameters:\n"
        "  meshRows: {layer: hardware, type: choice, choices: [2], default: 2}\n"
        "  tileRows: {layer: hardware, type: choice, choices: [2], default: 2}\n"
        "  tileColumns: {layer: hardware, type: choice, choices: [2], default: 2}\n"
        f"  {fragment}\n",
    )
    out = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "edalize_dse",
            "run",
            "--space",
            str(space),
            "--output",
            str(out),
            "--budget",
            "1",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert f"rule '{rule}'" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not (out / "points").exists()
