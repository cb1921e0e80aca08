"""Shared fixtures. Tests run against the installed package (make test installs
it non-editable into .venv) and the real tools; the ASAP7 platform comes from
ASAP7_PLATFORM_DIR, defaulting to ../shared/pdk/asap7 beside the checkout."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORES = REPO / "cores"
SPACE = CORES / "spaces" / "gemmini_small.yml"

if not os.environ.get("ASAP7_PLATFORM_DIR") and not os.environ.get("FLOW_HOME"):
    _shared = REPO.parent / "shared" / "pdk" / "asap7"
    if _shared.is_dir():
        os.environ["ASAP7_PLATFORM_DIR"] = str(_shared)

# Derived files (decompressed liberty, cached flow results) go to a folder of this
# test session, never the user's ~/.cache; tools started by tests inherit it.
os.environ["EDALIZE_DSE_CACHE"] = tempfile.mkdtemp(prefix="edalize-dse-test-cache-")
SHARED_ORFS_DATA = REPO.parent / "shared" / "orfs"

# A test that runs the real tools (it asks for the platform, the tools or ORFS data) is
# 'slow': `make check` leaves it out, `make test` runs it. Tests that start a cluster,
# FuseSoC or a browser without those fixtures carry the mark themselves.
SLOW_FIXTURES = {"platform_dir", "tools", "orfs_data"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


class OrfsData:
    """ORFS reference data (the variable list and the ASAP7 designs' metric rules), read
    from a real checkout ($FLOW_HOME/flow/...) or from the copy in ../shared/orfs."""

    def __init__(self, variables: Path, designs: Path, origin: str, configs: Path | None = None):
        self.variables = variables  # variables.yaml
        self.designs = designs  # <design>/rules-base.json
        self.origin = origin
        self.configs = configs  # <design>/config.mk (with rules-base.json) of designs to import and run

    def rules(self, design: str) -> Path:
        return self.designs / design / "rules-base.json"


def find_orfs_data(environ=os.environ, shared: Path = SHARED_ORFS_DATA) -> "OrfsData | str":
    """$FLOW_HOME's checkout (FLOW_HOME naming its 'flow' folder, as ORFS does, or the
    checkout's root), else ../shared/orfs; else the reason there is none."""
    flow_home = environ.get("FLOW_HOME")
    for flow in [Path(flow_home), Path(flow_home) / "flow"] if flow_home else []:
        variables, designs = flow / "scripts" / "variables.yaml", flow / "designs" / "asap7"
        if variables.is_file() and any(designs.glob("*/rules-base.json")):
            return OrfsData(variables, designs, f"FLOW_HOME={flow_home}", designs)
    if (shared / "variables.yaml").is_file():
        configs = shared / "designs"
        return OrfsData(shared / "variables.yaml", shared / "asap7", str(shared), configs if configs.is_dir() else None)
    return (
        "OpenROAD-flow-scripts reference data not found: set FLOW_HOME to an ORFS checkout "
        f"(flow/scripts/variables.yaml, flow/designs/asap7/*/rules-base.json) or provide {shared}"
    )


@pytest.fixture(scope="session")
def orfs_data() -> OrfsData:
    found = find_orfs_data()
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture(scope="session")
def platform_dir() -> Path:
    # As the product looks for it: ASAP7_PLATFORM_DIR, else an ORFS checkout's platforms/asap7.
    path = os.environ.get("ASAP7_PLATFORM_DIR")
    if not path and os.environ.get("FLOW_HOME"):
        path = str(Path(os.environ["FLOW_HOME"]) / "platforms" / "asap7")
    if not path or not Path(path).is_dir():
        pytest.fail(
            "no ASAP7 platform: set ASAP7_PLATFORM_DIR (or FLOW_HOME to an ORFS 'flow' folder), "
            "or provide ../shared/pdk/asap7"
        )
    return Path(path)


@pytest.fixture(scope="session")
def tools():
    missing = [t for t in ("sta", "iverilog", "vvp") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"tools missing: {missing}; run 'make test' (it installs them)")


# The hardware layer of a space with one cheap point (a 1x1 mesh of a 2x2 int4 tile):
# for tests about the flow and the loop, not the generator.
ONE_SMALL_ARRAY = """
  meshRows:    {layer: hardware, type: choice, choices: [1], default: 1}
  meshColumns: {layer: hardware, type: choice, choices: [1], default: 1}
  tileRows:    {layer: hardware, type: choice, choices: [2], default: 2}
  tileColumns: {layer: hardware, type: choice, choices: [2], default: 2}
  inputType:   {layer: hardware, type: choice, choices: [4], default: 4}
  accType:     {layer: hardware, type: choice, choices: [16], default: 16}
  spatialArrayOutputType: {layer: hardware, type: choice, choices: [12], default: 12}
"""


def write_space(tmp_path: Path, text: str, name: str = "space.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path
