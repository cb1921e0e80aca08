"""Faults that are neither the design's nor a tool's: a damaged platform, stop signals
arriving together or early, FuseSoC stopped or interrupted around a run. Each ends
in one line with the exit status that names it, records nothing as a design failure,
and leaves no process behind. Real tools throughout (a hung synthesis is Yosys blocked
on a named pipe)."""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edalize_dse.errors import EnvironmentFault
from edalize_dse.evaluate import EvaluationContext, evaluate_point
from edalize_dse.flows import get_flow
from edalize_dse.generators import get_generator
from edalize_dse.lock import OutputLock
from edalize_dse.space import load_space
from edalize_dse.store import STORE_NAME

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


@pytest.fixture
def cleanup(tmp_path):
    yield
    kill_all_in(tmp_path)


def platform_copy(source: Path, folder: Path, damage: dict) -> Path:
    """A platform of links to ``source``'s files but for ``damage``: liberty file-name
    pattern -> 'truncated' (half its bytes), 'missing' or 'cut' (decompressed, then cut)."""
    (folder / "lib" / "NLDM").mkdir(parents=True)
    for child in source.iterdir():
        if child.name != "lib":
            (folder / child.name).symlink_to(child)
    for lib in (source / "lib" / "NLDM").iterdir():
        target = folder / "lib" / "NLDM" / lib.name
        how = next((h for pattern, h in damage.items() if pattern in lib.name), None)
        if how is None:
            target.symlink_to(lib)
        elif how == "truncated":
            data = lib.read_bytes()
            target.write_bytes(data[: len(data) // 2])
        elif how == "cut":  # a plain .lib cut short, as a half-copied file is
            text = gzip.decompress(lib.read_bytes()) if lib.suffix == ".gz" else lib.read_bytes()
            target.with_name(lib.name.removesuffix(".gz")).write_bytes(text[: len(text) // 3])
    return folder


def run_with_platform(tmp_path, platform: Path, space_text: str | None = None):
    out = tmp_path / "out"
    config = run_config(tmp_path, out)
    if space_text is not None:
        doc = json.loads(config.read_text())
        Path(doc["run"]["space"]).write_text(space_text)
    env = {**os.environ, "ASAP7_PLATFORM_DIR": str(platform), "EDALIZE_DSE_CACHE": str(tmp_path / "derived")}
    run = subprocess.run(
        cli("run", "--config", str(config), "--no-progress"),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return run, out


# ---- a damaged platform is the machine's problem, found before the first point
@pytest.mark.parametrize(
    "damage, expected",
    [
        ({"SEQ_RVT": "truncated"}, "SEQ_RVT_TT_nldm_220123.lib.gz is damaged: it cannot be decompressed"),
        ({"AO_RVT": "cut"}, "AO_RVT_TT_nldm_211120.lib is damaged: cut short or garbled"),
        ({"INVBUF_RVT": "missing"}, "has no lib/NLDM/asap7sc7p5t_INVBUF_RVT_TT_nldm_*.lib[.gz]"),
    ],
)
def test_a_damaged_platform_stops_the_run_before_any_point(tmp_path, platform_dir, tools, damage, expected):
    platform = platform_copy(platform_dir, tmp_path / "platform", damage)
    run, out = run_with_platform(tmp_path, platform)
    line = one_error_line(run.stderr)
    assert run.returncode == 2 and expected in line, line
    assert not out.exists()  # refused before the run: no output folder, no store, no failed rows


def test_damaged_files_of_a_flavour_the_space_uses_are_found_too(tmp_path, platform_dir, tools):
    """Only SLVT damaged: a space that explores SLVT is refused; one that does not runs."""
    platform = platform_copy(platform_dir, tmp_path / "platform", {"SEQ_SLVT": "truncated"})
    space = (
        "parameters:\n  W: {layer: hardware, type: choice, choices: [2], default: 2}\n"
        "  ASAP7_USE_VT: {layer: eda, type: choice, choices: [RVT, SLVT], default: RVT}\n"
        "objectives:\n  - {name: area_um2, goal: min}\n"
    )
    run, out = run_with_platform(tmp_path, platform, space)
    assert run.returncode == 2 and "SEQ_SLVT_TT_nldm_220123.lib.gz is damaged" in one_error_line(run.stderr)
    assert not out.exists()


def test_a_platform_damaged_mid_run_stops_the_run_unrecorded(tmp_path, platform_dir, tools, monkeypatch):
    platform = platform_copy(platform_dir, tmp_path / "platform", {})
    monkeypatch.setenv("ASAP7_PLATFORM_DIR", str(platform))
    monkeypatch.setenv("EDALIZE_DSE_CACHE", str(tmp_path / "derived"))
    flow = get_flow("synth", cache=False)
    flow.check_platform()  # whole when the run starts ...
    space = load_space(tiny_space(tmp_path))
    ctx = EvaluationContext(
        space, get_generator("core", core=tiny_core(tmp_path / "core")), flow, tmp_path / "points", {}, "test"
    )
    seq = next((platform / "lib" / "NLDM").glob("*SEQ_RVT*"))
    data = seq.read_bytes()
    seq.unlink()
    seq.write_bytes(data[: len(data) // 2])  # ... damaged before its first point
    with pytest.raises(EnvironmentFault, match=r"point \w+: liberty file .*SEQ_RVT.* is damaged.*re-run"):
        evaluate_point({"W": 2}, ctx)


def test_a_garbled_macro_liberty_is_one_short_line(tmp_path, platform_dir, tools):
    core = tiny_core(tmp_path / "core")
    lib = tmp_path / "core" / "macro.lib"
    lib.write_text("library (macro) {\n" + "  cell (M) { area : 1.0; pin (A) { direction : input; " * 400)
    core["macros"] = {"liberty": [str(lib)], "lef": []}
    out = tmp_path / "out"
    config = run_config(tmp_path, out)
    doc = json.loads(config.read_text())
    doc["flow"]["core"] = core
    config.write_text(json.dumps(doc))
    run = subprocess.run(
        cli("run", "--config", str(config), "--no-progress"), cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    line = one_error_line(run.stderr)
    assert run.returncode == 2 and f"liberty file {lib} is damaged" in line and len(line) <= 520, line
    assert not out.exists()


# ---- stop signals
def test_sigint_and_sigterm_together_end_as_the_first_one(tmp_path, platform_dir, tools, cleanup):
    """What make and a terminal do to a run: Ctrl-C, then at once a forwarded SIGTERM."""
    for trial, (first, second, status, words) in enumerate(
        [
            (signal.SIGINT, signal.SIGTERM, 130, "interrupted"),
            (signal.SIGTERM, signal.SIGINT, 143, "stopped by SIGTERM"),
            (signal.SIGINT, signal.SIGINT, 130, "interrupted"),
        ]
    ):
        config = run_config(tmp_path, tmp_path / f"out{trial}", hang=True)
        run = start(cli("run", "--config", str(config), "--no-progress"), tmp_path)
        wait_for(lambda: synthesis_running(tmp_path), 120, "the hung synthesis")
        run.send_signal(first)
        time.sleep(0.05)  # sent together, the process sees pending signals in number order, not in arrival order
        run.send_signal(second)
        _, err = run.communicate(timeout=60)
        assert run.returncode == status and words in one_error_line(err), (trial, err)
        wait_for(lambda: not processes_in(tmp_path), 10, "every tool of the stopped run to end")
        time.sleep(1)
        assert not processes_in(tmp_path)  # and no tool started after the signal


def test_an_early_ctrl_c_is_one_line_without_a_traceback(tmp_path):
    out = tmp_path / "out"
    config = run_config(tmp_path, out)
    for delay in (0.15, 0.4, 0.8):
        run = start(cli("run", "--config", str(config), "--no-progress"), tmp_path)
        time.sleep(delay)
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=60)
        assert "Traceback" not in err, (delay, err)
        # Before Python's own handler is in place the signal ends the process as it is (-2).
        assert run.returncode in (130, -signal.SIGINT), (delay, run.returncode, err)
        if run.returncode == 130:
            assert "interrupted" in one_error_line(err)


def _results(tmp_path) -> Path:
    (results,) = list(tmp_path.glob("build/*/dse/results"))
    return results


@pytest.mark.parametrize(
    "how, status, words",
    [
        ("ctrl-c", 130, "edalize-dse: interrupted"),  # the terminal's SIGINT to the whole group
        ("sigterm", 143, "edalize-dse: stopped by SIGTERM"),  # kill -TERM <fusesoc pid>
    ],
)
def test_fusesoc_stopped_around_a_run_exits_by_the_signal_and_leaves_no_orphan(
    tmp_path, platform_dir, tools, cleanup, how, status, words
):
    cores = fusesoc_core(tmp_path)
    fusesoc = start([FUSESOC, "--cores-root", str(cores), "run", "--target=dse", "test:fault:toggle"], tmp_path)
    wait_for(lambda: synthesis_running(tmp_path), 180, "the hung synthesis under FuseSoC")
    if how == "ctrl-c":
        os.killpg(fusesoc.pid, signal.SIGINT)
    else:
        fusesoc.send_signal(signal.SIGTERM)
    _, err = fusesoc.communicate(timeout=60)
    assert fusesoc.returncode == status, err[-3000:]
    assert words in err and "Traceback" not in err, err[-3000:]
    wait_for(lambda: not processes_in(tmp_path), 20, "the run and its tools to stop with FuseSoC")
    with OutputLock(_results(tmp_path)):  # the next run is not refused as "in use"
        pass


def test_fusesoc_exits_with_the_runs_status(tmp_path, platform_dir, tools):
    """Bad input (2) before the run and a run whose every point timed out (6): FuseSoC's
    own status, with the run's one line, and no usage block or traceback."""
    cores = fusesoc_core(tmp_path)
    cmd = [FUSESOC, "--cores-root", str(cores), "run", "--target=dse", "test:fault:toggle"]
    run = subprocess.run(cmd + ["--tool_timeout", "1"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert run.returncode == 6, run.stdout[-2000:] + run.stderr[-2000:]
    assert "ran past tool_timeout (1 s) and none was recorded" in run.stderr
    db = sqlite3.connect(_results(tmp_path) / STORE_NAME)
    assert db.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0] == 0
    db.close()
    run = subprocess.run(cmd + ["--budget", "0"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert run.returncode == 2 and "edalize-dse: error: " in run.stderr and "budget" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
