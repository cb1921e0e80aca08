"""Running one tool step of one evaluation: its own log file, a timeout, and a
failure that carries the step name, the reason and the log's tail."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from edalize_dse.errors import ToolFailure

# Process groups of the tools running now (one per step, started in its own session),
# so that a stopping run (Ctrl-C, SIGTERM) can kill every tool at once, grandchildren
# such as yosys-abc included, instead of waiting for each worker's tool to end.
_running_groups: set[int] = set()
_groups_lock = threading.Lock()
_stopping = threading.Event()

# Signals by which someone (a user, the OOM killer, a batch system) ends a process: the
# tool did not fail on the design. A crash signal (SIGSEGV, SIGABRT, ...) is the tool's
# own failure on this input and is recorded as such.
_KILL_SIGNALS = {signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT}


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


# A failed tool on a file system with less free space than this failed for want of it.
LOW_DISK_BYTES = 1 << 20


def _disk_full(folder) -> str | None:
    """Why a tool that failed in ``folder`` may have failed for the disk's sake, or None."""
    try:
        fs = os.statvfs(folder)
    except OSError:
        return None
    free, size = fs.f_bavail * fs.f_frsize, fs.f_blocks * fs.f_frsize
    if free < min(LOW_DISK_BYTES, size // 10):
        return f"with only {free // 1024} KiB free on the disk of {folder}: no space left on the device"
    return None


def _kill_group(group: int) -> None:
    """SIGKILL a tool's process group, which may be gone already: a signal that interrupts
    the wait for a tool can arrive after the kernel reaped it, before Python saw it end."""
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop_all_tools() -> None:
    """Kill every running tool's process group; tools started later are killed at once."""
    _stopping.set()
    with _groups_lock:
        groups = list(_running_groups)
    for group in groups:
        _kill_group(group)


def allow_tools() -> None:
    """Undo ``stop_all_tools`` (a new run in the same process)."""
    _stopping.clear()


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# How the tools mark their own errors: Yosys 'ERROR:' (after 'file:line: ' when
# elaborating), OpenSTA 'Error:', our STA
# script 'DSE_ERROR', Verilator '%Error', Icarus '...: error:'.
_ERROR_LINE = re.compile(r"ERROR:|^Error:?|^DSE_ERROR |^%Error|: error: ")


def first_error(path: Path) -> str | None:
    """The first line of a tool log in which the tool reports an error, if any."""
    try:
        with open(path, errors="replace") as fh:
            for line in fh:
                if _ERROR_LINE.search(line):
                    return line.strip().removeprefix("DSE_ERROR ")
    except OSError:
        pass
    return None


def _tied_to_parent(cmd: list[str]) -> list[str]:
    """Prefix ``cmd`` so the tool gets SIGKILL when its parent dies (even by
    SIGKILL): an interrupted exploration then leaves no tool writing into a
    work directory that the resumed run reuses. util-linux's setpriv sets the
    parent-death signal and execs the tool; without it the tool runs as is."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *cmd] if setpriv else cmd


def run_step(step: str, cmd: list[str], cwd: Path, log: Path, timeout: float | None) -> float:
    """Run ``cmd`` in ``cwd`` with stdout+stderr into ``log``; return its wall time in s.

    Raises ToolFailure on a missing executable, a non-zero exit or a timeout
    (the whole process group is killed, so no tool is left running); its ``kind``
    tells a failure on the design from a timeout or a machine problem."""
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "wb") as out:
        try:
            if shutil.which(cmd[0]) is None:
                raise FileNotFoundError(cmd[0])
            proc = subprocess.Popen(
                _tied_to_parent(cmd),
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except FileNotFoundError:
            # Preflight found every tool, so one gone now is the machine's doing.
            raise ToolFailure(
                step,
                f"executable '{cmd[0]}' not found (removed from PATH or uninstalled during the run?)",
                log,
                kind="environment",
            ) from None
        with _groups_lock:
            _running_groups.add(proc.pid)
        try:
            if _stopping.is_set():
                _kill_group(proc.pid)
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.wait()
            raise ToolFailure(step, f"timed out after {timeout:g} s", log, tail(log), kind="timeout") from None
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM): take the tool down with us.
            _kill_group(proc.pid)
            proc.wait()
            raise
        finally:
            with _groups_lock:
                _running_groups.discard(proc.pid)
    if _stopping.is_set():
        raise ToolFailure(step, "stopped: the run is being interrupted", log, kind="environment")
    if code < 0 and -code in _KILL_SIGNALS:
        raise ToolFailure(
            step,
            f"killed by {_signal_name(-code)} (not by the design: the run stops, "
            "the point is evaluated again on the next run)",
            log,
            tail(log),
            kind="environment",
        )
    if code != 0:
        # The tool's own first error line is the reason; the exit status alone says nothing.
        error = first_error(log)
        status = f"exit status {code}" if code > 0 else f"crashed with {_signal_name(-code)}"
        reason = f"{error} ({status})" if error else (f"exited with status {code}" if code > 0 else status)
        full = _disk_full(cwd)
        if full:
            # A tool that could not write its outputs says nothing about the design.
            raise ToolFailure(step, f"{reason}, {full}", log, tail(log), kind="environment")
        raise ToolFailure(step, reason, log, tail(log))
    return time.perf_counter() - start
