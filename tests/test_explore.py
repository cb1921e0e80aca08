"""The exploration loop through the CLI: failures are recorded and the run goes on."""

import csv
import subprocess
import sys

from conftest import write_space

SPACE = """
name: failing_mix
parameters:
  meshRows:    {layer: hardware, type: pow2, low: 1, high: 2, default: 1}
  meshColumns: {layer: hardware, type: choice, choices: [1], default: 1}
  tileRows:    {layer: hardware, type: choice, choices: [2], default: 2}
  tileColumns: {layer: hardware, type: pow2, low: 2, high: 4, default: 2}
  inputType:   {layer: hardware, type: choice, choices: [4], default: 4}
  accType:     {layer: hardware, type: choice, choices: [16], default: 16}
  spatialArrayOutputType: {layer: hardware, type: choice, choices: [12], default: 12}
# deliberately no square-array constraint: the generator's own rule must catch it
"""


def run_cli(*args):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "edalize_dse",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_invalid_points_fail_with_the_rule_and_the_run_finishes(tmp_path, platform_dir, tools):
    space = write_space(tmp_path, SPACE)
    out = tmp_path / "out"
    # Cache off: the ok points' synthesis times are real (another test may have cached them).
    run = run_cli(
        "run",
        "--space",
        str(space),
        "--output",
        str(out),
        "--budget",
        "4",
        "--workers",
        "2",
        "--cache-dir",
        "off",
        "--no-progress",
    )
    assert run.returncode == 0, run.stderr
    with open(out / "evaluations.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    by_status = {}
    for row in rows:
        by_status.setdefault(row["status"], []).append(row)
    assert len(by_status["ok"]) == 2 and len(by_status["failed"]) == 2
    for row in by_status["failed"]:
        assert "generate: invalid configuration: rule 'square_array'" in row["error"]
        assert int(row["meshRows"]) * 2 != int(row["tileColumns"])
        assert row["area_um2"] == ""
    for row in by_status["ok"]:
        assert float(row["area_um2"]) > 0 and float(row["time_synth_s"]) > 0
    assert "2 ok, 2 failed" in run.stdout and "failed" in run.stdout

    # The space is exhausted: a bigger budget ends cleanly with nothing new to run.
    again = run_cli("run", "--space", str(space), "--output", str(out), "--budget", "10", "--no-progress")
    assert again.returncode == 0 and "4 evaluations" in again.stdout
    assert "no unevaluated valid point left; 4 of the budget of 10" in again.stdout

    # report rebuilds the same CSV from the store alone
    (out / "evaluations.csv").unlink()
    report = run_cli("report", str(out), "--space", str(space))
    assert report.returncode == 0 and (out / "evaluations.csv").is_file()


def test_changed_space_is_refused_for_an_existing_output(tmp_path, platform_dir, tools):
    space = write_space(tmp_path, SPACE)
    out = tmp_path / "out"
    # Four points: two of them valid (a run in which every point failed exits 4).
    assert run_cli("run", "--space", str(space), "--output", str(out), "--budget", "4", "--no-progress").returncode == 0
    space.write_text(SPACE.replace("choices: [4], default: 4", "choices: [4, 8], default: 4"))
    run = run_cli("run", "--space", str(space), "--output", str(out), "--budget", "5", "--no-progress")
    assert run.returncode == 2 and "holds results of a different exploration (changed: space file)" in run.stderr
