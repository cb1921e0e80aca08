"""The synth flow on the real tools (pyosys + OpenSTA) and the ASAP7 platform."""

import gzip
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from edalize_dse.errors import DseError, ToolFailure
from edalize_dse.flows import get_flow
from edalize_dse.generators import get_generator
from edalize_dse.metrics import derive
from edalize_dse.platform import decompressed, find_platform

# The default point of gemmini_small: a 4x4 array with a 16 KiB / 4-bank scratchpad and an
# 8 KiB / 2-bank accumulator (six SRAM macros).
DEFAULT_4X4 = dict(
    meshRows=2,
    meshColumns=2,
    tileRows=2,
    tileColumns=2,
    inputType=8,
    accType=32,
    sp_capacity=16,
    sp_banks=4,
    acc_capacity=8,
    acc_banks=2,
)


def run_point(tmp_path, hw, eda, name, **flow_options):
    gen = get_generator("embedded")
    # The result cache is off unless a test is about it: these tests are about tool runs.
    flow = get_flow("synth", **{"cache": False, **flow_options})
    design = gen.generate(gen.resolve(hw), tmp_path / name / "rtl")
    metrics, timings = flow.run(design, eda, tmp_path / name / "synth")
    return derive(metrics, design.info), timings


@pytest.fixture(scope="module")
def vt_pair(tmp_path_factory, platform_dir, tools):
    tmp = tmp_path_factory.mktemp("vt")
    eda = dict(clock_period_ps=1000, abc_script="speed")
    # Both at once, as a run with two workers does: each synthesis uses one core.
    with ThreadPoolExecutor(2) as pool:
        return tuple(
            pool.map(lambda vt: run_point(tmp, DEFAULT_4X4, dict(eda, ASAP7_USE_VT=vt), vt.lower())[0], ("RVT", "SLVT"))
        )


def test_default_point_has_positive_qor_from_reports(vt_pair, tmp_path):
    rvt, _ = vt_pair
    for key in ("area_um2", "seq_area_um2", "fmax_mhz", "power_mw", "power_leakage_mw", "throughput_gops"):
        assert rvt[key] > 0, key
    assert rvt["seq_area_um2"] < rvt["area_um2"]
    assert rvt["fmax_mhz"] == pytest.approx(1e6 / (1000 - rvt["wns_ps"]))
    assert rvt["throughput_gops"] == pytest.approx(2 * 16 * rvt["fmax_mhz"] / 1e3)
    assert rvt["power_mw"] == pytest.approx(
        rvt["power_internal_mw"] + rvt["power_switching_mw"] + rvt["power_leakage_mw"], rel=1e-3
    )
    # The split by cell group adds up too; the six SRAM macros are counted apart.
    assert rvt["power_mw"] == pytest.approx(
        rvt["power_seq_mw"] + rvt["power_comb_mw"] + rvt["power_macro_mw"], rel=1e-3
    )
    assert rvt["power_seq_mw"] > 0 and rvt["power_comb_mw"] > 0 and rvt["power_macro_mw"] > 0
    assert rvt["macro_count"] == 6 and rvt["macro_area_um2"] > 0
    assert rvt["area_um2"] == pytest.approx(rvt["stdcell_area_um2"] + rvt["macro_area_um2"])
    assert rvt["comb_area_um2"] == pytest.approx(rvt["stdcell_area_um2"] - rvt["seq_area_um2"])


def test_slvt_is_faster_and_leakier_than_rvt(vt_pair):
    rvt, slvt = vt_pair
    assert slvt["fmax_mhz"] > rvt["fmax_mhz"]
    assert slvt["power_leakage_mw"] > rvt["power_leakage_mw"]


def test_work_dir_keeps_scripts_and_logs(tmp_path, platform_dir, tools):
    _, timings = run_point(tmp_path, DEFAULT_4X4, dict(ASAP7_USE_VT="LVT", abc_script="area"), "p")
    work = tmp_path / "p" / "synth"
    for name in ("synth.ys", "abc_area.abc", "sta.tcl", "yosys.log", "sta.log", "netlist.v", "stat.json"):
        assert (work / name).is_file(), name
    assert "asap7sc7p5t_SEQ_LVT" in (work / "synth.ys").read_text()
    assert "_ASAP7_75t_L" in (work / "netlist.v").read_text()
    assert set(timings) == {"synth_s", "sta_s"}


def test_larger_array_has_larger_area(tmp_path, platform_dir, tools):
    small, _ = run_point(tmp_path, dict(DEFAULT_4X4, inputType=4, accType=16, spatialArrayOutputType=12), {}, "small")
    big, _ = run_point(tmp_path, DEFAULT_4X4, {}, "big")
    assert big["stdcell_area_um2"] > 1.5 * small["stdcell_area_um2"]


