"""Faults a user's machine meets, one test per fault of BENCHMARKS.md's fault table and
per environment failure: each ends in one clear line, loses no finished point, and
records nothing as a design failure that was not one. Real tools throughout: a hung
synthesis is Yosys blocked on a named pipe, a killed tool is a real SIGKILL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from edalize_dse.cache import RESULT_FILE, ResultCache
from edalize_dse.errors import EnvironmentFault, SpaceError
from edalize_dse.evaluate import EvaluationContext, evaluate_point
from edalize_dse.flows import get_flow
from edalize_dse.generators import get_generator
from edalize_dse.lock import LOCK_NAME, OutputFolderBusy, OutputLock
from edalize_dse.space import load_space
from edalize_dse.store import STORE_NAME, DamagedStore, Evaluation, Store

from conftest import SHARED_ORFS_DATA, find_orfs_data
from faulty_runs import (
    cli,
    fusesoc_core,
    kill_all_in,
    one_error_line,
    processes_in,
    run_config,
    start,
    synthesis_running,
    tiny_core,
    tiny_space,
    wait_for,
)

FUSESOC = str(Path(sys.executable).with_name("fusesoc"))


def rows(store_path: Path) -> list[tuple]:
    db = sqlite3.connect(store_path)
    try:
        return db.execute("SELECT point_id, status, error FROM evaluations").fetchall()
    finally:
        db.close()


@pytest.fixture
def cleanup(tmp_path):
    yield
    kill_all_in(tmp_path)


# ---- two runs on one output folder
def test_second_run_on_a_busy_output_folder_is_refused_and_sigterm_stops_the_first(
    tmp_path, platform_dir, tools, cleanup
):
    config = run_config(tmp_path, tmp_path / "out", hang=True)
    first = start(cli("run", "--config", str(config), "--no-progress"), tmp_path)
    hung = wait_for(lambda: synthesis_running(tmp_path), 120, "the first run's synthesis")
    second = subprocess.run(
        cli("run", "--config", str(config), "--no-progress"), cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    line = one_error_line(second.stderr)
    assert second.returncode == 2
    assert f"output folder {tmp_path / 'out'} is in use by another edalize-dse run (pid {first.pid} on host" in line
    # The first run is untouched by the refused one: its synthesis still runs.
    assert synthesis_running(tmp_path) == hung
    # SIGTERM: one line, and every tool (the hung pyosys included) is gone with the run.
    start_s = time.monotonic()
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 143 and time.monotonic() - start_s < 20
    assert "stopped by SIGTERM" in one_error_line(err)
    wait_for(lambda: not processes_in(tmp_path), 10, "every tool of the stopped run to end")
    assert rows(tmp_path / "out" / STORE_NAME) == []  # the interrupted point is not recorded


def test_lock_is_released_by_the_os_when_the_holder_is_killed(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from edalize_dse.lock import OutputLock; "
            f"OutputLock({str(tmp_path)!r}).acquire(); print('held', flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputFolderBusy, match=rf"pid {holder.pid} on host"):
            OutputLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    with OutputLock(tmp_path):  # no stale lock after kill -9
        assert (tmp_path / LOCK_NAME).is_file()


# ---- Ctrl-C and hung tools
def test_ctrl_c_stops_a_hung_tool_without_tool_timeout(tmp_path, platform_dir, tools, cleanup):
    config = run_config(tmp_path, tmp_path / "out", hang=True)
    run = start(cli("run", "--config", str(config), "--no-progress"), tmp_path)
    wait_for(lambda: synthesis_running(tmp_path), 120, "the hung synthesis")
    start_s = time.monotonic()
    os.killpg(run.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole foreground group
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130 and time.monotonic() - start_s < 15
    assert "interrupted; every tool was stopped" in one_error_line(err)
    wait_for(lambda: not processes_in(tmp_path), 10, "the hung tool to be killed")


def test_ctrl_c_through_fusesoc_leaves_no_orphaned_run(tmp_path, platform_dir, tools, cleanup):
    cores = fusesoc_core(tmp_path)
    fusesoc = start([FUSESOC, "--cores-root", str(cores), "run", "--target=dse", "test:fault:toggle"], tmp_path)
    wait_for(lambda: synthesis_running(tmp_path), 180, "the hung synthesis under FuseSoC")
    fusesoc.send_signal(signal.SIGINT)  # FuseSoC alone: it passes the signal on, the run stops with it
    _, err = fusesoc.communicate(timeout=60)
    assert fusesoc.returncode == 130 and "edalize-dse: interrupted" in err, err[-2000:]
    wait_for(lambda: not processes_in(tmp_path), 20, "the run and its tools to stop with FuseSoC")


def test_timed_out_point_is_not_recorded_and_is_retried_on_resume(tmp_path, platform_dir, tools, cleanup):
    config = run_config(tmp_path, tmp_path / "out", hang=True, tool_timeout=1)
    for attempt in (1, 2):
        run = subprocess.run(
            cli("run", "--config", str(config), "--no-progress"),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        # Nothing was measured, and the line says why: every point ran past the limit (README "Exit status").
        assert run.returncode == 6, run.stderr[-2000:]
        assert "1 point(s) ran past tool_timeout and were not recorded" in run.stdout, (attempt, run.stdout)
        assert "every one of the 1 point(s) evaluated ran past tool_timeout (1 s)" in one_error_line(run.stderr)
        assert rows(tmp_path / "out" / STORE_NAME) == []
        # The second run asked the same point again (it was not stored as failed).
        assert (tmp_path / "out" / "points").is_dir() and len(list((tmp_path / "out" / "points").iterdir())) == 1
    assert not processes_in(tmp_path)


# ---- environment failures are not design failures
def _context(tmp_path, flow, core):
    space = load_space(tiny_space(tmp_path))
    return EvaluationContext(space, get_generator("core", core=core), flow, tmp_path / "points", {}, "test")


def test_a_tool_missing_mid_run_stops_the_run_unrecorded(tmp_path, platform_dir, tools, monkeypatch):
    flow = get_flow("synth", cache=False)
    flow.preflight()  # sta is there when the run starts ...
    ctx = _context(tmp_path, flow, tiny_core(tmp_path / "core"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # ... and gone before the point's timing step
    with pytest.raises(EnvironmentFault, match=r"executable 'sta' not found.*re-run the same command"):
        evaluate_point({"W": 2}, ctx)


def test_a_killed_tool_stops_the_run_unrecorded(tmp_path, platform_dir, tools, cleanup):
    ctx = _context(tmp_path, get_flow("synth", cache=False), tiny_core(tmp_path / "core", hang=True))
    outcome = {}

    def evaluate():
        try:
            outcome["ev"] = evaluate_point({"W": 2}, ctx)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome["exc"] = exc

    worker = threading.Thread(target=evaluate)
    worker.start()
    os.kill(wait_for(lambda: synthesis_running(tmp_path), 60, "the synthesis"), signal.SIGKILL)
    worker.join(60)
    assert isinstance(outcome.get("exc"), EnvironmentFault), outcome
    assert "killed by SIGKILL" in str(outcome["exc"])


def test_read_only_points_folder_stops_the_run_with_one_line(tmp_path, platform_dir, tools):
    """Permission problems of the output: EROFS from a read-only mount (tests run as root,
    so a chmod would not stop a write); needs unprivileged user namespaces."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) not available")
    out = tmp_path / "out"
    (out / "points").mkdir(parents=True)
    config = run_config(tmp_path, out)
    script = (
        f"mount -t tmpfs -o ro,size=64k tmpfs {out / 'points'} || exit 77; "
        f"{sys.executable} -m edalize_dse run --config {config} --no-progress"
    )
    run = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    if run.returncode == 77:
        pytest.skip(f"cannot mount in a user namespace here: {run.stderr.strip()}")
    line = one_error_line(run.stderr)
    # A machine fault mid-run: 3 (README "Exit status"), not 2, which says nothing was started.
    assert run.returncode == 3 and "read-only file system" in line and "re-run the same command" in line
    assert rows(out / STORE_NAME) == []  # not stored as failed: a resumed run evaluates it


