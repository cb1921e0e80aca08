"""QoR constraints and the CI behaviour of a run: infeasible points stored apart and kept off
the front, the exit status without a feasible point, summary.json against its schema, the
GitHub step summary, one line per evaluation in a pipe, and report.html in a real browser."""

import csv
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys

import pytest

from edalize_dse import store as store_module
from edalize_dse.ci import EXIT_NO_FEASIBLE, SCHEMA_PATH
from edalize_dse.pareto import hypervolume
from edalize_dse.qor_constraints import parse, violation
from edalize_dse.space import load_space
from edalize_dse.store import Store

from conftest import ONE_SMALL_ARRAY, write_space

# 1x1 mesh of a 2x2 int4 tile at a 1 GHz and an impossible 150 ps clock: the 150 ps points
# cannot close timing, so 'wns_ps >= 0' makes them infeasible.
SPACE = (
    """
name: tight_clock
parameters:
"""
    + ONE_SMALL_ARRAY
    + """  clock_period_ps: {layer: eda, type: choice, choices: [1000, 150], default: 1000}
  ASAP7_USE_VT: {layer: eda, type: choice, choices: [RVT, SLVT], default: RVT}
qor_constraints:
  - wns_ps >= 0
"""
)


def cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "edalize_dse", *args], capture_output=True, text=True, timeout=900, env=env
    )


@pytest.fixture(scope="module")
def tight_run(tmp_path_factory, platform_dir, tools):
    """Every point of the space (4), piped stdout, with a GitHub step summary file."""
    tmp = tmp_path_factory.mktemp("tight")
    space = write_space(tmp, SPACE)
    step_summary = tmp / "step_summary.md"
    step_summary.write_text("previous step\n")
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(step_summary)}
    run = cli(
        "run",
        "--space",
        str(space),
        "--output",
        str(tmp / "out"),
        "--budget",
        "4",
        "--workers",
        "2",
        "--strategy",
        "grid",
        env=env,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return tmp, space, run


def test_infeasible_points_are_stored_with_their_violation_and_kept_off_the_front(tight_run):
    tmp, space_path, _ = tight_run
    out = tmp / "out"
    store = Store(out / "dse.sqlite")
    evaluations = store.evaluations()
    store.close()
    assert len(evaluations) == 4 and all(e.ok for e in evaluations)
    infeasible = [e for e in evaluations if not e.feasible]
    feasible = [e for e in evaluations if e.feasible]
    assert {e.params["clock_period_ps"] for e in infeasible} == {150}
    assert {e.params["clock_period_ps"] for e in feasible} == {1000}
    for e in infeasible:
        assert e.qor["wns_ps"] < 0 and re.fullmatch(r"wns_ps >= 0 \(wns_ps = -[0-9.e+]+\)", e.violation)
    with open(out / "evaluations.csv") as fh:
        rows = {r["point_id"]: r for r in csv.DictReader(fh)}
    for e in infeasible:
        assert rows[e.point_id]["violation"] == e.violation and float(rows[e.point_id]["power_mw"]) > 0
    with open(out / "pareto.csv") as fh:
        on_front = {r["point_id"] for r in csv.DictReader(fh)}
    assert on_front and on_front <= {e.point_id for e in feasible}
    # The hypervolume is that of the feasible points alone (the 150 ps points have more throughput:
    # counted, they would change it).
    space = load_space(space_path)
    assert hypervolume(evaluations, space.objectives) == hypervolume(feasible, space.objectives)
    for e in infeasible:
        e.violation = None
    assert hypervolume(evaluations, space.objectives) != hypervolume(feasible, space.objectives)


def test_summary_json_validates_against_its_schema_and_the_step_summary_gets_the_markdown(tight_run):
    jsonschema = pytest.importorskip("jsonschema")
    tmp, _, _ = tight_run
    doc = json.loads((tmp / "out" / "summary.json").read_text())
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.validate(doc, schema)
    assert doc["counts"] == {"evaluations": 4, "ok": 4, "failed": 0, "infeasible": 2, "feasible": 2}
    assert doc["feasible"] is True and doc["budget"] == 4 and doc["qor_constraints"] == ["wns_ps >= 0"]
    assert doc["front"] and all(p["params"]["clock_period_ps"] == 1000 for p in doc["front"])
    assert doc["tool_s"] > 0 and doc["wall_s"] > 0 and "opensta" in doc["tool_versions"]
    # A broken document is refused: the schema is not vacuous.
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**doc, "counts": {**doc["counts"], "infeasible": "two"}}, schema)
    markdown = (tmp / "out" / "summary.md").read_text()
    step = (tmp / "step_summary.md").read_text()
    assert step.startswith("previous step\n") and markdown in step
    assert "| 4 | 4 | 4 | 2 | 2 | 0 |" in markdown and "`wns_ps >= 0`" in markdown


