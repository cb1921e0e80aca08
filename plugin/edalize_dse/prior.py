"""Earlier data a run starts from (run option ``prior``): the evaluations of an
earlier exploration or a benchmark table, mapped onto this run's space.

A prior entry is an output folder (its ``dse.sqlite``), a ``dse.sqlite`` file, or
a table as ``benchmarks/build_table.py`` writes it (``.csv`` or ``.csv.gz``: the
parameter columns first, then ``status``, then the metrics). Stores are opened
read-only and only their rows of the run's fidelity are read.

Mapping is by parameter name: a parameter the prior has and the space lacks is
dropped; a space parameter the prior lacks takes the space's default; a point
whose value is not legal here (outside a range, not a choice) or that breaks a
constraint of the space is left out. Each entry is summarised in one line.

A prior from exactly the same parameters (names; the ranges may differ, e.g.
another clock set) measured the points the run would measure: its points are
excluded from the run's proposals. One with dropped or defaulted parameters
measured other designs (the dropped parameter had some value there): its points
teach the models but the run may still evaluate them itself."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from edalize_dse.errors import DseError
from edalize_dse.qor import usable
from edalize_dse.store import STORE_NAME, Evaluation

# Table columns that are neither parameters nor QoR.
_TABLE_TEXT_COLUMNS = ("status", "error", "finished_at")
# Reasons for leaving points out, shown in the summary line (the commonest first).
_REASONS_SHOWN = 3


@dataclass
class PriorSource:
    """One prior entry as read: rows of parameter dicts (the prior's own names and values)."""

    label: str  # the path as the user gave it
    path: Path  # the file read
    names: list[str]  # the prior's parameter names, in its order
    rows: list[Evaluation]


@dataclass
class Prior:
    """Every prior entry mapped onto the run's space."""

    evaluations: list[Evaluation] = field(default_factory=list)
    # Canonical keys of the points never to propose (entries with the space's own parameters).
    excluded: set[str] = field(default_factory=set)
    lines: list[str] = field(default_factory=list)  # one summary line per entry


def read_source(entry: str, fidelity: str) -> PriorSource:
    """The rows of one prior entry, or one DseError naming the file and what is wrong."""
    path = Path(entry).expanduser()
    if path.is_dir():
        store = path / STORE_NAME
        if not store.is_file():
            raise DseError(
                f"prior {entry}: no {STORE_NAME} in this folder (give an earlier run's output folder, "
                "its dse.sqlite, or a benchmark table .csv/.csv.gz)"
            )
        path = store
    elif not path.is_file():
        raise DseError(f"prior {entry}: no such file or folder")
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        names, rows = _read_table(entry, path)
    else:
        names, rows = _read_store(entry, path, fidelity)
    return PriorSource(entry, path, names, rows)


def _read_store(entry: str, path: Path, fidelity: str) -> tuple[list[str], list[Evaluation]]:
    with open(path, "rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise DseError(
                f"prior {entry}: {path.name} is neither an edalize-dse store (SQLite) nor a .csv/.csv.gz table"
            )
    try:
        # Read-only: a prior is someone's finished exploration, never upgraded or written.
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            found = db.execute(
                "SELECT params, status, qor FROM evaluations WHERE fidelity = ? ORDER BY id", (fidelity,)
            ).fetchall()
        finally:
            db.close()
        rows = [(json.loads(p), s, json.loads(q)) for p, s, q in found]
    except (sqlite3.Error, ValueError) as exc:
        raise DseError(f"prior {entry}: cannot read {path.name} as an edalize-dse store ({exc})") from None
    if not rows:
        raise DseError(f"prior {entry}: {path.name} holds no evaluation of fidelity '{fidelity}' (this run's flow)")
    names: dict[str, None] = {}
    evaluations = []
    for params, status, qor in rows:
        names.update(dict.fromkeys(params))
        evaluations.append(Evaluation(point_id="", params=params, status=status, qor=qor, strategy="prior"))
    return list(names), evaluations


def _read_table(entry: str, path: Path) -> tuple[list[str], list[Evaluation]]:
    try:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
        reader = csv.DictReader(io.StringIO(text))
        header = list(reader.fieldnames or [])
        table = list(reader)
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError, csv.Error) as exc:
        raise DseError(f"prior {entry}: cannot read the table ({exc})") from None
    if "status" not in header:
        raise DseError(
            f"prior {entry}: not a benchmark table (no 'status' column; the parameter columns come "
            "first, then status, then the metrics, as benchmarks/build_table.py writes them)"
        )
    names = header[: header.index("status")]
    metrics = [c for c in header[len(names) :] if c not in _TABLE_TEXT_COLUMNS and not c.startswith("version_")]
    evaluations = []
    for row in table:
        qor = {}
        for m in metrics:
            try:
                qor[m] = float(row[m])
            except (TypeError, ValueError):
                continue  # empty (a failed point) or not a number
        evaluations.append(
            Evaluation(point_id="", params={n: row[n] for n in names}, status=row["status"], qor=qor, strategy="prior")
        )
    return names, evaluations