def test_disk_full_stops_the_run_with_one_line_and_records_no_failure(tmp_path, platform_dir, tools):
    """The output on a tiny tmpfs: the store and a point's files fill it."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) not available")
    out = tmp_path / "out"
    out.mkdir()
    config = run_config(tmp_path, out, widths=(2, 4, 8, 16, 32, 64), workers=2)
    check = (
        f"{sys.executable} -c \"import sqlite3; print('ROWS', sqlite3.connect('{out / STORE_NAME}')"
        ".execute('SELECT status, error FROM evaluations').fetchall())\""
    )
    script = (
        f"mount -t tmpfs -o size=160k tmpfs {out} || exit 77; "
        f"{sys.executable} -m edalize_dse run --config {config} --no-progress; echo RC=$?; {check}"
    )
    run = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=600)
    if "RC=" not in run.stdout:
        pytest.skip(f"cannot mount in a user namespace here: {run.stderr.strip()}")
    line = one_error_line(run.stderr)
    assert "RC=3" in run.stdout or "RC=2" in run.stdout, run.stdout
    assert "no space left on the device" in line or "disk is full" in line, line
    stored = eval(run.stdout.split("ROWS", 1)[1])  # noqa: S307 - our own print of a list of tuples
    assert all(status == "ok" for status, _ in stored), stored


# ---- the flow-result cache
def _cached_run(tmp_path, flow, core, name):
    gen = get_generator("core", core=core)
    design = gen.generate(gen.resolve({"W": 2}), tmp_path / name / "rtl")
    return flow.run(design, {}, tmp_path / name / "synth")


def test_a_damaged_cache_entry_is_a_miss_and_is_rewritten(tmp_path, platform_dir, tools, caplog):
    cache_dir = tmp_path / "cache"
    flow = get_flow("synth", cache=True, cache_dir=str(cache_dir))
    flow.preflight()
    core = tiny_core(tmp_path / "core")
    metrics, timings = _cached_run(tmp_path, flow, core, "first")
    assert not timings.get("cache_hit")
    for damage in ("partial_metrics", "garbled_json", "no_metrics_key", "report_truncated"):
        # The run's result entry (the cache keeps one per step: the netlist's, and STA's with every metric).
        (entry,) = [
            p.parent for p in cache_dir.glob(f"*/*/{RESULT_FILE}") if "sta.log" in json.loads(p.read_text())["reports"]
        ]
        result = json.loads((entry / RESULT_FILE).read_text())
        if damage == "partial_metrics":  # once stored 'ok' without power
            result["metrics"] = {k: v for k, v in result["metrics"].items() if not k.startswith("power")}
            (entry / RESULT_FILE).write_text(json.dumps(result))
        elif damage == "garbled_json":
            (entry / RESULT_FILE).write_text(json.dumps(result)[:40])
        elif damage == "no_metrics_key":  # once a KeyError('metrics')
            del result["metrics"]
            (entry / RESULT_FILE).write_text(json.dumps(result))
        else:
            report = entry / result["reports"][0]
            report.write_bytes(report.read_bytes()[:10])
        caplog.clear()
        again, timings = _cached_run(tmp_path, flow, core, f"{damage}-1")
        assert not timings.get("cache_hit"), damage  # a miss: the tools ran again ...
        assert again["power_mw"] == metrics["power_mw"] and again["area_um2"] == metrics["area_um2"]
        assert len([r for r in caplog.records if "cache entry" in r.message and "unusable" in r.message]) == 1
        _, timings = _cached_run(tmp_path, flow, core, f"{damage}-2")
        assert timings.get("cache_hit"), damage  # ... and rewrote the entry whole
        assert not list(cache_dir.glob("*/.*"))  # no temporary or removed entries left behind


# ---- the store
def _good_store(path: Path) -> None:
    store = Store(path)
    store.add(
        Evaluation(
            point_id="abc",
            params={"W": 2},
            status="ok",
            qor={"area_um2": 1.0},
            strategy="t",
            started_at="s",
            finished_at="f",
        )
    )
    store.close()


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbled_header", "garbled_pages"])
def test_a_damaged_store_is_reported_and_never_overwritten(tmp_path, damage):
    path = tmp_path / STORE_NAME
    _good_store(path)
    data = path.read_bytes()
    if damage == "empty":
        data = b""
    elif damage == "truncated":
        data = data[: len(data) // 2 + 100]
    elif damage == "garbled_header":
        data = b"\x00garbage garbage" + data[16:]
    else:
        data = data[:100] + bytes(range(256)) * 4 + data[1124:]
    path.write_bytes(data)
    with pytest.raises(DamagedStore) as err:
        Store(path)
    message = str(err.value)
    assert str(path) in message and f"edalize-dse recover {tmp_path}" in message and "another --output" in message
    assert "\n" not in message
    assert path.read_bytes() == data  # untouched
    # The recipe the message gives works (SQLite's own .recover fails on Debian's sqlite3 3.40).
    run = subprocess.run(cli("recover", str(tmp_path)), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "recovered" in run.stdout, run.stdout + run.stderr
    assert (tmp_path / f"{STORE_NAME}.damaged").read_bytes() == data
    store = Store(path)
    kept = [e.point_id for e in store.evaluations()]
    store.close()
    assert kept == (["abc"] if damage == "garbled_header" else kept) and set(kept) <= {"abc"}


def test_a_zero_byte_store_stops_the_run_with_one_line(tmp_path, platform_dir, tools):
    out = tmp_path / "out"
    out.mkdir()
    (out / STORE_NAME).write_bytes(b"")
    run = subprocess.run(
        cli("run", "--config", str(run_config(tmp_path, out)), "--no-progress"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = one_error_line(run.stderr)
    assert run.returncode == 2 and "the store is empty (0 bytes" in line and str(out / STORE_NAME) in line
    assert (out / STORE_NAME).read_bytes() == b"" and not (out / "points").exists()


def test_a_row_that_does_not_read_is_a_damaged_store_and_recover_keeps_the_rest(tmp_path):
    """A valid SQLite file with one garbled JSON field: exit 2 naming the row, not an
    internal error; ``recover`` keeps every other row and the report reads them."""
    out = tmp_path / "out"
    store = Store(out / STORE_NAME)
    store.record_identity({"space": "x"})
    for i in range(3):
        store.add(
            Evaluation(
                point_id=f"p{i}",
                params={"W": 2 + i},
                status="ok",
                qor={"area_um2": 1.0 + i},
                strategy="t",
                started_at="s",
                finished_at="f",
            )
        )
    store.close()
    db = sqlite3.connect(out / STORE_NAME)
    db.execute("UPDATE evaluations SET qor = '{not json' WHERE point_id = 'p1'")
    db.commit()
    db.close()
    space = tiny_space(tmp_path, widths=(2, 3, 4))
    run = subprocess.run(cli("report", str(out), "--space", str(space)), capture_output=True, text=True, timeout=120)
    line = one_error_line(run.stderr)
    assert run.returncode == 2 and "row 2 (point p1) cannot be read" in line and "edalize-dse recover" in line
    run = subprocess.run(cli("recover", str(out)), capture_output=True, text=True, timeout=120)
    assert (
        run.returncode == 0 and "recovered 2 evaluation(s)" in run.stdout and "1 row(s) could not be read" in run.stdout
    ), run.stdout + run.stderr
    assert (out / f"{STORE_NAME}.damaged").is_file()
    store = Store(out / STORE_NAME)
    assert [e.point_id for e in store.evaluations()] == ["p0", "p2"] and store.recorded_identity() == {"space": "x"}
    store.close()
    assert (
        subprocess.run(
            cli("report", str(out), "--space", str(space)), capture_output=True, text=True, timeout=120
        ).returncode
        == 0
    )


def test_an_internal_error_prints_where_its_details_are(tmp_path):
    """A bug of ours (here: the summary raises TypeError): not a crash, one line and a log."""
    out = tmp_path / "out"
    _good_store(out / STORE_NAME)
    space = tiny_space(tmp_path)
    code = (
        "import sys; from edalize_dse import cli, report\n"
        "def broken(*args): raise TypeError('a bug of ours')\n"
        "report.summary_text = broken\n"
        f"sys.exit(cli.main(['report', {str(out)!r}, '--space', {str(space)!r}]))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    line = one_error_line(run.stderr)
    assert run.returncode == 70 and "internal error TypeError: a bug of ours" in line
    log = Path(line.split("details in ")[1].split(";")[0])
    assert log.parent == out and "Traceback" in log.read_text()


# ---- bad options
@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("output", "<file>", "option 'output' names a file, not a folder"),
        ("output", "<file>/sub", "option 'output' lies under"),
        ("cache_dir", "<file>", "option 'cache_dir' names a file, not a folder"),
        ("workers", "2", "option 'workers' must be an integer, got '2' (str)"),
    ],
)
def test_bad_options_are_one_line_before_any_tool(tmp_path, option, value, expected):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    config = json.loads(run_config(tmp_path, tmp_path / "out").read_text())
    group = next(g for g, opts in config.items() if option in opts) if option != "workers" else "executor"
    config.setdefault(group, {})[option] = value.replace("<file>", str(afile))
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(config))
    run = subprocess.run(
        cli("run", "--config", str(path), "--no-progress"), capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 2 and expected in one_error_line(run.stderr)
    assert afile.read_text() == "not a folder"


# ---- bad space files
def _space_with(tmp_path, extra: str = "", high: str = "8") -> Path:
    path = tmp_path / "space.yml"
    path.write_text(
        "parameters:\n"
        f"  x: {{layer: hardware, type: int, low: 1, high: {high}, default: 2}}\n"
        "  y: {layer: hardware, type: int, low: 0, high: 4, default: 0}\n" + extra
    )
    return path


def test_an_int_range_up_to_10_12_is_not_listed(tmp_path):
    from edalize_dse.strategies import make_strategy

    space = load_space(_space_with(tmp_path, high="1000000000000"))
    assert len(space.parameters["x"].values()) == 10**12
    for name in ("random", "sobol", "nsga2"):
        points = make_strategy(name, space, 0).ask(3)
        assert len(points) == 3 and all(space.is_valid(p) for p in points)


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("  x: {layer: hardware, type: int, low: 1, high: 3, default: 2}\n", "key 'x' is given twice (lines 2 and 4)"),
        ("constraints: ['x / y > 1']\n", "cannot be evaluated at the default point: division by zero"),
        ("constraints: ['log2(y) > 1']\n", "cannot be evaluated at the default point: math domain error"),
        ("constraints: ['x ** 10**10 > 1']\n", "2 ** 10000000000 is too large"),
        # 1 at the default point (x = 1 there), too large at x's other end: refused, not half the space dropped.
        ("constraints: ['y ** 10**10 >= 0']\n", "overflows at y=4: 4 ** 10000000000 is too large"),
        ("constraints: ['" + " + ".join(["x"] * 2000) + " > 1']\n", "is too long"),
        ("constraints: ['" + " + ".join(["x"] * 300) + " > 1']\n", "terms is too large"),
    ],
)
def test_bad_constraints_and_keys_are_one_line_at_once(tmp_path, extra, expected):
    start_s = time.monotonic()
    with pytest.raises(SpaceError, match=expected.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        load_space(_space_with(tmp_path, extra))
    assert time.monotonic() - start_s < 1


def test_a_space_file_that_is_not_text_is_one_line(tmp_path):
    path = tmp_path / "space.yml"
    for data, expected in (
        (bytes(range(256)), "is a binary file"),
        ("name: café\n".encode("latin-1"), "not UTF-8"),
        (b"", "the file is empty"),
    ):
        path.write_bytes(data)
        run = subprocess.run(cli("check-space", str(path)), capture_output=True, text=True, timeout=120)
        assert run.returncode == 2 and expected in one_error_line(run.stderr)


# ---- a newcomer's `make test`: ORFS reference data from a real checkout
def test_orfs_reference_data_is_found_in_flow_home_else_shared_else_skipped(tmp_path):
    if not (SHARED_ORFS_DATA / "variables.yaml").is_file():
        pytest.skip(f"no ORFS reference data to build a checkout from ({SHARED_ORFS_DATA})")
    checkout = tmp_path / "OpenROAD-flow-scripts"
    (checkout / "flow" / "scripts").mkdir(parents=True)
    shutil.copyfile(SHARED_ORFS_DATA / "variables.yaml", checkout / "flow" / "scripts" / "variables.yaml")
    (checkout / "flow" / "designs" / "asap7" / "gcd").mkdir(parents=True)
    shutil.copyfile(
        SHARED_ORFS_DATA / "asap7" / "gcd" / "rules-base.json",
        checkout / "flow" / "designs" / "asap7" / "gcd" / "rules-base.json",
    )
    nowhere = tmp_path / "no-shared"
    for flow_home in (checkout, checkout / "flow"):  # the checkout, or its 'flow' folder as ORFS names it
        found = find_orfs_data({"FLOW_HOME": str(flow_home)}, shared=nowhere)
        assert found.variables == checkout / "flow" / "scripts" / "variables.yaml"
        assert found.rules("gcd").is_file()
    assert find_orfs_data({}, shared=SHARED_ORFS_DATA).variables == SHARED_ORFS_DATA / "variables.yaml"
    reason = find_orfs_data({"FLOW_HOME": str(tmp_path / "empty")}, shared=nowhere)
    assert isinstance(reason, str) and "set FLOW_HOME" in reason
    # And a whole run of the ORFS-data tests from that checkout, with no ../shared: they pass or skip.
    env = {**os.environ, "FLOW_HOME": str(checkout / "flow")}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(Path(__file__).parent / "test_orfs_flow.py") + "::test_metadata_of_a_finished_run",
            str(Path(__file__).parent / "test_synth_knobs_cache.py")
            + "::test_capital_knobs_and_orfs_counterparts_are_orfs_variables",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert "error" not in run.stdout.splitlines()[-1]


# ---- output files and cache entries
def test_an_output_file_is_replaced_whole_or_not_at_all(tmp_path):
    """report.html on a disk that fills while it is written: the earlier copy stays whole
    and no temporary file is left (needs unprivileged user namespaces for the tmpfs)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) not available")
    out = tmp_path / "out"
    out.mkdir()
    script = f"""
import errno, sys
from pathlib import Path
from edalize_dse import report_html
from edalize_dse.space import load_space
from edalize_dse.store import Evaluation
out = Path({str(out)!r})
space = load_space({str(tiny_space(tmp_path))!r})
evs = [Evaluation(point_id=f"p{{i}}", params={{"W": 2}}, status="ok", qor={{"area_um2": 1.0 + i, "fmax_mhz": 9.0}},
                  id=i + 1, log_tail="x" * 20000, error="e" * 20000) for i in range(150)]
report_html.write(out, space, evs[:1])
before = (out / "report.html").read_bytes()
try:
    report_html.write(out, space, evs)
except OSError as exc:
    assert exc.errno == errno.ENOSPC, exc
    assert (out / "report.html").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["report.html"], list(out.iterdir())
    print("KEPT")
else:
    print("FITTED")
"""
    (tmp_path / "fill.py").write_text(script)
    run = subprocess.run(
        [
            "unshare",
            "-rm",
            "sh",
            "-c",
            f"mount -t tmpfs -o size=8m tmpfs {out} || exit 77; {sys.executable} {tmp_path / 'fill.py'}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if run.returncode == 77:
        pytest.skip(f"cannot mount in a user namespace here: {run.stderr.strip()}")
    assert run.returncode == 0 and "KEPT" in run.stdout, run.stdout + run.stderr[-3000:]


def test_a_cache_entry_that_is_a_file_is_a_miss_and_leaves_nothing_behind(tmp_path):
    cache = ResultCache(tmp_path / "cache")
    key = "ab" + "0" * 62
    entry = tmp_path / "cache" / key[:2] / key
    entry.parent.mkdir(parents=True)
    entry.write_text("not a folder")
    assert cache.get(key) is None
    assert list(entry.parent.iterdir()) == []  # neither the file nor a '.removed-PID' copy


# ---- command line
def test_a_usage_error_is_one_line(tmp_path):
    for args, words in (
        (["run", "--budget", "x"], "argument --budget: invalid int value: 'x'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["compare"], "the following arguments are required: old, new"),
    ):
        run = subprocess.run(cli(*args), capture_output=True, text=True, timeout=60)
        line = one_error_line(run.stderr)
        assert run.returncode == 2 and words in line and "--help" in line, line


def test_a_comment_edit_in_the_space_file_keeps_the_results(tmp_path, platform_dir, tools):
    out = tmp_path / "out"
    config = run_config(tmp_path, out)
    first = subprocess.run(
        cli("run", "--config", str(config), "--no-progress"), cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert first.returncode == 0, first.stderr[-2000:]
    space = tmp_path / "space.yml"
    space.write_text("# explored for the W sweep\n" + space.read_text().replace("goal: min}", "goal: min}  # area"))
    again = subprocess.run(
        cli("run", "--config", str(config), "--no-progress"), cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0 and "0 evaluation(s) run now, 1 resumed" in again.stdout, again.stderr[-2000:]
    # A change of what a point is (the parameter's values) is still refused.
    space.write_text(space.read_text().replace("choices: [2]", "choices: [2, 3]"))
    changed = subprocess.run(
        cli("run", "--config", str(config), "--no-progress"), cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert changed.returncode == 2 and "changed: space file" in one_error_line(changed.stderr)