def test_tool_timeout_is_a_tool_failure(tmp_path, platform_dir, tools):
    gen = get_generator("embedded")
    design = gen.generate(gen.resolve(dict(DEFAULT_4X4, meshRows=4, meshColumns=4)), tmp_path / "rtl")
    flow = get_flow("synth", timeout_s=1, cache=False)
    with pytest.raises(ToolFailure) as err:
        flow.run(design, {}, tmp_path / "synth")
    assert err.value.step == "synth" and "timed out after 1 s" in err.value.reason


def test_missing_platform_names_both_variables(monkeypatch):
    monkeypatch.delenv("ASAP7_PLATFORM_DIR", raising=False)
    monkeypatch.delenv("FLOW_HOME", raising=False)
    with pytest.raises(DseError) as err:
        find_platform()
    assert "ASAP7_PLATFORM_DIR" in str(err.value) and "FLOW_HOME" in str(err.value)


def test_flow_home_layout_is_found(tmp_path, platform_dir, monkeypatch):
    (tmp_path / "platforms").mkdir()
    os.symlink(platform_dir, tmp_path / "platforms" / "asap7")
    monkeypatch.delenv("ASAP7_PLATFORM_DIR")
    monkeypatch.setenv("FLOW_HOME", str(tmp_path))
    found = find_platform()
    assert found.found_via == "FLOW_HOME" and found.root == platform_dir.resolve()


def test_liberty_gz_is_decompressed_once_by_content(tmp_path, platform_dir, monkeypatch):
    monkeypatch.setenv("EDALIZE_DSE_CACHE", str(tmp_path / "cache"))
    source = next((platform_dir / "lib" / "NLDM").glob("asap7sc7p5t_INVBUF_RVT_*.lib.gz"))
    first = decompressed(source)
    assert first.read_bytes() == gzip.decompress(source.read_bytes())
    stamp = first.stat().st_mtime_ns
    assert decompressed(source) == first and first.stat().st_mtime_ns == stamp
    # Same content under another name: same cache entry; plain .lib is used as is.
    copy = tmp_path / "renamed" / source.name
    copy.parent.mkdir()
    shutil.copy(source, copy)
    assert decompressed(copy) == first
    assert decompressed(first) == first


def test_plain_lib_platform_works(tmp_path, platform_dir, tools, monkeypatch):
    """A platform that ships uncompressed liberty files runs the flow too."""
    nldm = tmp_path / "asap7" / "lib" / "NLDM"
    nldm.mkdir(parents=True)
    for gz in (platform_dir / "lib" / "NLDM").glob("asap7sc7p5t_*_RVT_*.lib.gz"):
        (nldm / gz.name[:-3]).write_bytes(gzip.decompress(gz.read_bytes()))
    for lib in (platform_dir / "lib" / "NLDM").glob("fakeram7_*.lib"):  # the SRAM model's data
        shutil.copy(lib, nldm / lib.name)
    monkeypatch.setenv("ASAP7_PLATFORM_DIR", str(tmp_path / "asap7"))
    metrics, _ = run_point(
        tmp_path,
        dict(DEFAULT_4X4, inputType=4, accType=16, spatialArrayOutputType=12),
        {"ASAP7_USE_VT": "RVT"},
        "plain",
    )
    assert metrics["area_um2"] > 0
    assert str(nldm) in (tmp_path / "plain" / "synth" / "synth.ys").read_text()


def test_preflight_reports_versions(platform_dir, tools):
    versions = get_flow("synth").preflight()
    assert versions["yosys"].startswith("Yosys ") and versions["opensta"]


def test_unknown_knob_values_are_reported():
    flow = get_flow("synth")
    assert "knob 'ASAP7_USE_VT' = 'HVT'" in flow.check_knobs({"ASAP7_USE_VT": "HVT"})[0]
    assert "legal: space-separated RVT, LVT, SLVT" in flow.check_knobs({"ASAP7_USE_VT": "RVT RVT"})[0]
    assert "unknown EDA knob 'place_density'" in flow.check_knobs({"place_density": 0.6})[0]
    assert "positive number" in flow.check_knobs({"clock_period_ps": -5})[0]
    assert "area, balanced, speed" in flow.check_knobs({"abc_script": "fast"})[0]
    assert "0/1" in flow.check_knobs({"booth": 2})[0]
    assert "0 to below 100" in flow.check_knobs({"io_delay_pct": 100})[0]
    assert "non-negative integer" in flow.check_knobs({"max_fanout": -1})[0]
    assert (
        flow.check_knobs(
            {
                "ASAP7_USE_VT": "LVT SLVT",
                "booth": True,
                "SYNTH_HIERARCHICAL": 1,
                "retime": 0,
                "DONT_USE_CELLS": "SDF* ICG*",
                "max_fanout": 8,
                "io_delay_pct": 20.5,
            }
        )
        == []
    )


def test_pyosys_runner_fails_on_a_bad_script(tmp_path):
    (tmp_path / "bad.ys").write_text("read_verilog does_not_exist.v\n")
    run = subprocess.run(
        [sys.executable, "-m", "edalize_dse.pyosys_main", "bad.ys"], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode != 0
