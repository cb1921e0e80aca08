"""Outputs of an exploration, rebuilt from the store: evaluations.csv, pareto.csv,
pareto.png, and the text summary printed at the end of a run."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

from edalize_dse import atomic
from edalize_dse.pareto import HYPERVOLUME_MEANING, front, hypervolume, objective_matrix
from edalize_dse.space import Space
from edalize_dse.store import Evaluation

EVALUATIONS_CSV = "evaluations.csv"
PARETO_CSV = "pareto.csv"
PARETO_PNG = "pareto.png"


def _columns(space: Space, evaluations: list[Evaluation]) -> tuple[list[str], list[str], list[str]]:
    metrics = sorted({k for e in evaluations for k in e.qor})
    timings = sorted({k for e in evaluations for k in e.timings})
    return space.names, metrics, timings


def _rows(space: Space, evaluations: list[Evaluation]):
    params, metrics, timings = _columns(space, evaluations)
    header = [
        "id",
        "point_id",
        "fidelity",
        "status",
        "strategy",
        "round",
        "cache_hit",
        *params,
        *metrics,
        *[f"time_{t}" for t in timings],
        "error",
        "log_path",
        "violation",
    ]
    rows = []
    for e in evaluations:
        rows.append(
            [
                e.id,
                e.point_id,
                e.fidelity,
                e.status,
                e.strategy,
                e.round,
                int(e.cache_hit),
                *[e.params.get(p, "") for p in params],
                *[e.qor.get(m, "") for m in metrics],
                *[round(e.timings[t], 4) if t in e.timings else "" for t in timings],
                e.error or "",
                e.log_path or "",
                e.violation or "",
            ]
        )
    return header, rows


def write_csv(path: Path, space: Space, evaluations: list[Evaluation]) -> Path:
    header, rows = _rows(space, evaluations)
    with atomic.replacing(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def plot_front(path: Path, space: Space, evaluations: list[Evaluation]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objectives = space.objectives
    usable, _ = objective_matrix(evaluations, objectives)
    best = {e.point_id for e in front(evaluations, objectives)}
    pairs = list(itertools.combinations(range(len(objectives)), 2))[:3] or [(0, 0)]
    fig, axes = plt.subplots(1, len(pairs), figsize=(5 * len(pairs), 4.2), squeeze=False)
    for ax, (i, j) in zip(axes[0], pairs):
        xi, yj = objectives[i], objectives[j]
        for on_front, style in (
            (False, dict(c="#9aa5b1", s=22, label="evaluated")),
            (True, dict(c="#d1495b", s=40, edgecolors="black", label="Pareto front")),
        ):
            pts = [e for e in usable if (e.point_id in best) == on_front]
            ax.scatter([e.qor[xi.name] for e in pts], [e.qor[yj.name] for e in pts], **style)
        ax.set_xlabel(f"{xi.name} ({xi.goal})")
        ax.set_ylabel(f"{yj.name} ({yj.goal})")
        ax.grid(alpha=0.3)
    axes[0][0].legend(loc="best", fontsize=8)
    failed = sum(1 for e in evaluations if not e.ok)
    fig.suptitle(
        f"{space.name}: {len(usable)} evaluated, {len(best)} on the front (3-D non-dominated), {failed} failed",
        fontsize=10,
    )
    fig.tight_layout()
    with atomic.replacing(path) as tmp:
        fig.savefig(tmp, dpi=110, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(fig)
    return path


def primary_fidelity(evaluations: list[Evaluation]) -> str:
    """The fidelity the strategy explored with: the first one stored."""
    return evaluations[0].fidelity if evaluations else "synth"


def write_all(output: Path, space: Space, evaluations: list[Evaluation]) -> dict:
    """evaluations.csv (every fidelity), and the front and plot of the explored fidelity;
    points promoted to a second fidelity get their own ``pareto_<fidelity>.csv``."""
    output = Path(output)
    primary = primary_fidelity(evaluations)
    explored = [e for e in evaluations if e.fidelity == primary]
    files = {
        "evaluations": write_csv(output / EVALUATIONS_CSV, space, evaluations),
        "pareto": write_csv(output / PARETO_CSV, space, front(explored, space.objectives)),
        "plot": plot_front(output / PARETO_PNG, space, explored),
    }
    for fidelity in sorted({e.fidelity for e in evaluations} - {primary}):
        promoted = [e for e in evaluations if e.fidelity == fidelity]
        files[f"pareto_{fidelity}"] = write_csv(
            output / f"pareto_{fidelity}.csv", space, front(promoted, space.objectives)
        )
    return files


def summary_text(space: Space, evaluations: list[Evaluation], files: dict) -> str:
    primary = primary_fidelity(evaluations)
    others = [e for e in evaluations if e.fidelity != primary]
    evaluations = [e for e in evaluations if e.fidelity == primary]
    ok = [e for e in evaluations if e.ok]
    best = front(evaluations, space.objectives)
    lines = [
        f"{len(evaluations)} evaluations ({len(ok)} ok, {len(evaluations) - len(ok)} failed); "
        f"{len(best)} on the Pareto front of {', '.join(f'{o.name} ({o.goal})' for o in space.objectives)}; "
        f"hypervolume ratio {hypervolume(evaluations, space.objectives):.4f} ({HYPERVOLUME_MEANING})"
    ]
    if space.qor_constraints:
        infeasible = [e for e in ok if not e.feasible]
        lines.append(
            f"QoR constraints {', '.join(c.text for c in space.qor_constraints)}: "
            f"{len(ok) - len(infeasible)} feasible, {len(infeasible)} infeasible (never on the front)"
        )
    if best:
        cols = [o.name for o in space.objectives]
        params = space.names
        header = ["point_id", *cols, *params]
        table = [
            [e.point_id, *[f"{e.qor[c]:.4g}" for c in cols], *[str(e.params[p]) for p in params]]
            for e in sorted(best, key=lambda e: e.qor[cols[0]])
        ]
        widths = [max(len(str(r[i])) for r in [header, *table]) for i in range(len(header))]
        lines.append("Pareto front:")
        for row in [header, *table]:
            lines.append("  " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths)))
    for fidelity in sorted({e.fidelity for e in others}):
        runs = [e for e in others if e.fidelity == fidelity]
        lines.append(
            f"promoted to {fidelity}: {len(runs)} point(s), {sum(e.ok for e in runs)} ok: "
            + ", ".join(e.point_id for e in runs)
        )
    for e in evaluations + others:
        if not e.ok:
            lines.append(f"failed {e.point_id} ({e.fidelity}): {e.error} (log: {e.log_path})")
    lines.append("Outputs: " + ", ".join(str(p) for p in files.values()))
    return "\n".join(lines)
