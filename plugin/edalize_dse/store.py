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
    violation     TEXT,                   -- ok but infeasible: the QoR constraints it breaks; NULL: feasible
    UNIQUE (point_id, fidelity)
)"""
EVALUATION_COLUMNS = ("id", "point_id", "params", "status", "qor", "error", "log_path", "log_tail", "tool_versions",
                      "timings", "strategy", "round", "started_at", "finished_at", "cache_hit", "fidelity",
                      "violation")


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
    id: int | None = None
    violation: str | None = None  # the QoR constraints a successful point breaks (qor_constraints.violation)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def feasible(self) -> bool:
        """Succeeded and meets every QoR constraint: the only points a front may hold."""
        return self.ok and not self.violation


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Results arrive from worker threads; one connection behind a lock.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA synchronous=FULL")
        self._upgrade()
        self._db.execute(_META_TABLE)
        self._db.execute(_EVALUATIONS_TABLE)

    def _upgrade(self) -> None:
        """Bring a store written by an earlier version (one result per point, no
        cache or fidelity columns) to the current table, keeping every row."""
        present = [row[1] for row in self._db.execute("PRAGMA table_info(evaluations)")]
        if "fidelity" in present and "violation" not in present:
            # Written before QoR constraints: every stored point was feasible.
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

    def bind(self, **identity) -> None:
        """Record what this store explores; refuse to mix a different space into it."""
        existing = self.meta()
        for key, value in identity.items():
            if key in existing and existing[key] != value:
                raise DseError(f"{self.path}: this output directory holds an exploration with a different "
                               f"{key} ({existing[key]!r}, now {value!r}); use another output directory "
                               "or remove it to start afresh")
        with self._lock:
            self._db.executemany("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                                 [(k, json.dumps(v)) for k, v in identity.items()])

    # ---- evaluations
    def add(self, ev: Evaluation) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO evaluations (point_id, params, status, qor, error, log_path, log_tail, "
                "tool_versions, timings, strategy, round, started_at, finished_at, cache_hit, fidelity, violation) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ev.point_id, json.dumps(ev.params, sort_keys=True), ev.status, json.dumps(ev.qor), ev.error,
                 ev.log_path, ev.log_tail, json.dumps(ev.tool_versions), json.dumps(ev.timings), ev.strategy,
                 ev.round, ev.started_at, ev.finished_at, int(ev.cache_hit), ev.fidelity, ev.violation))
            ev.id = cur.lastrowid
            return ev.id

    def evaluations(self, fidelity: str | None = None) -> list[Evaluation]:
        """Every stored evaluation in the order they finished; only one fidelity's if given."""
        where, args = ("WHERE fidelity = ?", (fidelity,)) if fidelity else ("", ())
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(EVALUATION_COLUMNS)} FROM evaluations {where} ORDER BY id", args).fetchall()
        return [Evaluation(id=r[0], point_id=r[1], params=json.loads(r[2]), status=r[3], qor=json.loads(r[4]),
                           error=r[5], log_path=r[6], log_tail=r[7], tool_versions=json.loads(r[8]),
                           timings=json.loads(r[9]), strategy=r[10], round=r[11], started_at=r[12],
                           finished_at=r[13], cache_hit=bool(r[14]), fidelity=r[15], violation=r[16]) for r in rows]

    def set_violations(self, changed: dict) -> None:
        """Rewrite the violation of stored evaluations (id -> text or None): a resumed run
        judges every point by its own QoR constraints."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("UPDATE evaluations SET violation = ? WHERE id = ?",
                                 [(v, i) for i, v in changed.items()])
            self._db.execute("COMMIT")