def test_piped_output_has_one_line_per_evaluation(tight_run):
    _, _, run = tight_run
    lines = [line for line in run.stdout.splitlines() if line.startswith("[")]
    assert len(lines) == 4
    for k, line in enumerate(lines, 1):
        assert re.match(
            rf"\[{k}/4\] [0-9a-f]{{12}} (ok|infeasible) area_um2=\S+ power_mw=\S+ throughput_gops=\S+", line
        ), line
    assert sum(" infeasible " in line and "violates wns_ps >= 0" in line for line in lines) == 2
    assert "\r" not in run.stdout + run.stderr  # no progress bar in a pipe


def test_no_feasible_point_is_a_distinct_exit_status_with_one_line(tight_run):
    tmp, space, _ = tight_run
    out = tmp / "out"
    # The same finished points judged by a bound nothing meets (no tool runs: the budget is spent).
    run = cli(
        "run",
        "--space",
        str(space),
        "--output",
        str(out),
        "--budget",
        "4",
        "--strategy",
        "grid",
        "--qor-constraints",
        "wns_ps >= 0,power_mw <= 0.001",
    )
    assert run.returncode == EXIT_NO_FEASIBLE == 5, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert re.fullmatch(
        r"edalize-dse: no feasible point: constraint 'power_mw <= 0\.001' met by no point \(4 ok\); "
        r"closest: [0-9a-f]{12} \(wns_ps = \S+, power_mw = \S+\)\n",
        run.stderr,
    ), run.stderr
    doc = json.loads((out / "summary.json").read_text())
    assert doc["feasible"] is False and doc["front"] == [] and doc["counts"]["infeasible"] == 4
    assert doc["reason"] in run.stderr
    # The store holds the violations of this run's constraints; the original ones restore them.
    again = cli("run", "--space", str(space), "--output", str(out), "--budget", "4", "--strategy", "grid")
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "summary.json").read_text())["counts"]["feasible"] == 2


def test_unknown_constraint_metric_is_one_error_before_any_tool(tmp_path, platform_dir):
    space = write_space(tmp_path, SPACE.replace("wns_ps >= 0", "slack_ps >= 0"))
    run = cli("run", "--space", str(space), "--output", str(tmp_path / "out"), "--budget", "2")
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
    assert f"{space}: QoR constraint 'slack_ps >= 0': metric 'slack_ps' is not measured" in run.stderr
    assert not (tmp_path / "out").exists()
    space = write_space(tmp_path, SPACE, name="ok.yml")
    run = cli("run", "--space", str(space), "--output", str(tmp_path / "out"), "--qor-constraints", "power_mw =< 3")
    assert run.returncode == 2 and "option 'qor_constraints'" in run.stderr and "'power_mw =< 3'" in run.stderr
    bad = write_space(tmp_path, SPACE.replace("wns_ps >= 0", "wns_ps >= zero"), name="bad.yml")
    run = cli("check-space", str(bad))
    assert run.returncode == 2 and f"{bad}: QoR constraint 'wns_ps >= zero' is not" in run.stderr


