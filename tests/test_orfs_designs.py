"""ORFS's own ASAP7 designs, imported and run as a user would: `edalize-dse import-orfs`
then `fusesoc run --target=dse` on a one-point slice at ORFS's clock, the result checked
against ORFS's published synthesis area (its rules-base.json, margin undone)."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

FUSESOC = str(Path(sys.executable).with_name("fusesoc"))
DESIGNS = ("gcd", "uart", "aes", "riscv32i", "jpeg", "ibex")


@pytest.fixture(scope="module")
def designs(orfs_data) -> Path:
    if orfs_data.configs is None:
        pytest.skip(f"no ORFS designs to import beside the reference data in {orfs_data.origin}")
    return orfs_data.configs


@pytest.mark.slow
@pytest.mark.parametrize("name", DESIGNS)
def test_orfs_design_imports_and_runs_through_fusesoc(name, designs, tmp_path, platform_dir, tools):
    config = designs / name / "config.mk"
    if not config.is_file():
        pytest.skip(f"{config} not found")
    cores = tmp_path / "cores"
    imported = subprocess.run(
        [sys.executable, "-m", "edalize_dse", "import-orfs", str(config), "--to", str(cores)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    # The slice: ORFS's own clock and ABC script, one point.
    space = next(cores.glob("*/*_space.yml"))
    from edalize_dse.space import load_space

    full = load_space(space)
    clock = full.parameters["clock_period_ps"].default
    abc = full.parameters["abc_script"].default
    slice_file = tmp_path / "slice.yml"
    slice_file.write_text(
        f"name: {name}_slice\nparameters:\n"
        f"  clock_period_ps: {{layer: eda, type: choice, choices: [{clock}], default: {clock}}}\n"
        f"  abc_script: {{layer: eda, type: choice, choices: [{abc}], default: {abc}}}\n"
        "objectives:\n  - {name: area_um2, goal: min}\n  - {name: fmax_mhz, goal: max}\n"
    )
    core_name = f"orfs:asap7:{name}"
    run = subprocess.run(
        [
            FUSESOC,
            "--cores-root",
            str(cores),
            "run",
            "--target=dse",
            core_name,
            "--budget",
            "1",
            "--space",
            str(slice_file),
            "--output",
            str(tmp_path / "out"),
            "--strategy",
            "random",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    with open(tmp_path / "out" / "evaluations.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["status"] == "ok", row.get("error")
    rules = json.loads((designs / name / "rules-base.json").read_text())
    orfs_area = rules["synth__design__instance__area__stdcell"]["value"] / 1.15
    # The imported files, macros and parameters are the ones ORFS synthesizes: the area agrees.
    assert 0.8 < float(row["stdcell_area_um2"]) / orfs_area < 1.25
    assert float(row["max_cap_violations"]) == 0 and float(row["max_slew_violations"]) == 0
    if name == "riscv32i":
        # Its fakeram7_256x32 instances are timed black boxes with the liberty view's area.
        count = float(row["macro_count"])
        assert count >= 1 and float(row["macro_area_um2"]) == pytest.approx(count * 343.985)
        assert float(row["untimed_instances"]) == 0
