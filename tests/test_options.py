"""Run options are declared once (options.py): the FuseSoC flow, the command line, the
run configuration and the README's table are all made from that one table."""

import json
import subprocess
import sys

import pytest

from edalize_dse.errors import DseError
from edalize_dse.explore import RunConfig
from edalize_dse.options import GROUPS, markdown_table, options

from conftest import REPO


def test_readme_table_is_the_declared_one():
    readme = (REPO / "README.md").read_text()
    start, end = readme.index("<!-- options-table -->\n"), readme.index("<!-- /options-table -->")
    assert readme[start + len("<!-- options-table -->\n") : end] == markdown_table(), (
        "README's options table is stale: paste `edalize-dse options` between the markers"
    )


def test_every_user_option_is_a_flow_option_and_a_command_line_argument():
    from edalize.flows.dse import Dse
    from edalize_dse.cli import build_parser

    run_help = subprocess.run(
        [sys.executable, "-m", "edalize_dse", "run", "--help"], capture_output=True, text=True, timeout=120
    ).stdout
    for group in GROUPS:
        assert f"{group} options:" in run_help
    args = vars(build_parser().parse_args(["run"]))
    for option in options().values():
        if option.user:
            assert option.name in Dse.FLOW_OPTIONS, option.name
            assert option.name in args, option.name
        else:
            assert option.name not in Dse.FLOW_OPTIONS


def test_run_configuration_round_trips_grouped_and_checks_types(tmp_path):
    config = RunConfig(space="s.yml", output="out", workers=3, activity=0.2)
    path = tmp_path / "run.json"
    config.write_json(path)
    doc = json.loads(path.read_text())
    assert list(doc) == list(GROUPS) and doc["executor"]["workers"] == 3
    back = RunConfig.from_json(path)
    assert back.as_dict() == config.as_dict()

    doc["executor"]["workers"] = "2"
    path.write_text(json.dumps(doc))
    with pytest.raises(DseError, match=r"option 'workers' must be an integer, got '2' \(str\)"):
        RunConfig.from_json(path)
    path.write_text(json.dumps({"space": "s.yml", "output": "o", "wokers": 2}))
    with pytest.raises(DseError, match="unknown run option.*wokers"):
        RunConfig.from_json(path)


def test_a_bad_option_value_is_one_line_naming_it(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "edalize_dse",
            "run",
            "--space",
            "s.yml",
            "--output",
            str(tmp_path / "o"),
            "--activity",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "edalize-dse: error: run configuration: option 'activity' must be toggles per clock in (0, 2], got 5.0"
    )
