"""``report.html``: one self-contained page per output folder (plotly.js inlined, no
network needed to open it), rebuilt from the store at the end of every run and by
``edalize-dse report``.

Sections: interactive Pareto projections (feasible, front, infeasible and failed
points drawn apart; hover shows the parameters), hypervolume versus evaluations
with the strategy's rounds marked, parallel coordinates of the front's
parameters, parameter importance per objective (Optuna's fANOVA evaluator over
the successful points), and a table of every point linking to its folder and log.

The page records any script error in the ``#dse-errors`` element, so a headless
browser test reads a broken page off the DOM."""

from __future__ import annotations

import html
import itertools
import os
from pathlib import Path

import numpy as np

from edalize_dse import atomic
from edalize_dse.pareto import front, normalized_hypervolume, objective_matrix

REPORT_HTML = "report.html"
COLOURS = {"feasible": "#7b8794", "front": "#d1495b", "infeasible": "#edae49", "failed": "#30343f"}


def _hover(e) -> str:
    status = "feasible" if e.feasible else ("infeasible: " + e.violation if e.ok else "failed: " + (e.error or ""))
    lines = [f"<b>{e.point_id}</b> (round {e.round})", html.escape(status)]
    lines += [f"{k} = {v}" for k, v in e.params.items()]
    return "<br>".join(lines)


def _kind(e, best: set) -> str:
    if not e.ok:
        return "failed"
    if not e.feasible:
        return "infeasible"
    return "front" if e.point_id in best else "feasible"


def pareto_figure(space, evaluations):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    objectives = space.objectives
    best = {e.point_id for e in front(evaluations, objectives)}
    pairs = list(itertools.combinations(range(len(objectives)), 2))[:3]
    single = not pairs
    pairs = pairs or [(0, 0)]
    fig = make_subplots(rows=1, cols=len(pairs), horizontal_spacing=0.08)
    symbols = {"feasible": "circle", "front": "diamond", "infeasible": "x", "failed": "triangle-down"}
    for col, (i, j) in enumerate(pairs, 1):
        xi, yj = objectives[i], objectives[j]
        for kind in ("feasible", "front", "infeasible", "failed"):
            pts = [
                e for e in evaluations if _kind(e, best) == kind and xi.name in e.qor and (single or yj.name in e.qor)
            ]
            if not pts:
                continue
            x = [e.id for e in pts] if single else [e.qor[xi.name] for e in pts]
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=[e.qor[yj.name] for e in pts],
                    mode="markers",
                    name=kind,
                    legendgroup=kind,
                    showlegend=col == 1,
                    text=[_hover(e) for e in pts],
                    hoverinfo="text",
                    marker=dict(
                        color=COLOURS[kind],
                        symbol=symbols[kind],
                        size=11 if kind == "front" else 8,
                        line=dict(width=1, color="black") if kind == "front" else None,
                    ),
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text="evaluation" if single else f"{xi.name} ({xi.goal})", row=1, col=col)
        fig.update_yaxes(title_text=f"{yj.name} ({yj.goal})", row=1, col=col)
    fig.update_layout(height=430, margin=dict(l=60, r=20, t=30, b=50), legend=dict(orientation="h", y=1.12))
    return fig


def hypervolume_curve(space, evaluations) -> tuple[list[int], list[float]]:
    """Normalised hypervolume of the feasible points among the first k evaluations, k = 1..n
    (ideal and nadir of all the run's feasible points, so the curve only rises)."""
    _, matrix = objective_matrix(evaluations, space.objectives)
    if matrix.size == 0:
        return list(range(1, len(evaluations) + 1)), [0.0] * len(evaluations)
    ideal, nadir = matrix.min(axis=0), matrix.max(axis=0)
    values, seen = [], []
    for e in evaluations:
        part, m = objective_matrix([e], space.objectives)
        if part:
            seen.append(m[0])
        values.append(
            normalized_hypervolume(np.array(seen).reshape(len(seen), matrix.shape[1]), ideal, nadir) if seen else 0.0
        )
    return list(range(1, len(evaluations) + 1)), values


