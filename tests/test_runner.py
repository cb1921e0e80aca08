"""One tool step: logs, failures, timeouts, and no tool outliving a killed run."""

import os
import signal
import subprocess
import sys
import time

import pytest

from edalize_dse.errors import ToolFailure
from edalize_dse.runner import run_step


def test_success_logs_output(tmp_path):
    seconds = run_step("echo", ["sh", "-c", "echo hello"], tmp_path, tmp_path / "echo.log", timeout=30)
    assert seconds >= 0 and (tmp_path / "echo.log").read_text() == "hello\n"


def test_failure_carries_status_and_log_tail(tmp_path):
    with pytest.raises(ToolFailure) as err:
        run_step("synth", ["sh", "-c", "echo broken netlist; exit 3"], tmp_path, tmp_path / "s.log", timeout=30)
    assert err.value.step == "synth" and "status 3" in err.value.reason
    assert "broken netlist" in err.value.log_tail


def test_missing_executable(tmp_path):
    with pytest.raises(ToolFailure, match="executable 'no-such-tool-xyz' not found"):
        run_step("sta", ["no-such-tool-xyz"], tmp_path, tmp_path / "x.log", timeout=30)


def test_timeout_kills_the_process_group(tmp_path):
    start = time.time()
    with pytest.raises(ToolFailure, match="timed out after 1 s"):
        run_step("synth", ["sh", "-c", "sleep 30 & sleep 30"], tmp_path, tmp_path / "t.log", timeout=1)
    assert time.time() - start < 10


def _alive(marker: str) -> bool:
    return subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0


def test_tool_dies_with_a_killed_exploration(tmp_path):
    seconds = f"7{os.getpid() % 1000:03d}.5"
    marker = f"sleep {seconds}"
    script = (
        f"from edalize_dse.runner import run_step; "
        f"run_step('x', ['sleep', '{seconds}'], '{tmp_path}', '{tmp_path / 'x.log'}', None)"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    for _ in range(100):
        if _alive(marker):
            break
        time.sleep(0.05)
    assert _alive(marker)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(100):
        if not _alive(marker):
            break
        time.sleep(0.05)
    assert not _alive(marker)


def test_a_stop_after_the_tool_was_reaped_is_not_an_error():
    # A Ctrl-C can interrupt the wait for a tool after the kernel reaped it: killing its
    # process group then finds no process, and that is the stop going as planned.
    from edalize_dse.runner import _kill_group

    tool = subprocess.Popen(["true"], start_new_session=True)
    tool.wait()
    with pytest.raises(ProcessLookupError):
        os.killpg(tool.pid, signal.SIGKILL)
    _kill_group(tool.pid)
