"""The installed package carries its templates and FuseSoC/edalize find the flow."""

import importlib
from pathlib import Path

import edalize_dse
from edalize_dse.templating import templates_dir

from conftest import REPO


def test_templates_ship_inside_the_installed_package():
    installed = Path(edalize_dse.__file__).resolve().parent
    assert templates_dir() == installed / "templates"
    shipped = {p.relative_to(templates_dir()) for p in templates_dir().rglob("*.j2")}
    source = REPO / "plugin" / "edalize_dse" / "templates"
    in_repo = {p.relative_to(source) for p in source.rglob("*.j2")}
    assert shipped == in_repo and shipped


def test_edalize_finds_the_dse_flow_beside_its_own():
    module = importlib.import_module("edalize.flows.dse")
    flow = module.Dse
    assert flow.__name__ == "Dse" and {"space", "budget", "strategy", "seed", "workers", "output"} <= set(
        flow.get_flow_options()
    )
    importlib.import_module("edalize.flows.generic")  # edalize's own flows are still there


def test_edalize_namespace_has_no_init_files():
    assert not (REPO / "plugin" / "edalize" / "__init__.py").exists()
    assert not (REPO / "plugin" / "edalize" / "flows" / "__init__.py").exists()


def test_workload_files_ship_inside_the_installed_package():
    from edalize_dse.workload.layers import shipped_dir

    installed = Path(edalize_dse.__file__).resolve().parent
    assert shipped_dir() == installed / "networks"
    source = REPO / "plugin" / "edalize_dse" / "networks"
    assert {p.name for p in shipped_dir().glob("*.yml")} == {p.name for p in source.glob("*.yml")} != set()
