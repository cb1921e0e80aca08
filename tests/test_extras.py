"""The heavy libraries are extras: a choice that needs one that is not installed is refused
in one line with the pip command that adds it, before any tool runs; a run without plotly
still writes its summaries. Absence is real for the interpreter under test: the module is
set to None in sys.modules, so `import` fails and importlib finds nothing, as when the
distribution is not installed."""

import configparser
import json
import subprocess
import sys

from edalize_dse.extras import EXTRAS

from conftest import REPO
from faulty_runs import one_error_line, run_config

WITHOUT = "import runpy, sys; sys.modules.update(dict.fromkeys({modules!r})); sys.argv = {argv!r}; " + (
    "runpy.run_module('edalize_dse', run_name='__main__')"
)


def run_without(modules, *args):
    script = WITHOUT.format(modules=list(modules), argv=["edalize-dse", *args])
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)


def declared_extras() -> dict:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    extras = {k: v.split() for k, v in cfg["options.extras_require"].items()}
    return {"base": [line for line in cfg["options"]["install_requires"].splitlines() if line.strip()], **extras}


def test_each_extra_is_declared_and_not_in_the_base_install():
    declared = declared_extras()
    base = " ".join(declared["base"]).lower()
    for extra, modules in EXTRAS.items():
        assert extra in declared, f"setup.cfg declares no extra '{extra}'"
        for module in modules:
            assert module not in base, f"{module} is in install_requires, but extra '{extra}' holds it"
    assert set(EXTRAS) <= set(declared["all"][0].partition("[")[2].rstrip("]").split(","))


def config_choosing(tmp_path, group: str, choice: str):
    """A run configuration of the tiny core with ``group``'s choice (strategy, executor) set."""
    config = json.loads(run_config(tmp_path, tmp_path / "out").read_text())
    config[group][group] = choice
    path = tmp_path / f"{choice}.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_qnehvi_without_botorch_is_refused_before_anything_runs(tmp_path):
    config = config_choosing(tmp_path, "strategy", "qnehvi")
    run = run_without(EXTRAS["bo"], "run", "--config", config, "--no-progress")
    line = one_error_line(run.stderr)
    assert run.returncode == 2, run.stderr
    assert "strategy 'qnehvi' needs botorch and gpytorch: pip install 'edalize-dse[bo]'" in line
    assert not (tmp_path / "out").exists()


def test_executor_ray_without_ray_is_refused_in_one_line(tmp_path):
    config = config_choosing(tmp_path, "executor", "ray")
    run = run_without(EXTRAS["ray"], "run", "--config", config, "--no-progress")
    assert run.returncode == 2, run.stderr
    assert "executor 'ray' needs ray: pip install 'edalize-dse[ray]'" in one_error_line(run.stderr)


def test_a_run_without_plotly_writes_its_summaries_and_says_how_to_get_the_report(tmp_path, platform_dir, tools):
    out = tmp_path / "out"
    run = run_without(EXTRAS["report"], "run", "--config", str(run_config(tmp_path, out)), "--no-progress")
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["ok"] == 1 and "report_html" not in summary["files"]
    assert not (out / "report.html").exists()
    assert "pip install 'edalize-dse[report]'" in (out / "summary.md").read_text()