def test_constraint_parsing_and_violation_text():
    c = parse("fmax_mhz > 800")
    assert c.holds(801) and not c.holds(800) and c.slack(700) == pytest.approx(0.125)
    assert violation({"fmax_mhz": 750.0}, [c]) == "fmax_mhz > 800 (fmax_mhz = 750)"
    assert violation({"fmax_mhz": 900.0}, [c]) is None
    assert violation({}, [c]) == "fmax_mhz > 800 (fmax_mhz not measured)"


def test_a_store_written_before_constraints_is_upgraded_in_place(tmp_path):
    path = tmp_path / "dse.sqlite"
    old_table = store_module._EVALUATIONS_TABLE.replace(
        "    violation     TEXT,                   -- ok but infeasible: the QoR constraints it breaks; "
        "NULL: feasible\n",
        "",
    )
    assert "violation" not in old_table
    db = sqlite3.connect(path)
    db.execute(old_table)
    db.execute(
        "INSERT INTO evaluations (point_id, params, status, qor, tool_versions, timings, strategy, round, "
        "started_at, finished_at) VALUES ('abc', '{}', 'ok', '{\"area_um2\": 1.0}', '{}', '{}', 'sobol', 1, "
        "'t0', 't1')"
    )
    db.commit()
    db.close()
    store = Store(path)
    (ev,) = store.evaluations()
    assert ev.qor == {"area_um2": 1.0} and ev.violation is None and ev.feasible
    store.set_violations({ev.id: "area_um2 <= 0.5 (area_um2 = 1)"})
    assert not store.evaluations()[0].feasible
    store.close()


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("no headless browser: install Debian's chromium ('make tools' does)")


def browse(page, tmp_path):
    """Load a page in headless chromium: (DOM after scripts ran, the page's console lines).

    Without a GPU, WebGL (plotly's parallel coordinates) runs on Chromium's software renderer,
    whose driver posts performance notes ("[.WebGL-...] GL Driver Message ...") to the console:
    those are the browser's, not the page's, and are left out."""
    run = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-unsafe-swiftshader",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=20000",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    return run.stdout, [line for line in console if not re.search(r'\] "\[\.WebGL-[0-9a-fx]+\]', line)]


def external_resources(text) -> list:
    """src/href attributes of tags that make a browser fetch something (script content is not parsed)."""
    from html.parser import HTMLParser

    found = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            for key, value in attrs:
                if (key == "src" or (tag == "link" and key == "href")) and value:
                    found.append(value)

    Tags().feed(text)
    return found


def test_browser_catches_a_broken_page(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text(
        "<html><body><script>console.error('noted'); throw new Error('deliberate')</script></body></html>"
    )
    _, console = browse(broken, tmp_path)
    assert any("Uncaught Error: deliberate" in line for line in console)
    assert any('"noted"' in line for line in console)


def test_report_html_loads_without_console_error_and_draws_every_plot(tight_run, tmp_path):
    tmp, _, _ = tight_run
    page = tmp / "out" / "report.html"
    text = page.read_text()
    assert external_resources(text) == []  # self-contained: nothing to fetch
    dom, console = browse(page, tmp_path)
    assert console == []
    assert re.search(r'<pre id="dse-errors"></pre>', dom)
    # Four plots, each rendered by plotly into SVG: projections, hypervolume, parallel coordinates, importance.
    for k in range(4):
        div = dom[dom.index(f'id="plot-{k}"') :]
        assert 'class="main-svg"' in div[:20000], f"plot-{k} was not drawn"
    assert dom.count('class="point"') >= 4  # the scatter markers
    assert "parcoords" in dom and "trace bars" in dom
    # Hover text carries the parameters; the table links every point's folder.
    assert "clock_period_ps = 150" in text and text.count('href="points/') == 4
