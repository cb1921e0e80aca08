"""The generator's memories through the real synth flow (pyosys + OpenSTA on ASAP7):
SRAM macros are counted apart from the standard cells, and memory capacity and
banking move area and leakage."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from edalize_dse.flows import get_flow
from edalize_dse.generators import get_generator
from edalize_dse.metrics import derive
from edalize_dse.space import load_space

from conftest import SPACE


@pytest.fixture(scope="module")
def memory_runs(tmp_path_factory, platform_dir, tools):
    tmp = tmp_path_factory.mktemp("mem")
    space = load_space(SPACE)
    hw, eda = space.split(space.default_point())
    gen = get_generator("embedded")
    flow = get_flow("synth", cache=False)
    changes = {
        "default": {},
        "sp_x2": {"sp_capacity": 2 * hw["sp_capacity"]},
        "sp_1bank": {"sp_banks": 1},
    }

    def run(name):
        cfg = gen.resolve({**hw, **changes[name]})
        assert gen.violations(cfg) == []
        design = gen.generate(cfg, tmp / name / "rtl")
        metrics, _ = flow.run(design, eda, tmp / name / "synth")
        return name, (derive(metrics, design.info), design)

    # Two at a time, as a run with two workers does: each synthesis uses one core.
    with ThreadPoolExecutor(2) as pool:
        return hw, dict(pool.map(run, changes))


def test_default_point_reports_macro_and_stdcell_area_apart(memory_runs):
    hw, runs = memory_runs
    qor, design = runs["default"]
    assert qor["macro_count"] == hw["sp_banks"] + hw["acc_banks"]
    assert qor["macro_area_um2"] == pytest.approx(design.info["macro_model_area_um2"], rel=1e-4)
    assert qor["stdcell_area_um2"] > 0 and qor["area_um2"] == pytest.approx(
        qor["macro_area_um2"] + qor["stdcell_area_um2"]
    )
    assert qor["power_macro_mw"] > 0 and qor["fmax_mhz"] > 0


def test_doubling_the_scratchpad_raises_area_and_leakage(memory_runs):
    _, runs = memory_runs
    base, big = runs["default"][0], runs["sp_x2"][0]
    assert big["macro_area_um2"] > base["macro_area_um2"] and big["area_um2"] > base["area_um2"]
    assert big["power_leakage_mw"] > base["power_leakage_mw"]


def test_scratchpad_banking_changes_area(memory_runs):
    hw, runs = memory_runs
    assert hw["sp_banks"] == 4
    four, one = runs["default"][0], runs["sp_1bank"][0]
    assert one["macro_count"] == four["macro_count"] - 3
    # The same bits in one macro: the model's macro area is the same, the bank decode and
    # read mux of four banks are standard cells.
    assert four["macro_area_um2"] == pytest.approx(one["macro_area_um2"], rel=1e-6)
    assert four["area_um2"] != one["area_um2"] and four["stdcell_area_um2"] != one["stdcell_area_um2"]
