"""Telling the machine's failures from the design's, and reporting both in one line.

A point is recorded ``failed`` only when a tool failed on that point. A full disk,
a folder without write permission, a tool removed or killed during the run, a store
that cannot be written: these say nothing about the design, so the run stops with
one line (``EnvironmentFault``) and the point stays unrecorded for the next run.

An error that is neither (a bug of ours) is written with its traceback to a log
file, and the user gets one line naming that file."""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
import traceback
from datetime import datetime, timezone
from pathlib import Path

from edalize_dse.errors import EnvironmentFault

# errno values that describe the machine, not the point being evaluated.
ENVIRONMENT_ERRNOS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.EIO: "input/output error",
    errno.EMFILE: "too many open files",
    errno.ENFILE: "too many open files in the system",
    errno.ENOMEM: "out of memory",
    errno.EFBIG: "file too large",
}

INTERNAL_ERROR_LOG = "dse-internal-error.log"


def environment_problem(exc: BaseException) -> str | None:
    """One line describing ``exc`` if it is a machine problem, else None."""
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{ENVIRONMENT_ERRNOS[exc.errno]}{where}"
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc)
        for marker in (
            "disk is full",
            "disk I/O error",
            "readonly database",
            "unable to open database",
            "attempt to write a readonly",
        ):
            if marker in text:
                return f"the SQLite store cannot be written: {text}"
    return None


def as_environment_fault(exc: BaseException, doing: str) -> EnvironmentFault | None:
    """``exc`` as the run-stopping one line, or None when it is not a machine problem."""
    problem = environment_problem(exc)
    if problem is None:
        return None
    return EnvironmentFault(
        f"{doing}: {problem}; the run stopped without recording the points in flight, "
        "fix the machine and re-run the same command to resume"
    )


def log_internal_error(exc: BaseException, output: str | os.PathLike | None = None) -> Path:
    """Write ``exc``'s traceback next to the run's results (else to the temporary
    folder); return the file, for the one line the user sees."""
    text = (
        f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} edalize-dse internal error\n"
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        + "\n"
    )
    candidates = []
    if output and Path(output).is_dir():
        candidates.append(Path(output) / INTERNAL_ERROR_LOG)
    candidates.append(Path(tempfile.gettempdir()) / f"edalize-dse-{os.getpid()}-{INTERNAL_ERROR_LOG}")
    for path in candidates:
        try:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(text)
            return path
        except OSError:
            continue
    return candidates[-1]
