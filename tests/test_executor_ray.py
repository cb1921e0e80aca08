"""executor ray on a real multi-node Ray cluster on this machine (ray.cluster_utils):
every node is checked before any point, points come back with their folders, and
a node removed mid-run costs no point (its points run again elsewhere)."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from ray.cluster_utils import Cluster

from conftest import write_space
from executor_common import SPACE, assert_points_with_logs, dse_command, stored


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A head without CPUs (so no point runs beside the driver's GCS) and two
    worker nodes of 2 CPUs, each with its own scratch folder."""
    scratch = tmp_path_factory.mktemp("ray-nodes")
    cluster = Cluster(initialize_head=True, head_node_args=dict(num_cpus=0, include_dashboard=False))
    nodes = {}
    try:
        for name in ("a", "b"):
            nodes[name] = cluster.add_node(num_cpus=2, env_vars={"EDALIZE_DSE_SCRATCH": str(scratch / name)})
        cluster.wait_for_nodes()
        cluster.scratch = scratch
        cluster.named = nodes
        yield cluster
    finally:
        cluster.shutdown()


def test_a_node_without_sta_stops_the_run_naming_it(cluster, tmp_path, platform_dir, tools):
    # The node's PATH holds this Python's folder only: no 'sta' on it.
    bare = cluster.add_node(num_cpus=2, env_vars={"PATH": str(Path(sys.executable).parent)})
    try:
        cluster.wait_for_nodes()
        space = write_space(tmp_path, SPACE)
        out = tmp_path / "out"
        run = subprocess.run(
            dse_command(space, out, "--executor", "ray", "--ray-address", cluster.address),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 2, run.stderr
        error = run.stderr.strip().splitlines()[-1]
        assert f"ray node {bare.node_id[:12]}" in error and "OpenSTA ('sta') not found" in error, error
        for good in cluster.named.values():  # only the bad node is named
            assert good.node_id[:12] not in error
        # Refused before the store is opened (the nodes make the run identity): nothing is written.
        assert not (out / "dse.sqlite").exists() and not (out / "points").exists()
    finally:
        cluster.remove_node(bare)


def test_eight_points_on_two_nodes_come_back_with_their_logs(cluster, tmp_path, platform_dir, tools):
    space = write_space(tmp_path, SPACE)
    out = tmp_path / "out"
    run = subprocess.run(
        dse_command(space, out, "--executor", "ray", "--ray-address", cluster.address),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    rows = stored(out)
    assert len(rows) == 8 and len({r[0] for r in rows}) == 8
    assert {r[2] for r in rows} == {1}
    assert_points_with_logs(out, rows)
    # Both nodes were checked, and their scratch folders are left empty.
    log = (out / "controller.log").read_text()
    assert "ray: 2 node(s) checked" in log
    for name in ("a", "b"):
        assert not list((cluster.scratch / name).glob("edalize-dse-point-*"))


def test_a_node_removed_mid_run_loses_no_point(cluster, tmp_path, platform_dir, tools):
    space = write_space(tmp_path, SPACE)
    out = tmp_path / "out"
    driver = subprocess.Popen(
        dse_command(space, out, "--executor", "ray", "--ray-address", cluster.address),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # A point is running on node a when its scratch folder holds a point folder.
        deadline = time.monotonic() + 300
        while not list((cluster.scratch / "a").glob("edalize-dse-point-*")):
            assert driver.poll() is None and time.monotonic() < deadline, "no point started on node a"
            time.sleep(0.2)
        cluster.remove_node(cluster.named.pop("a"), allow_graceful=False)
        stdout, stderr = driver.communicate(timeout=600)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == 0, stderr
    rows = stored(out)
    assert len(rows) == 8 and len({r[0] for r in rows}) == 8, rows
    retried = [r for r in rows if r[2] > 1]
    assert retried, "no point was started again after its node was removed"
    assert_points_with_logs(out, rows)
    assert "lost (" in (out / "controller.log").read_text()