def hypervolume_figure(space, evaluations):
    import plotly.graph_objects as go

    x, y = hypervolume_curve(space, evaluations)
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines", name="hypervolume", line=dict(color="#00798c")))
    # The last evaluation of each round of the strategy: where a round's proposals had all come back.
    ends = {}
    for k, e in enumerate(evaluations):
        ends[e.round] = k
    rounds = sorted(ends)
    fig.add_trace(
        go.Scatter(
            x=[ends[r] + 1 for r in rounds],
            y=[y[ends[r]] for r in rounds],
            mode="markers",
            name="end of round",
            text=[
                f"round {r} ({evaluations[ends[r]].strategy}): {ends[r] + 1} evaluations, HV {y[ends[r]]:.4f}"
                for r in rounds
            ],
            hoverinfo="text",
            marker=dict(color=rounds, colorscale="Viridis", size=9, colorbar=dict(title="round")),
        )
    )
    fig.update_layout(
        height=360,
        margin=dict(l=60, r=20, t=20, b=50),
        xaxis_title="evaluations",
        yaxis_title="normalised hypervolume (feasible)",
        showlegend=False,
    )
    return fig


def parallel_figure(space, evaluations):
    import plotly.graph_objects as go

    best = front(evaluations, space.objectives)
    if not best:
        return None
    dims = []
    for name, p in space.parameters.items():
        values = [e.params[name] for e in best]
        legal = p.values()
        if legal is not None and len(legal) < 2:
            continue  # fixed by the space: an axis with one value says nothing
        if p.type == "float":
            dims.append(dict(label=name, values=[float(v) for v in values]))
        else:
            index = {repr(v): i for i, v in enumerate(legal)}
            dims.append(
                dict(
                    label=name,
                    values=[index[repr(v)] for v in values],
                    range=[0, max(len(legal) - 1, 1)],
                    tickvals=list(range(len(legal))),
                    ticktext=[str(v) for v in legal],
                )
            )
    first = space.objectives[0].name
    for o in space.objectives:
        dims.append(dict(label=f"{o.name} ({o.goal})", values=[float(e.qor[o.name]) for e in best]))
    fig = go.Figure(
        go.Parcoords(
            line=dict(
                color=[float(e.qor[first]) for e in best],
                colorscale="Viridis",
                showscale=True,
                colorbar=dict(title=first),
            ),
            dimensions=dims,
        )
    )
    fig.update_layout(height=420, margin=dict(l=70, r=70, t=60, b=30))
    return fig


def importances(space, evaluations) -> dict:
    """objective -> {parameter: importance}, by Optuna's fANOVA evaluator over the successful
    points (feasible or not) that measured the objective; parameters that never varied are left out."""
    import optuna
    from optuna.trial import create_trial

    from edalize_dse.strategies.optuna_based import distributions

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = distributions(space)
    varied = [n for n in space.names if len({repr(e.params.get(n)) for e in evaluations if e.ok}) > 1]
    out = {}
    for o in space.objectives:
        points = [
            e
            for e in evaluations
            if e.ok and isinstance(e.qor.get(o.name), (int, float)) and np.isfinite(e.qor[o.name])
        ]
        if len(points) < 3 or not varied or len({float(e.qor[o.name]) for e in points}) < 2:
            continue  # nothing to attribute: too few points, or the objective never varied
        study = optuna.create_study(direction="minimize" if o.goal == "min" else "maximize")
        for e in points:
            params = {
                n: (int(np.log2(e.params[n])) if space.parameters[n].type == "pow2" else e.params[n]) for n in varied
            }
            study.add_trial(
                create_trial(params=params, distributions={n: dists[n] for n in varied}, value=float(e.qor[o.name]))
            )
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        try:
            out[o.name] = optuna.importance.get_param_importances(study, evaluator=evaluator, normalize=True)
        except RuntimeError:
            continue  # fANOVA found no variance its trees can split: no importance to show
    return out


def importance_figure(space, evaluations):
    import plotly.graph_objects as go

    found = importances(space, evaluations)
    if not found:
        return None
    names = sorted(
        {n for imp in found.values() for n in imp}, key=lambda n: -sum(imp.get(n, 0.0) for imp in found.values())
    )
    fig = go.Figure(
        [go.Bar(name=objective, x=names, y=[imp.get(n, 0.0) for n in names]) for objective, imp in found.items()]
    )
    fig.update_layout(
        barmode="group",
        height=380,
        margin=dict(l=60, r=20, t=20, b=90),
        yaxis_title="fANOVA importance (share)",
        legend=dict(orientation="h", y=1.1),
    )
    return fig


def _link(output: Path, target) -> str:
    if not target:
        return ""
    path = Path(target)
    try:
        rel = path.resolve().relative_to(output.resolve())
    except ValueError:
        rel = Path(os.path.relpath(path, output)) if path.is_absolute() else path
    return f'<a href="{html.escape(rel.as_posix())}">{html.escape(rel.as_posix())}</a>'


