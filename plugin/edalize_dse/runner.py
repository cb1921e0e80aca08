"""Running one tool step of one evaluation: its own log file, a timeout, and a
failure that carries the step name, the reason and the log's tail."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from edalize_dse.errors import ToolFailure


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
    (the whole process group is killed, so no tool is left running)."""
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "wb") as out:
        try:
            if shutil.which(cmd[0]) is None:
                raise FileNotFoundError(cmd[0])
            proc = subprocess.Popen(_tied_to_parent(cmd), cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        except FileNotFoundError:
            raise ToolFailure(step, f"executable '{cmd[0]}' not found", log) from None
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise ToolFailure(step, f"timed out after {timeout:g} s", log, tail(log)) from None
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM): take the tool down with us.
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    if code != 0:
        # The tool's own first error line is the reason; the exit status alone says nothing.
        error = first_error(log)
        reason = f"{error} (exit status {code})" if error else f"exited with status {code}"
        raise ToolFailure(step, reason, log, tail(log))
    return time.perf_counter() - start
