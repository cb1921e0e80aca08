"""The exploration as a step of a CI build: what a run leaves for the job around it.

- ``summary.json`` (schema ``schemas/summary.schema.json``) and ``summary.md`` in the
  output folder; the Markdown is appended to ``$GITHUB_STEP_SUMMARY`` when that is set;
- the exit status: 0 with at least one feasible point, ``EXIT_NO_FEASIBLE`` and one
  line (the constraint no point met, the closest point) without;
- one plain line per finished evaluation when stdout is not a terminal;
- ``compare``: a run's front against a baseline's, with ``COMPARE_EXIT`` statuses."""

from __future__ import annotations

import json
import math
import os
from datetime import datetime
from pathlib import Path

import numpy as np

from edalize_dse import atomic, exit_status
from edalize_dse.errors import DseError
from edalize_dse.pareto import front, hypervolume, normalized_hypervolume
from edalize_dse.qor_constraints import total_miss
from edalize_dse.report import primary_fidelity

SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
SCHEMA_ID = "edalize-dse/summary/1"
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "summary.schema.json"
RUN_RECORD = "run.json"

# ``edalize-dse run``: no point met every QoR constraint (or none succeeded).
EXIT_NO_FEASIBLE = exit_status.NO_FEASIBLE
# ``edalize-dse compare OLD NEW``: NEW's front against OLD's.
COMPARE_EXIT = {
    "match": exit_status.OK,
    "dominate": exit_status.COMPARE_DOMINATES,
    "regress": exit_status.COMPARE_REGRESSES,
}


# ---------------------------------------------------------------- one line per evaluation