def points_table(output: Path, space, evaluations) -> str:
    best = {e.point_id for e in front(evaluations, space.objectives)}
    objectives = [o.name for o in space.objectives]
    metrics = objectives + [c.metric for c in space.qor_constraints if c.metric not in objectives]
    head = ["id", "point", "fidelity", "status", "round", *metrics, *space.names, "violation / error", "folder", "log"]
    rows = []
    for e in evaluations:
        kind = _kind(e, best)
        cells = [
            str(e.id),
            e.point_id,
            e.fidelity,
            kind,
            str(e.round),
            *[f"{e.qor[m]:.5g}" if isinstance(e.qor.get(m), (int, float)) else "" for m in metrics],
            *[str(e.params.get(n, "")) for n in space.names],
            e.violation or e.error or "",
        ]
        tds = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
        folder = _link(output, output / "points" / e.point_id)
        log = _link(output, e.log_path) if e.log_path and not e.ok else ""
        rows.append(f'<tr class="{kind}">{tds}<td>{folder}</td><td>{log}</td></tr>')
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f'<table id="points"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f0f0f0;position:sticky;top:0}tr.front td{background:#fbe3e6}tr.infeasible td{background:#fdf3e1}
tr.failed td{background:#e8e8e8}.note{color:#555;font-size:13px}#dse-errors{color:#b00}
"""
# Installed before plotly.js: any script error lands in the page itself.
_ERROR_TRAP = """
function dseRecord(text) {
  var box = document.getElementById('dse-errors');
  if (box) { box.textContent += text + '\\n'; }
}
window.addEventListener('error', function (ev) { dseRecord('script error: ' + ev.message); });
(function () {
  var original = console.error;
  console.error = function () {
    dseRecord('console error: ' + Array.prototype.join.call(arguments, ' '));
    return original.apply(console, arguments);
  };
})();
"""


def write(output: Path, space, evaluations) -> Path:
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    from edalize_dse.report import primary_fidelity

    output = Path(output)
    primary = primary_fidelity(evaluations)
    explored = [e for e in evaluations if e.fidelity == primary]
    sections = []

    def figure(title, fig, note="", missing=""):
        if fig is None:
            sections.append(f"<h2>{html.escape(title)}</h2><p class='note'>{html.escape(missing)}</p>")
            return
        body = pio.to_html(
            fig, full_html=False, include_plotlyjs=False, config={"displaylogo": False}, div_id=f"plot-{len(sections)}"
        )
        sections.append(
            f"<h2>{html.escape(title)}</h2>{f'<p class=note>{html.escape(note)}</p>' if note else ''}"
            f"<div class='plot'>{body}</div>"
        )

    ok = [e for e in explored if e.ok]
    feasible = [e for e in ok if e.feasible]
    failed_without_qor = sum(1 for e in explored if not e.ok and not e.qor)
    figure(
        "Pareto projections",
        pareto_figure(space, explored),
        f"{len(feasible)} feasible, {len(ok) - len(feasible)} infeasible, {len(explored) - len(ok)} failed"
        + (f" ({failed_without_qor} failed before any QoR: listed in the table only)" if failed_without_qor else "")
        + ". Hover a point for its parameters.",
    )
    figure(
        "Hypervolume versus evaluations",
        hypervolume_figure(space, explored),
        "normalised hypervolume of the feasible points so far; markers end each round of the strategy",
    )
    figure("Parameters of the Pareto front", parallel_figure(space, explored), missing="no feasible point yet")
    figure(
        "Parameter importance per objective",
        importance_figure(space, explored),
        "Optuna's fANOVA evaluator over the successful points (feasible or not)",
        missing="needs at least 3 successful points and a parameter that varied",
    )
    constraints = ", ".join(c.text for c in space.qor_constraints) or "none"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>edalize-dse report: {html.escape(space.name)}</title>
<style>{_STYLE}</style><script>{_ERROR_TRAP}</script>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body><h1>edalize-dse: {html.escape(space.name)}</h1>
<pre id="dse-errors"></pre>
<p class="note">{len(explored)} evaluations ({primary}); objectives
{html.escape(", ".join(f"{o.name} ({o.goal})" for o in space.objectives))}; QoR constraints: {html.escape(constraints)}.
Space file: {html.escape(str(space.path))}.</p>
{"".join(sections)}
<h2>Every point</h2>
{points_table(output, space, evaluations)}
</body></html>
"""
    path = output / REPORT_HTML
    return atomic.write_text(path, page)
