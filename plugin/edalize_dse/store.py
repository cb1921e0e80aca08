"""Persistence of an exploration: one SQLite file in the output directory.

Every evaluation is committed the moment it finishes, so a killed run loses
only the points that were still running; re-running the same command reads
the finished ones back and continues (the budget counts them)."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from edalize_dse.errors import DseError

STORE_NAME = "dse.sqlite"

_META_TABLE = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
)"""
_EVALUATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS evaluations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    point_id      TEXT NOT NULL,          -- hash of the canonical parameter JSON
    params        TEXT NOT NULL,          -- JSON: parameter -> value
    status        TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    qor           TEXT NOT NULL,          -- JSON: metric (unit in its name) -> value
    error         TEXT,                   -- failed: "<step>: <reason>"
    log_path      TEXT,                   -- the log of the step that failed, else the work dir
    log_tail      TEXT,
    tool_versions TEXT NOT NULL,          -- JSON: tool -> version
    timings       TEXT NOT NULL,          -- JSON: step -> wall seconds
    strategy      TEXT NOT NULL,
    round         INTEGER NOT NULL,       -- the ask() that proposed the point
    started_at    TEXT NOT NULL,          -- UTC, ISO 8601
    finished_at   TEXT NOT NULL,
    cache_hit     INTEGER NOT NULL DEFAULT 0, -- 1: the flow result came from the result cache
    fidelity      TEXT NOT NULL DEFAULT 'synth', -- the flow that produced it (synth, orfs)
    attempts      INTEGER NOT NULL DEFAULT 1, -- runs started: > 1 when its worker or node died (executors)
    violation     TEXT,                   -- ok but infeasible: the QoR constraints it breaks; NULL: feasible
    UNIQUE (point_id, fidelity)
)"""
EVALUATION_COLUMNS = (
    "id",
    "point_id",
    "params",
    "status",
    "qor",
    "error",
    "log_path",
    "log_tail",
    "tool_versions",
    "timings",
    "strategy",
    "round",
    "started_at",
    "finished_at",
    "cache_hit",
    "fidelity",
    "attempts",
    "violation",
)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class Evaluation:
    point_id: str
    params: dict
    status: str  # "ok" | "failed"
    qor: dict = field(default_factory=dict)
    error: str | None = None
    log_path: str | None = None
    log_tail: str | None = None
    tool_versions: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    strategy: str = ""
    round: int = 0
    started_at: str = ""
    finished_at: str = ""
    cache_hit: bool = False
    fidelity: str = "synth"
    attempts: int = 1  # how many times it was started (a lost worker or node starts it again)
    id: int | None = None
    violation: str | None = None  # the QoR constraints a successful point breaks (qor_constraints.violation)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def feasible(self) -> bool:
        """Succeeded and meets every QoR constraint: the only points a front may hold."""
        return self.ok and not self.violation


def row_evaluation(r) -> Evaluation:
    """An Evaluation from a row of EVALUATION_COLUMNS; ValueError or TypeError when a field
    does not read as what it holds."""
    params, qor = json.loads(r[2]), json.loads(r[4])
    tool_versions, timings = json.loads(r[8]), json.loads(r[9])
    if not all(isinstance(v, dict) for v in (params, qor, tool_versions, timings)):
        raise ValueError("a JSON field is not an object")
    if r[3] not in ("ok", "failed"):
        raise ValueError(f"status {r[3]!r}")
    return Evaluation(
        id=r[0],
        point_id=r[1],
        params=params,
        status=r[3],
        qor=qor,
        error=r[5],
        log_path=r[6],
        log_tail=r[7],
        tool_versions=tool_versions,
        timings=timings,
        strategy=r[10],
        round=int(r[11]),
        started_at=r[12],
        finished_at=r[13],
        cache_hit=bool(r[14]),
        fidelity=r[15],
        attempts=int(r[16]),
        violation=r[17],
    )


SQLITE_HEADER = b"SQLite format 3\x00"


class DamagedStore(DseError):
    """The store file exists but is not a readable edalize-dse store; it is left as it is."""

    def __init__(self, path: Path, problem: str):
        super().__init__(
            f"{path}: {problem}; the file is left untouched. 'edalize-dse recover {path.parent}' keeps every "
            "readable row and sets the damaged file aside, then the same command resumes; or give this run "
            "another --output"
        )


def aside(path: Path, suffix: str) -> Path:
    """A free name beside ``path`` for setting it aside: ``<name>.<suffix>``, else
    ``<name>.<suffix>.2``, ``.3``...; earlier ones are never overwritten."""
    candidate = path.with_name(f"{path.name}.{suffix}")
    number = 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.{suffix}.{number}")
    return candidate


def check_store_file(path: Path) -> None:
    """Refuse a store file that SQLite would misread: an empty file would silently
    become a new, empty exploration; a wrong header or a damaged page would end in
    a traceback halfway through the run."""
    if not path.exists():
        return
    if not path.is_file():
        raise DseError(f"{path} is not a file: this output folder cannot hold an edalize-dse store")
    with open(path, "rb") as fh:
        header = fh.read(len(SQLITE_HEADER))
    if not header:
        raise DamagedStore(path, "the store is empty (0 bytes: earlier results lost or the file was truncated)")
    if header != SQLITE_HEADER:
        raise DamagedStore(path, "not an SQLite database (its header is garbled)")


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        check_store_file(self.path)
        # Results arrive from worker threads; one connection behind a lock.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA synchronous=FULL")
            problems = [row[0] for row in self._db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise DamagedStore(self.path, f"the database is damaged ({problems[0]})")
            self._upgrade()
            self._db.execute(_META_TABLE)
            self._db.execute(_EVALUATIONS_TABLE)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if isinstance(exc, sqlite3.OperationalError):
                raise  # the machine's (disk full, I/O error, locked): the command line says so in one line
            raise DamagedStore(self.path, f"SQLite cannot read it ({exc})") from None
        except BaseException:
            self._db.close()
            raise

    def _upgrade(self) -> None:
        """Bring a store written by edalize-dse 0.1.0 (early builds: one result per point, no
        cache or fidelity columns) to the current table, keeping every row."""
        present = [row[1] for row in self._db.execute("PRAGMA table_info(evaluations)")]
        if "fidelity" in present:
            # Columns added since: each in place (every old row started once, and was feasible).
            if "attempts" not in present:
                self._db.execute("ALTER TABLE evaluations ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1")
            if "violation" not in present:
                self._db.execute("ALTER TABLE evaluations ADD COLUMN violation TEXT")
            return
        if not present or "fidelity" in present:
            return
        self._db.execute("BEGIN")
        self._db.execute("ALTER TABLE evaluations RENAME TO evaluations_old")
        self._db.execute(_EVALUATIONS_TABLE)
        kept = [c for c in EVALUATION_COLUMNS if c in present]
        self._db.execute(f"INSERT INTO evaluations ({', '.join(kept)}) SELECT {', '.join(kept)} FROM evaluations_old")
        self._db.execute("DROP TABLE evaluations_old")
        self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- run identity
    def meta(self) -> dict:
        with self._lock:
            return {k: json.loads(v) for k, v in self._db.execute("SELECT key, value FROM meta")}

    def recorded_identity(self) -> dict | None:
        """What the stored results depend on (``identity.run_identity``), or None when the
        store has no results yet; ``{}`` for results of a version that did not record it."""
        meta = self.meta()
        if "identity" in meta:
            return meta["identity"]
        with self._lock:
            rows = self._db.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]
        return {} if rows else None

    def record_identity(self, identity: dict) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('identity', ?)", (json.dumps(identity),))

    # ---- evaluations
    def add(self, ev: Evaluation) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO evaluations (point_id, params, status, qor, error, log_path, log_tail, "
                "tool_versions, timings, strategy, round, started_at, finished_at, cache_hit, fidelity, attempts, "
                "violation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ev.point_id,
                    json.dumps(ev.params, sort_keys=True),
                    ev.status,
                    json.dumps(ev.qor),
                    ev.error,
                    ev.log_path,
                    ev.log_tail,
                    json.dumps(ev.tool_versions),
                    json.dumps(ev.timings),
                    ev.strategy,
                    ev.round,
                    ev.started_at,
                    ev.finished_at,
                    int(ev.cache_hit),
                    ev.fidelity,
                    ev.attempts,
                    ev.violation,
                ),
            )
            ev.id = cur.lastrowid
            return ev.id

    def evaluations(self, fidelity: str | None = None) -> list[Evaluation]:
        """Every stored evaluation in the order they finished; only one fidelity's if given."""
        where, args = ("WHERE fidelity = ?", (fidelity,)) if fidelity else ("", ())
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(EVALUATION_COLUMNS)} FROM evaluations {where} ORDER BY id", args
            ).fetchall()
        evaluations = []
        for r in rows:
            try:
                evaluations.append(row_evaluation(r))
            except (ValueError, TypeError) as exc:
                raise DamagedStore(self.path, f"row {r[0]} (point {r[1]}) cannot be read ({exc})") from None
        return evaluations

    def set_violations(self, changed: dict) -> None:
        """Rewrite the violation of stored evaluations (id -> text or None): a resumed run
        judges every point by its own QoR constraints."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "UPDATE evaluations SET violation = ? WHERE id = ?", [(v, i) for i, v in changed.items()]
            )
            self._db.execute("COMMIT")