def _fmt(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def evaluation_line(ev, space, finished: int, budget: int) -> str:
    """``[3/12] 1a2b3c4d5e6f ok area_um2=812.3 power_mw=1.2 (meshRows=2 ...)``: a CI log's record."""
    status = "ok" if ev.feasible else ("infeasible" if ev.ok else "failed")
    if ev.ok:
        detail = " ".join(f"{o.name}={_fmt(ev.qor.get(o.name, 'n/a'))}" for o in space.objectives)
        if ev.violation:
            detail += f" violates {ev.violation}"
    else:
        detail = ev.error or "failed"
    params = " ".join(f"{k}={v}" for k, v in ev.params.items())
    return f"[{finished}/{budget}] {ev.point_id} {status} {detail} ({params})"


# ---------------------------------------------------------------- outcome of a run


def explored(evaluations: list) -> list:
    primary = primary_fidelity(evaluations)
    return [e for e in evaluations if e.fidelity == primary]


def no_feasible_reason(space, evaluations: list) -> str | None:
    """None when a feasible point exists; else one line: which constraint no point met
    (or that none met them together) and the closest point, or that nothing succeeded."""
    points = explored(evaluations)
    if any(e.feasible for e in points):
        return None
    ok = [e for e in points if e.ok]
    if not ok:
        first = next((e for e in points if e.error), None)
        return f"no evaluation succeeded ({len(points)} failed)" + (
            f"; first failure: {first.point_id}: {first.error}" if first else ""
        )
    constraints = space.qor_constraints
    never = [
        c
        for c in constraints
        if not any(c.holds(float(e.qor[c.metric])) for e in ok if isinstance(e.qor.get(c.metric), (int, float)))
    ]
    closest = min(ok, key=lambda e: (total_miss(e.qor, constraints), e.id or 0))
    values = ", ".join(f"{c.metric} = {_fmt(closest.qor.get(c.metric, 'n/a'))}" for c in constraints)
    what = (
        f"constraint {', '.join(repr(c.text) for c in never)} met by no point"
        if never
        else f"no point meets {' and '.join(repr(c.text) for c in constraints)} together"
    )
    return f"no feasible point: {what} ({len(ok)} ok); closest: {closest.point_id} ({values})"


# ---------------------------------------------------------------- summary.json / summary.md


def _seconds(a: str, b: str) -> float:
    try:
        return max((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return 0.0


def _finite(value):
    return value if not isinstance(value, float) or math.isfinite(value) else None


def read_run_record(output: Path) -> dict:
    """The flat options of ``run.json`` (empty when the folder has none)."""
    path = Path(output) / RUN_RECORD
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text())
    except ValueError:
        return {}
    flat = {}
    for value in doc.values() if isinstance(doc, dict) else []:
        if isinstance(value, dict):
            flat.update(value)
    return flat


def summary_doc(output: Path, space, evaluations: list, record: dict, files: dict) -> dict:
    points = explored(evaluations)
    ok = [e for e in points if e.ok]
    best = front(points, space.objectives)
    starts = [e.started_at for e in points if e.started_at]
    ends = [e.finished_at for e in points if e.finished_at]
    tool_s = sum(v for e in points for k, v in e.timings.items() if k not in ("controller_s", "cache_s"))
    versions = {}
    for e in points:
        versions.update(e.tool_versions)
    reason = no_feasible_reason(space, evaluations)
    shown = [c.metric for c in space.qor_constraints] + [o.name for o in space.objectives]
    return {
        "schema": SCHEMA_ID,
        "space": space.name,
        "space_file": str(space.path),
        "output": str(Path(output).resolve()),
        "strategy": record.get("strategy"),
        "seed": record.get("seed"),
        "budget": record.get("budget"),
        "fidelity": primary_fidelity(evaluations),
        "objectives": [{"name": o.name, "goal": o.goal} for o in space.objectives],
        "qor_constraints": [c.text for c in space.qor_constraints],
        "counts": {
            "evaluations": len(points),
            "ok": len(ok),
            "failed": len(points) - len(ok),
            "infeasible": sum(1 for e in ok if not e.feasible),
            "feasible": sum(1 for e in ok if e.feasible),
        },
        "feasible": reason is None,
        "reason": reason,
        "front": [
            {
                "point_id": e.point_id,
                "params": e.params,
                "qor": {k: _finite(float(e.qor[k])) for k in dict.fromkeys(shown) if k in e.qor},
                "folder": f"points/{e.point_id}",
            }
            for e in sorted(best, key=lambda e: e.qor[space.objectives[0].name])
        ],
        "hypervolume": hypervolume(points, space.objectives),
        "wall_s": _seconds(min(starts), max(ends)) if starts and ends else 0.0,
        "tool_s": tool_s,
        "tool_versions": versions,
        "files": {k: Path(v).name for k, v in files.items()},
    }


def summary_markdown(doc: dict) -> str:
    c = doc["counts"]
    lines = [
        f"## edalize-dse: {doc['space']} ({doc['strategy'] or 'strategy n/a'}, fidelity {doc['fidelity']})",
        "",
        f"**{'feasible design found' if doc['feasible'] else 'NO FEASIBLE DESIGN'}**"
        + ("" if doc["feasible"] else f": {doc['reason']}"),
        "",
        "| evaluations | budget | ok | feasible | infeasible | failed | hypervolume | wall s | tool s |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {c['evaluations']} | {doc['budget'] if doc['budget'] is not None else 'n/a'} | {c['ok']} | "
        f"{c['feasible']} | {c['infeasible']} | {c['failed']} | {doc['hypervolume']:.4f} | "
        f"{doc['wall_s']:.0f} | {doc['tool_s']:.0f} |",
        "",
    ]
    if doc["qor_constraints"]:
        lines += ["QoR constraints: " + ", ".join(f"`{t}`" for t in doc["qor_constraints"]), ""]
    if doc["front"]:
        names = [o["name"] for o in doc["objectives"]]
        params = list(doc["front"][0]["params"])
        lines += [
            f"Feasible Pareto front ({len(doc['front'])} points):",
            "",
            "| point | " + " | ".join(names + params) + " |",
            "|---" * (1 + len(names) + len(params)) + "|",
        ]
        for p in doc["front"]:
            lines.append(
                f"| `{p['point_id']}` | "
                + " | ".join([_fmt(p["qor"].get(n)) for n in names] + [str(p["params"][k]) for k in params])
                + " |"
            )
        lines.append("")
    if doc["tool_versions"]:
        lines += ["Tools: " + ", ".join(f"{k} {v}" for k, v in sorted(doc["tool_versions"].items())), ""]
    if "report_html" in doc["files"]:
        lines += [f"Report: `{Path(doc['output']) / doc['files']['report_html']}`", ""]
    else:
        lines += ["No report.html: its charts need plotly (`pip install 'edalize-dse[report]'`).", ""]
    return "\n".join(lines)


def write_outputs(output: Path, space, evaluations: list, record: dict | None = None) -> dict:
    """report.html, summary.json, summary.md (and the GitHub step summary): the files a CI job keeps."""
    from edalize_dse import extras, report_html

    output = Path(output)
    record = read_run_record(output) if record is None else record
    # report.html is plotly's (the 'report' extra); without it the summaries say how to add it.
    files = {} if extras.missing("report") else {"report_html": report_html.write(output, space, evaluations)}
    doc = summary_doc(
        output,
        space,
        evaluations,
        record,
        {**files, "summary_json": output / SUMMARY_JSON, "summary_md": output / SUMMARY_MD},
    )
    atomic.write_text(output / SUMMARY_JSON, json.dumps(doc, indent=2) + "\n")
    markdown = summary_markdown(doc)
    atomic.write_text(output / SUMMARY_MD, markdown + "\n")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as fh:
            fh.write(markdown + "\n")
    files.update(summary_json=output / SUMMARY_JSON, summary_md=output / SUMMARY_MD)
    return files


# ---------------------------------------------------------------- compare OLD NEW


def load_summary(folder) -> dict:
    path = Path(folder)
    path = path / SUMMARY_JSON if path.is_dir() else path
    try:
        doc = json.loads(path.read_text())
    except OSError:
        raise DseError(
            f"{path} not found: compare takes two output folders of finished runs (or their {SUMMARY_JSON})"
        ) from None
    except ValueError as exc:
        raise DseError(f"{path}: not valid JSON ({exc})") from None
    if doc.get("schema") != SCHEMA_ID:
        raise DseError(f"{path}: not an edalize-dse summary (schema {doc.get('schema')!r}, expected {SCHEMA_ID})")
    return doc


def _matrix(doc: dict, objectives: list) -> np.ndarray:
    sign = {"min": 1.0, "max": -1.0}
    rows = [[sign[o["goal"]] * float(p["qor"][o["name"]]) for o in objectives] for p in doc["front"]]
    return np.array(rows, dtype=float).reshape(len(rows), len(objectives))


def _covered(a: np.ndarray, b: np.ndarray, tolerance: float) -> bool:
    """Every row of ``a`` is weakly dominated by some row of ``b`` (within ``tolerance``, relative)."""
    if len(a) == 0:
        return True
    if len(b) == 0:
        return False
    slack = tolerance * np.abs(a)
    return bool(np.all((b[None, :, :] <= a[:, None, :] + slack[:, None, :]).all(axis=2).any(axis=1)))


def compare(old_dir, new_dir, tolerance: float = 0.0) -> tuple[str, str]:
    """(verdict, report): ``match`` when each front weakly dominates the other, ``dominate``
    when NEW covers every OLD point and adds a better one, else ``regress``."""
    old, new = load_summary(old_dir), load_summary(new_dir)
    if old["objectives"] != new["objectives"]:
        raise DseError(f"compare: the runs have different objectives ({old['objectives']} vs {new['objectives']})")
    objectives = new["objectives"]
    a, b = _matrix(old, objectives), _matrix(new, objectives)
    new_covers, old_covers = _covered(a, b, tolerance), _covered(b, a, tolerance)
    verdict = "match" if new_covers and old_covers else "dominate" if new_covers else "regress"
    both = np.vstack([a, b])
    hv = ("", "")
    if len(both):
        ideal, nadir = both.min(axis=0), both.max(axis=0)
        hv = tuple(f"{normalized_hypervolume(m, ideal, nadir):.4f}" for m in (a, b))
    names = [o["name"] for o in objectives]
    goals = ", ".join(f"{o['name']} ({o['goal']})" for o in objectives)
    lines = [
        f"objectives: {goals}",
        f"OLD {old['output']}: {len(a)} front points, hypervolume {hv[0]} (on the union's range)",
        f"NEW {new['output']}: {len(b)} front points, hypervolume {hv[1]}",
    ]
    width = max(12, *(len(n) for n in names))
    header = "  ".join(n.rjust(width) for n in names)
    lines.append(f"{'OLD front'.ljust(len(header))}    NEW front")
    lines.append(f"{header}    {header}")
    for i in range(max(len(a), len(b))):
        left = "  ".join(_fmt(float(old["front"][i]["qor"][n])).rjust(width) for n in names) if i < len(a) else ""
        right = "  ".join(_fmt(float(new["front"][i]["qor"][n])).rjust(width) for n in names) if i < len(b) else ""
        lines.append(f"{left.ljust(len(header))}    {right}")
    explain = {
        "match": "NEW matches OLD: each front weakly dominates the other",
        "dominate": "NEW dominates OLD: every OLD front point is matched or beaten, and NEW adds a better one",
        "regress": "NEW regresses: some OLD front point is dominated by no NEW point",
    }
    lines.append(f"{verdict}: {explain[verdict]} (exit status {COMPARE_EXIT[verdict]})")
    return verdict, "\n".join(lines)
