"""The store's attempts column (how many times a point was started by a cluster
executor), and the pieces of a remote point that need no cluster."""

import sqlite3

from edalize_dse.executors.dask_backend import lsf_walltime
from edalize_dse.executors.node import pack, unpack
from edalize_dse.store import Evaluation, Store

# The evaluations table as the release before the executors wrote it (no attempts column).
OLD_TABLE = """
CREATE TABLE evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, point_id TEXT NOT NULL, params TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')), qor TEXT NOT NULL, error TEXT, log_path TEXT,
    log_tail TEXT, tool_versions TEXT NOT NULL, timings TEXT NOT NULL, strategy TEXT NOT NULL,
    round INTEGER NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
    cache_hit INTEGER NOT NULL DEFAULT 0, fidelity TEXT NOT NULL DEFAULT 'synth', UNIQUE (point_id, fidelity))
"""


def test_an_older_store_gains_attempts_in_place(tmp_path):
    path = tmp_path / "dse.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(OLD_TABLE)
        db.execute(
            "INSERT INTO evaluations (point_id, params, status, qor, tool_versions, timings, strategy, round, "
            "started_at, finished_at) VALUES ('p1', '{}', 'ok', '{\"area_um2\": 1.0}', '{}', '{}', 'random', 1, "
            "'t0', 't1')"
        )
    store = Store(path)
    try:
        [old] = store.evaluations()
        assert old.point_id == "p1" and old.qor == {"area_um2": 1.0} and old.attempts == 1
        store.add(Evaluation(point_id="p2", params={}, status="ok", attempts=3, started_at="t", finished_at="t"))
        assert [e.attempts for e in store.evaluations()] == [1, 3]
    finally:
        store.close()


def test_a_point_folder_travels_whole(tmp_path):
    folder = tmp_path / "node" / "abc123"
    (folder / "synth").mkdir(parents=True)
    (folder / "synth" / "yosys.log").write_text("Yosys log\n")
    (folder / "rtl").mkdir()
    (folder / "rtl" / "top.v").write_text("module top; endmodule\n")
    archive = pack(folder)
    unpack(archive, tmp_path / "driver" / "abc123")
    assert (tmp_path / "driver" / "abc123" / "synth" / "yosys.log").read_text() == "Yosys log\n"
    assert (tmp_path / "driver" / "abc123" / "rtl" / "top.v").is_file()


def test_lsf_walltime_is_hours_and_minutes():
    assert lsf_walltime("02:30:00") == "2:30"
    assert lsf_walltime("00:10:30") == "0:11"  # rounded up: a job is never cut short
    assert lsf_walltime("45") == "45"


def test_node_markers_of_old_runs_are_forgotten(tmp_path):
    import os
    import time

    from edalize_dse.executors.node import forget_old_markers

    old, fresh = tmp_path / "edalize-dse-node-old.json", tmp_path / "edalize-dse-node-new.json"
    for marker in (old, fresh):
        marker.write_text("{}")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    forget_old_markers(tmp_path)
    assert not old.exists() and fresh.exists()


def test_nodes_with_other_cell_data_are_refused_naming_both():
    """Results on different cells do not compare: check_nodes refuses a cluster whose
    nodes report different ASAP7 cell data, as it refuses different tool versions."""
    import pytest

    from edalize_dse.errors import DseError
    from edalize_dse.executors.remote import RemoteExecutor

    class Reported(RemoteExecutor):
        backend = "test"
        _start = _wait = _cancel = _close = None

        def __init__(self, reports):  # no engine: only the driver's judgement of the reports
            self.reports = reports

        def _node_reports(self):
            return self.reports

    same = {"yosys": "0.1", "opensta": "2.0"}
    a = dict(node="node-a", versions=same, platform="sha-a", problem=None)
    facts = Reported([a, dict(a, node="node-b")]).check_nodes([])
    assert facts.versions == same and facts.platform == "sha-a"
    with pytest.raises(DseError, match=r"node node-b has other ASAP7 cell data .* than node node-a"):
        Reported([a, dict(a, node="node-b", platform="sha-b")]).check_nodes([])
