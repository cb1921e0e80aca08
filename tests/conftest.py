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
ORFS_DATA = REPO.parent / "shared" / "orfs"


@pytest.fixture(scope="session")
def orfs_data() -> Path:
    if not (ORFS_DATA / "variables.yaml").is_file():
        pytest.fail(f"OpenROAD-flow-scripts reference data missing: {ORFS_DATA}/variables.yaml "
                    "(CI checks out ../shared beside the project)")
    return ORFS_DATA


@pytest.fixture(scope="session")
def platform_dir() -> Path:
    path = os.environ.get("ASAP7_PLATFORM_DIR")
    if not path or not Path(path).is_dir():
        pytest.fail("ASAP7_PLATFORM_DIR is not set to the ASAP7 platform (../shared/pdk/asap7)")
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