def coerce(parameter, value):
    """``value`` (typed, or a table's text) as a legal value of ``parameter``, or None."""
    if isinstance(value, str) and parameter.type != "choice":
        text = value.strip()
        if parameter.type == "bool":
            value = {"true": True, "false": False, "1": True, "0": False}.get(text.lower())
        else:
            try:
                value = float(text)
            except ValueError:
                return None
    if parameter.type in ("int", "pow2") and isinstance(value, float) and value.is_integer():
        value = int(value)
    elif parameter.type == "float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    elif parameter.type == "bool" and not isinstance(value, bool) and value in (0, 1):
        value = bool(value)
    elif parameter.type == "choice" and value not in parameter.choices:
        # A table holds text: the choice it spells.
        value = next((c for c in parameter.choices if str(c) == str(value)), value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if parameter.contains(value) else None


def map_source(source: PriorSource, space) -> tuple[list[Evaluation], bool, str]:
    """The source's rows as evaluations of ``space`` points, whether its points are the
    space's own (same parameter names), and the one-line summary."""
    dropped = [n for n in source.names if n not in space.parameters]
    missing = [n for n in space.parameters if n not in source.names]
    exact = not dropped and not missing
    mapped, outside = [], Counter()
    for row in source.rows:
        point, reason = {}, None
        for name, p in space.parameters.items():
            value = coerce(p, row.params[name]) if name in row.params else p.default
            if value is None:
                reason = f"{name}={row.params[name]}"
                break
            point[name] = value
        if reason is None:
            broken = next((c for c in space.constraints if not c.holds(point)), None)
            reason = f"constraint '{broken.name}'" if broken else None
        if reason is not None:
            outside[reason] += 1
            continue
        mapped.append(
            Evaluation(
                point_id=space.point_id(point),
                params=point,
                status=row.status,
                qor=row.qor,
                strategy="prior",
                fidelity=row.fidelity,
            )
        )
    parts = [f"prior {source.label}: {len(mapped)} of {len(source.rows)} points used"]
    failed = sum(not e.ok for e in mapped)
    if failed:
        parts[0] += f" ({failed} failed)"
    if dropped:
        parts.append(
            f"parameter{'s' if len(dropped) > 1 else ''} {', '.join(map(repr, dropped))} dropped (not in this space)"
        )
    if missing:
        defaults = ", ".join(str(space.parameters[n].default) for n in missing)
        parts.append(
            f"{', '.join(map(repr, missing))} missing (set to default{'s' if len(missing) > 1 else ''} {defaults})"
        )
    if outside:
        reasons = [f"{r}: {c}" for r, c in outside.most_common(_REASONS_SHOWN)]
        more = len(outside) - _REASONS_SHOWN
        parts.append(
            f"{sum(outside.values())} points outside this space ({', '.join(reasons)}"
            f"{f', {more} more reasons' if more > 0 else ''})"
        )
    if not exact:
        parts.append("its points inform the models only (other parameters), the run may evaluate them")
    return mapped, exact, "; ".join(parts)


def load_prior(entries, space, fidelity: str = "synth", output=None) -> Prior:
    """Every entry read and mapped; DseError (naming the entry) for a bad path, an
    unreadable file, this run's own output folder, or an entry with no usable point."""
    prior = Prior()
    own_store = (Path(output).expanduser() / STORE_NAME).resolve() if output else None
    for entry in entries or []:
        source = read_source(entry, fidelity)
        if own_store is not None and source.path.resolve() == own_store:
            raise DseError(
                f"prior {entry}: this is the run's own output folder (its results are resumed "
                "anyway); give an earlier run's folder"
            )
        evaluations, exact, line = map_source(source, space)
        if not usable(evaluations, space.objectives):
            objectives = ", ".join(o.name for o in space.objectives)
            raise DseError(
                f"{line}; no successful point of it lies in this space with every objective "
                f"({objectives}) measured: nothing to learn from"
            )
        prior.evaluations += evaluations
        if exact:
            prior.excluded.update(space.canonical(e.params) for e in evaluations)
        prior.lines.append(line)
    return prior
