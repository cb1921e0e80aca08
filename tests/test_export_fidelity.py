"""Hand-off of a point (edalize-dse export), and the store's results per fidelity."""

import sqlite3
import subprocess
import sys

from edalize_dse.pareto import promotion_order
from edalize_dse.space import Objective
from edalize_dse.store import Evaluation, Store

from conftest import ONE_SMALL_ARRAY, write_space

SPACE = (
    """
name: export_me
parameters:
"""
    + ONE_SMALL_ARRAY
    + """  ASAP7_USE_VT: {layer: eda, type: choice, choices: [RVT, "LVT RVT"], default: RVT}
  booth:       {layer: eda, type: choice, choices: [1], default: 1}
"""
)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "edalize_dse", *args], capture_output=True, text=True, timeout=900)


def test_export_writes_orfs_and_chipyard_files_for_a_point(tmp_path, platform_dir, tools):
    space = write_space(tmp_path, SPACE)
    out = tmp_path / "out"
    assert cli("run", "--space", str(space), "--output", str(out), "--budget", "2", "--no-progress").returncode == 0
    with sqlite3.connect(out / "dse.sqlite") as con:
        point_id, params = con.execute(
            "SELECT point_id, params FROM evaluations WHERE params LIKE '%LVT RVT%'"
        ).fetchone()
    run = cli("export", str(out), "--point", point_id)
    assert run.returncode == 0, run.stderr
    dest = out / "export" / point_id
    config = (dest / "config.mk").read_text()
    assert "export ASAP7_USE_VT = LVT RVT" in config and f"FLOW_VARIANT={point_id}" in config
    files = [line for line in config.splitlines() if line.startswith("export VERILOG_FILES")][0].split()[3:]
    assert files and all(str(dest / "rtl") in f for f in files)
    assert (dest / "constraint.sdc").is_file() and (dest / "run_orfs.sh").is_file()
    scala = list(dest.glob("EdalizeDse_*.scala"))
    assert (
        len(scala) == 1 and "meshRows = 1" in scala[0].read_text() and "inputType = SInt(4.W)" in scala[0].read_text()
    )
    assert "note: booth = 1 has no OpenROAD-flow-scripts counterpart" in run.stdout

    missing = cli("export", str(out), "--point", "000000000000")
    assert missing.returncode == 2 and "point '000000000000' is not in" in missing.stderr


def test_promotion_order_is_pareto_rank_then_first_objective():
    objectives = [Objective("area_um2", "min"), Objective("throughput_gops", "max")]
    qor = {"a": (10, 5), "b": (20, 9), "c": (12, 4), "d": (30, 8), "e": (11, 1)}
    evaluations = [
        Evaluation(point_id=k, params={}, status="ok", qor={"area_um2": a, "throughput_gops": t})
        for k, (a, t) in qor.items()
    ]
    evaluations.append(Evaluation(point_id="f", params={}, status="failed"))
    order = [e.point_id for e in promotion_order(evaluations, objectives)]
    # front 1: a (10, 5), b (20, 9); once removed, c, d and e are non-dominated: by area
    assert order == ["a", "b", "e", "c", "d"]


def test_store_keeps_one_result_per_point_and_fidelity(tmp_path):
    store = Store(tmp_path / "dse.sqlite")
    store.add(Evaluation(point_id="p1", params={"x": 1}, status="ok", qor={"area_um2": 1.0}))
    store.add(Evaluation(point_id="p1", params={"x": 1}, status="ok", qor={"area_um2": 1.4}, fidelity="orfs"))
    assert [e.fidelity for e in store.evaluations()] == ["synth", "orfs"]
    assert [e.qor["area_um2"] for e in store.evaluations(fidelity="orfs")] == [1.4]
    try:
        store.add(Evaluation(point_id="p1", params={"x": 1}, status="ok", fidelity="orfs"))
        raise AssertionError("a second orfs result of p1 was accepted")
    except sqlite3.IntegrityError:
        pass
    store.close()


def test_store_of_an_earlier_version_is_upgraded_in_place(tmp_path):
    db = tmp_path / "dse.sqlite"
    with sqlite3.connect(db) as con:
        con.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE evaluations (id INTEGER PRIMARY KEY AUTOINCREMENT, point_id TEXT NOT NULL UNIQUE,
          params TEXT NOT NULL, status TEXT NOT NULL, qor TEXT NOT NULL, error TEXT, log_path TEXT, log_tail TEXT,
          tool_versions TEXT NOT NULL, timings TEXT NOT NULL, strategy TEXT NOT NULL, round INTEGER NOT NULL,
          started_at TEXT NOT NULL, finished_at TEXT NOT NULL);
        INSERT INTO meta VALUES ('flow', '"synth"');
        INSERT INTO evaluations (point_id, params, status, qor, tool_versions, timings, strategy, round, started_at,
          finished_at) VALUES ('old1', '{"x": 2}', 'ok', '{"area_um2": 3.5}', '{}', '{"synth_s": 4.0}', 'random', 1,
          't0', 't1');
        """)
    store = Store(db)
    [old] = store.evaluations()
    assert old.point_id == "old1" and old.qor == {"area_um2": 3.5} and old.fidelity == "synth" and not old.cache_hit
    store.add(Evaluation(point_id="old1", params={"x": 2}, status="ok", fidelity="orfs"))
    assert len(store.evaluations()) == 2 and store.meta()["flow"] == "synth"
    store.close()
