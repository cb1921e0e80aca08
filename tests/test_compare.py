"""`edalize-dse compare OLD NEW`: the fronts side by side and a verdict a CI job gates on,
each with its own exit status, on three prepared pairs of summaries."""

import json
import subprocess
import sys

import pytest

from edalize_dse.ci import COMPARE_EXIT, SCHEMA_ID, SCHEMA_PATH

OBJECTIVES = [{"name": "area_um2", "goal": "min"}, {"name": "fmax_mhz", "goal": "max"}]


def summary(folder, front):
    """A run's summary.json with the given front [(area, fmax), ...] (valid against the schema)."""
    folder.mkdir(parents=True)
    points = [
        {
            "point_id": f"{i:012x}",
            "params": {"WIDTH": 8 * (i + 1)},
            "qor": {"area_um2": a, "fmax_mhz": f},
            "folder": f"points/{i:012x}",
        }
        for i, (a, f) in enumerate(front)
    ]
    doc = {
        "schema": SCHEMA_ID,
        "space": "pair",
        "space_file": "pair.yml",
        "output": str(folder),
        "strategy": "random",
        "seed": 0,
        "budget": 8,
        "fidelity": "synth",
        "objectives": OBJECTIVES,
        "qor_constraints": ["wns_ps >= 0"],
        "counts": {"evaluations": 8, "ok": 8, "failed": 0, "infeasible": 8 - len(front), "feasible": len(front)},
        "feasible": bool(front),
        "reason": None,
        "front": points,
        "hypervolume": 0.5,
        "wall_s": 10.0,
        "tool_s": 9.0,
        "tool_versions": {"yosys": "0.70"},
        "files": {},
    }
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(doc, json.loads(SCHEMA_PATH.read_text()))
    (folder / "summary.json").write_text(json.dumps(doc))
    return folder


BASE = [(100.0, 500.0), (200.0, 800.0), (400.0, 1000.0)]
PAIRS = {
    # NEW: the same front, in another order
    "match": [(400.0, 1000.0), (100.0, 500.0), (200.0, 800.0)],
    # NEW: every OLD point kept or beaten, and a point OLD has nothing like
    "dominate": [(100.0, 500.0), (180.0, 850.0), (400.0, 1000.0), (600.0, 1300.0)],
    # NEW: the 1 GHz point is lost (its best is slower at the same area)
    "regress": [(100.0, 500.0), (200.0, 800.0), (400.0, 900.0)],
}


def compare(*args):
    return subprocess.run(
        [sys.executable, "-m", "edalize_dse", "compare", *map(str, args)], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("verdict", list(PAIRS))
def test_compare_verdict_and_exit_status(tmp_path, verdict):
    old = summary(tmp_path / "old", BASE)
    new = summary(tmp_path / "new", PAIRS[verdict])
    run = compare(old, new)
    assert run.returncode == COMPARE_EXIT[verdict], run.stdout + run.stderr
    last = run.stdout.strip().splitlines()[-1]
    assert last.startswith(f"{verdict}: ") and f"(exit status {COMPARE_EXIT[verdict]})" in last
    # Side by side: one row per front point of the longer front, OLD left, NEW right.
    assert "OLD front" in run.stdout and "NEW front" in run.stdout
    assert "1000" in run.stdout and ("1300" in run.stdout) == (verdict == "dominate")


def test_exit_statuses_are_distinct_and_tolerance_turns_a_small_loss_into_a_match(tmp_path):
    assert len(set(COMPARE_EXIT.values())) == 3
    # Each status has one meaning across commands: compare's differences are not run's failures.
    assert not {COMPARE_EXIT["dominate"], COMPARE_EXIT["regress"]} & {2, 3, 4, 5, 6, 70}
    old = summary(tmp_path / "old", BASE)
    new = summary(tmp_path / "new", [(100.0, 500.0), (200.0, 800.0), (401.0, 999.0)])
    assert compare(old, new).returncode == COMPARE_EXIT["regress"]
    assert compare(old, new, "--tolerance", "0.01").returncode == COMPARE_EXIT["match"]


def test_compare_refuses_other_objectives_and_non_summaries(tmp_path):
    old = summary(tmp_path / "old", BASE)
    other = tmp_path / "other"
    summary(other, BASE)
    doc = json.loads((other / "summary.json").read_text())
    doc["objectives"] = [{"name": "area_um2", "goal": "min"}]
    (other / "summary.json").write_text(json.dumps(doc))
    run = compare(old, other)
    assert run.returncode == 2 and "different objectives" in run.stderr
    run = compare(old, tmp_path / "missing")
    assert run.returncode == 2 and "not found: compare takes two output folders" in run.stderr
