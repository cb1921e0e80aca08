"""executor dask on a real Dask cluster of worker processes (no memory shared
with the driver, which runs as its own process): nodes checked first, points
written in place (shared_fs) or shipped back, a worker process killed mid-point
costs no point. The job scripts
dask-jobqueue would submit to Slurm and LSF carry the run's options."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import dask
import dask_jobqueue  # noqa: F401  (its configuration defaults, set over below)
import pytest
from distributed import Client, LocalCluster

from edalize_dse.executors.dask_backend import jobqueue_cluster
from edalize_dse.explore import RunConfig
from edalize_dse.flows import get_flow
from edalize_dse.identity import platform_digest

from conftest import write_space
from executor_common import SPACE, assert_points_with_logs, dse_command, stored


def local_cluster(**kwargs):
    # Allowed-failures 0: the first dead worker fails the task back to the driver, which counts the attempt.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        return LocalCluster(
            n_workers=2, threads_per_worker=2, processes=True, host="127.0.0.1", dashboard_address=None, **kwargs
        )


def test_a_worker_with_a_wrong_platform_stops_the_run_naming_it(tmp_path, platform_dir, tools):
    space = write_space(tmp_path, SPACE)
    out = tmp_path / "out"
    wrong = tmp_path / "no-platform"
    with local_cluster(env={"ASAP7_PLATFORM_DIR": str(wrong)}) as cluster:
        run = subprocess.run(
            dse_command(space, out, "--executor", "dask", "--dask-address", cluster.scheduler_address),
            capture_output=True,
            text=True,
            timeout=300,
        )
        workers = list(cluster.scheduler.workers)
    assert run.returncode == 2, run.stderr
    error = run.stderr.strip().splitlines()[-1]
    assert all(f"dask worker {w}" in error for w in workers), error
    assert f"ASAP7 platform folder {wrong}" in error and "has no lib/NLDM" in error
    # Refused before the store is opened (the nodes make the run identity): nothing is written.
    assert not (out / "dse.sqlite").exists() and not (out / "points").exists()


def test_eight_points_in_place_then_a_worker_killed_mid_point(tmp_path, platform_dir, tools):
    space = write_space(tmp_path, SPACE)
    with local_cluster() as cluster, Client(cluster) as client:
        # The workers see the driver's folder (same machine): with shared_fs they write points/ in place.
        out = tmp_path / "out"
        run = subprocess.run(
            dse_command(space, out, "--executor", "dask", "--dask-address", cluster.scheduler_address, "--shared-fs"),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stderr
        rows = stored(out)
        assert len(rows) == 8 and len({r[0] for r in rows}) == 8 and {r[2] for r in rows} == {1}
        assert_points_with_logs(out, rows)
        with sqlite3.connect(out / "dse.sqlite") as db:
            for (timings,) in db.execute("SELECT timings FROM evaluations"):
                assert "pack_s" not in json.loads(timings) and "executor_s" in json.loads(timings)
            (identity,) = db.execute("SELECT value FROM meta WHERE key = 'identity'").fetchone()
        # The driver checks no tools of its own here: the run's identity records the workers'
        # tools and cell data, so a resume after an upgrade on the nodes is refused below.
        identity = json.loads(identity)
        assert "opensta" in identity["tools"], identity["tools"]
        assert identity["platform_files"] == platform_digest([get_flow("synth")])
        identity["tools"]["opensta"] = "1.0-before-the-upgrade"
        with sqlite3.connect(out / "dse.sqlite") as db:
            db.execute("UPDATE meta SET value = ? WHERE key = 'identity'", (json.dumps(identity),))
        again = subprocess.run(
            dse_command(space, out, "--executor", "dask", "--dask-address", cluster.scheduler_address, "--shared-fs"),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert again.returncode == 2, again.stderr
        assert "tool versions" in again.stderr and "1.0-before-the-upgrade" in again.stderr, again.stderr
        assert len(stored(out)) == 8

        out = tmp_path / "killed"
        driver = subprocess.Popen(
            dse_command(space, out, "--executor", "dask", "--dask-address", cluster.scheduler_address),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 300
            busy = {}
            while not busy:  # the pid of a worker process running a point
                assert driver.poll() is None and time.monotonic() < deadline, "no point started"
                time.sleep(0.2)
                busy = {a: pid for a, (n, pid) in client.run(running_points).items() if n}
            os.kill(next(iter(busy.values())), signal.SIGKILL)
            stdout, stderr = driver.communicate(timeout=600)
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.wait()
        assert driver.returncode == 0, stderr
        rows = stored(out)
        assert len(rows) == 8 and len({r[0] for r in rows}) == 8, rows
        assert [r for r in rows if r[2] > 1], "no point was started again after its worker was killed"
        assert_points_with_logs(out, rows)
        assert "KilledWorker" in (out / "controller.log").read_text()


def running_points(dask_worker):
    return len(dask_worker.state.executing), os.getpid()


@pytest.mark.parametrize("system", ["slurm", "lsf"])
def test_batch_job_scripts_carry_the_options(tmp_path, system):
    config = RunConfig(
        space="s.yml",
        output=str(tmp_path),
        executor="dask",
        dask_cluster=system,
        dask_queue="eda",
        dask_cores=8,
        dask_memory="32GB",
        dask_walltime="02:30:00",
        cpus_per_point=2,
        dask_job_extra=["--account=chip" if system == "slurm" else "-P chip"],
        dask_job_prologue=["module load opensta"],
    )
    config.check()
    # The scheduler of this test listens on the loopback interface only.
    with dask.config.set({f"jobqueue.{system}.scheduler-options": {"host": "127.0.0.1", "dashboard_address": None}}):
        cluster = jobqueue_cluster(config)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    worker = next(line for line in script.splitlines() if "distributed.cli.dask_worker" in line)
    assert worker.startswith(sys.executable) and "tcp://127.0.0.1:" in worker
    assert "--nthreads 8" in worker and "--resources cpus=8" in worker and "--memory-limit 29.80GiB" in worker
    assert "module load opensta" in script and script.index("module load opensta") < script.index(worker)
    if system == "slurm":
        for directive in (
            "#SBATCH -p eda",
            "#SBATCH --cpus-per-task=8",
            "#SBATCH --mem=30G",
            "#SBATCH -t 02:30:00",
            "#SBATCH --account=chip",
            "#SBATCH -J edalize-dse",
        ):
            assert directive in script, script
    else:
        for directive in ("#BSUB -q eda", "#BSUB -n 8", "#BSUB -W 2:30", "#BSUB -P chip", "#BSUB -J edalize-dse"):
            assert directive in script, script
        assert "#BSUB -M 32000000" in script, script  # KB


def test_cpus_per_point_above_a_job_is_refused(tmp_path):
    config = RunConfig(
        space="s.yml", output=str(tmp_path), executor="dask", dask_cluster="slurm", dask_cores=2, cpus_per_point=4
    )
    with pytest.raises(Exception, match="cpus_per_point \\(4\\) is more than a worker job's dask_cores \\(2\\)"):
        jobqueue_cluster(config)


# A one-node Slurm cluster on this machine for the live test: its daemons and the
# driver run in a network namespace of their own, where only the loopback exists.
SLURM_CONF = """
ClusterName=dsetest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=4000 State=UNKNOWN
PartitionName=dse Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""

