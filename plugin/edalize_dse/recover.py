"""``edalize-dse recover OUTPUT``: the readable rows of a damaged store, as a new store.

SQLite's own ``.recover`` cannot be relied on across versions (the sqlite3 3.40 shell
Debian ships fails with "SQL logic error" on every file), so rows are read here one
at a time through Python's sqlite3, by id, from a copy of the file: a damaged page
costs the rows on it, never the rest. A garbled file header is restored on the copy
first. The damaged file is set aside (``dse.sqlite.damaged``, ``.damaged.2``, ...),
never deleted, and the run's identity is kept when it is readable, so the same
command resumes and evaluates only the lost points again."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edalize_dse.errors import DseError
from edalize_dse.lock import OutputLock
from edalize_dse.store import EVALUATION_COLUMNS, SQLITE_HEADER, STORE_NAME, Store, aside, row_evaluation

# Ids probed past the last one found when the table's own list of ids cannot be read.
_PROBE_PAST = 1000


@dataclass
class Recovered:
    kept: int  # rows copied into the new store
    lost: int | None  # rows that could not be read (None: unknown, the list of ids itself was damaged)
    identity: bool  # the run's identity was readable (else a resumed run needs --restart)
    damaged: Path  # where the damaged file now is
    store: Path


def recover(output: Path) -> Recovered:
    path = Path(output) / STORE_NAME
    if not path.is_file():
        raise DseError(f"{path} not found: '{output}' is not an edalize-dse output folder")
    with OutputLock(output), tempfile.TemporaryDirectory(prefix="edalize-dse-recover-") as tmp:
        copy = Path(tmp) / STORE_NAME
        shutil.copyfile(path, copy)
        _mend_header(copy)
        identity, evaluations, lost = _read(copy) if copy.stat().st_size else (None, [], 0)
        fresh = Path(tmp) / "fresh.sqlite"
        store = Store(fresh)
        try:
            if identity is not None:
                store.record_identity(identity)
            for ev in evaluations:
                ev.id = None
                store.add(ev)
        finally:
            store.close()
        damaged = aside(path, "damaged")
        path.replace(damaged)
        shutil.copyfile(fresh, path)
    return Recovered(len(evaluations), lost, identity is not None, damaged, path)


def _mend_header(copy: Path) -> None:
    """Make the copy's header agree with what is left of the file: the magic string
    restored, the file cut to whole pages and the header's page count set to them (a
    count past the end makes SQLite refuse every page, the intact ones included)."""
    size = copy.stat().st_size
    if size < 100:
        return
    with open(copy, "r+b") as fh:
        header = fh.read(100)
        fh.seek(0)
        fh.write(SQLITE_HEADER)
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        if page_size < 512 or page_size & (page_size - 1):
            page_size = 4096  # a garbled header: SQLite's default
            fh.seek(16)
            fh.write(page_size.to_bytes(2, "big"))
        pages = size // page_size
        fh.truncate(pages * page_size)
        fh.seek(28)
        fh.write(pages.to_bytes(4, "big"))


def _read(copy: Path):
    db = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        identity = None
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'identity'").fetchone()
            identity = json.loads(row[0]) if row else None
        except (sqlite3.DatabaseError, ValueError):
            pass
        ids = _ids(db)
        evaluations, lost = [], 0
        for i in ids:
            try:
                row = db.execute(
                    f"SELECT {', '.join(EVALUATION_COLUMNS)} FROM evaluations WHERE id = ?", (i,)
                ).fetchone()
                if row is not None:
                    evaluations.append(row_evaluation(row))
            except (sqlite3.DatabaseError, ValueError, TypeError):
                lost += 1
        return identity, evaluations, lost if ids.listed else None
    finally:
        db.close()


class _Ids(list):
    listed = True  # the ids came from the table itself (else: probed)


def _ids(db) -> _Ids:
    try:
        return _Ids(r[0] for r in db.execute("SELECT id FROM evaluations ORDER BY id"))
    except sqlite3.DatabaseError:
        pass
    # The id list crosses a damaged page: probe every id up to past the highest one known.
    top = 0
    try:
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'evaluations'").fetchone()
        top = int(row[0]) if row else 0
    except (sqlite3.DatabaseError, TypeError, ValueError):
        pass
    probed = _Ids(range(1, top + _PROBE_PAST + 1))
    probed.listed = False
    return probed
