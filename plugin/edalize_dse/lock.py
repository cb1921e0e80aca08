"""One writer per output folder.

A run holds an exclusive ``flock`` on ``<output>/.dse.lock`` for as long as it runs;
a second run on the same folder is refused at once with one line naming the folder
and the holder (pid, host, start time, written into the lock file). The lock belongs
to the open file: the kernel drops it when the holder exits in any way (``kill -9``
included), so a killed run never leaves a stale lock to clean up. (flock works
between processes of one machine, and on NFS through the server's lock manager.)"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path

from edalize_dse.errors import DseError

LOCK_NAME = ".dse.lock"


class OutputFolderBusy(DseError):
    """Another run writes into this output folder."""


class OutputLock:
    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> "OutputLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(_read_holder(fd))
            os.close(fd)
            raise OutputFolderBusy(
                f"output folder {self.folder} is in use by another edalize-dse run ({holder}); "
                "wait for it to finish, stop it, or give this run another --output"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        # Who holds it, for the message a second run prints.
        holder = dict(
            pid=os.getpid(), host=socket.gethostname(), since=datetime.now(timezone.utc).isoformat(timespec="seconds")
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the last descriptor drops the flock

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _read_holder(fd: int) -> dict:
    try:
        holder = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _describe(holder: dict) -> str:
    if not holder.get("pid"):
        return "a run that is just starting"
    since = f", since {holder['since']}" if holder.get("since") else ""
    return f"pid {holder['pid']} on host {holder.get('host', '?')}{since}"