SLURM_RUN = """
set -u
ip link set lo up
# Slurm resolves its addresses with AI_ADDRCONFIG, which wants one address beyond 127/8.
ip addr add 10.254.0.1/32 dev lo
export SLURM_CONF={root}/slurm.conf
slurmctld -D -f "$SLURM_CONF" >{root}/slurmctld.out 2>&1 &
ctld=$!
slurmd -D -N localhost -f "$SLURM_CONF" >{root}/slurmd.out 2>&1 &
d=$!
for i in $(seq 60); do sinfo -h -o %t 2>/dev/null | grep -q idle && break; sleep 0.5; done
timeout 300 "$@"
rc=$?
kill $d $ctld
wait
exit $rc
"""


def slurm_unavailable() -> str | None:
    """Why a one-node Slurm cluster cannot run here, or None."""
    import shutil

    missing = [t for t in ("slurmctld", "slurmd", "sbatch", "sinfo", "unshare", "ip") if not shutil.which(t)]
    if missing:
        return f"{', '.join(missing)} not found (Debian packages slurm-wlm, util-linux, iproute2)"
    if os.geteuid() != 0:
        return "slurmd and a private network namespace need root"
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"no private network namespace for the daemons: unshare --net: {probe.stderr.strip()}"
    return None


def test_live_slurm_cluster_runs_the_points(tmp_path, platform_dir, tools):
    reason = slurm_unavailable()
    if reason:
        pytest.skip(f"live Slurm test: {reason}")
    root = tmp_path / "slurm"
    for sub in ("state", "spool"):
        (root / sub).mkdir(parents=True)
    (root / "slurm.conf").write_text(SLURM_CONF.format(root=root))
    (root / "run.sh").write_text(SLURM_RUN.format(root=root))
    space = write_space(tmp_path, SPACE)
    out = tmp_path / "out"
    command = [
        *dse_command(
            space,
            out,
            "--executor",
            "dask",
            "--dask-cluster",
            "slurm",
            "--dask-queue",
            "dse",
            "--dask-cores",
            "2",
            "--dask-memory",
            "2GB",
            "--dask-walltime",
            "00:10:00",
        )
    ]
    command[command.index("--budget") + 1] = "4"
    command[command.index("--workers") + 1] = "2"
    run = subprocess.run(
        ["unshare", "--net", "bash", str(root / "run.sh"), *command],
        capture_output=True,
        text=True,
        timeout=420,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr + (root / "slurmctld.log").read_text()[-2000:]
    rows = stored(out)
    assert len(rows) == 4 and len({r[0] for r in rows}) == 4
    assert_points_with_logs(out, rows)
    # The points ran in a Slurm job: its output file names the worker that took them.
    job_outputs = list(tmp_path.glob("slurm-*.out"))
    assert job_outputs and "distributed.worker" in job_outputs[0].read_text()
