"""Output files written whole or not at all: each is written to a temporary file
beside it and renamed into place, so a full disk or a killed run leaves the previous
copy (or none), never a truncated one that a CI job or a browser would read."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

# mkstemp makes owner-only files; an output file gets the mode a plain open() would give it.
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def replacing(path):
    """Yield a temporary path beside ``path``; it replaces ``path`` when the block ends
    without an exception, and is removed otherwise."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text(path, text: str) -> Path:
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
