"""import-orfs: a config.mk read as GNU make reads it, in an ORFS tree and in a design
folder taken out of ORFS, and AutoTuner's search space mapped onto the space's types."""

import json
import subprocess
import sys

import pytest
import yaml

from edalize_dse.errors import DseError
from edalize_dse.orfs_import import autotuner_space, import_orfs, read_design
from edalize_dse.space import load_space

CONFIG = """export PLATFORM = asap7
export DESIGN_NAME = top_a
export DESIGN_NICKNAME ?= blk
export VERILOG_FILES = $(sort $(wildcard $(DESIGN_HOME)/src/$(DESIGN_NICKNAME)/*.v))
export VERILOG_INCLUDE_DIRS = $(DESIGN_HOME)/src/$(DESIGN_NICKNAME)/inc
export SDC_FILE = $(DESIGN_HOME)/$(PLATFORM)/$(DESIGN_NICKNAME)/constraint.sdc
export ABC_AREA ?= 0
export VERILOG_TOP_PARAMS = WIDTH 8
export VERILOG_DEFINES += -DFAST
export VERILOG_DEFINES += -DLEVEL=3
ifeq ($(FLOW_VARIANT),small)
  export DESIGN_NAME = top_b
  export VERILOG_TOP_PARAMS = WIDTH 4 MODE 2
endif
"""
SDC = "set clk_period 420\ncreate_clock -name clk -period $clk_period [get_ports clk]\n"


def _flat(tmp_path):
    """A design folder taken out of ORFS: config.mk, the SDC and src/ side by side."""
    folder = tmp_path / "blk"
    (folder / "src" / "inc").mkdir(parents=True)
    (folder / "config.mk").write_text(CONFIG)
    (folder / "constraint.sdc").write_text(SDC)
    for name in ("b.v", "a.v"):
        (folder / "src" / name).write_text(f"module m_{name[0]}; endmodule\n")
    (folder / "src" / "inc" / "defs.vh").write_text("`define W 8\n")
    return folder / "config.mk"


def _tree(tmp_path):
    """The same design laid out as in ORFS: designs/asap7/blk/config.mk, designs/src/blk/."""
    designs = tmp_path / "flow" / "designs"
    cfg = designs / "asap7" / "blk"
    src = designs / "src" / "blk"
    (src / "inc").mkdir(parents=True)
    cfg.mkdir(parents=True)
    (cfg / "config.mk").write_text(CONFIG)
    (cfg / "constraint.sdc").write_text(SDC)
    for name in ("b.v", "a.v"):
        (src / name).write_text(f"module m_{name[0]}; endmodule\n")
    (src / "inc" / "defs.vh").write_text("`define W 8\n")
    return cfg / "config.mk"


@pytest.mark.parametrize("layout", [_flat, _tree])
def test_config_mk_is_read_as_make_reads_it(tmp_path, layout, monkeypatch):
    config = layout(tmp_path)
    design = read_design(config)
    assert design.top == "top_a" and design.name == "blk"
    assert [f.name for f in design.verilog_files] == ["a.v", "b.v"]  # $(sort $(wildcard ...))
    assert all(f.is_file() and "edalize-dse-orfs" not in str(f) for f in design.verilog_files)
    assert [d.name for d in design.include_dirs] == ["inc"]
    assert design.sdc.read_text() == SDC
    assert design.parameters == {"WIDTH": 8}
    assert design.defines == {"FAST": True, "LEVEL": 3}  # += appends
    assert not design.abc_area
    # FLOW_VARIANT blocks, as ORFS's make FLOW_VARIANT=small sees them.
    small = read_design(config, flow_variant="small")
    assert small.top == "top_b" and small.parameters == {"WIDTH": 4, "MODE": 2}
    # ?= yields to the environment, as in make.
    monkeypatch.setenv("ABC_AREA", "1")
    assert read_design(config).abc_area


def test_a_config_mk_naming_missing_files_is_one_error(tmp_path):
    config = _flat(tmp_path)
    config.write_text(CONFIG.replace("*.v", "*.sv"))
    with pytest.raises(DseError, match="VERILOG_FILES names no file"):
        read_design(config)
    config.write_text(CONFIG + "export VERILOG_FILES += $(DESIGN_HOME)/src/blk/gone.v\n")
    with pytest.raises(DseError, match="gone.v"):
        read_design(config)
    config.write_text(CONFIG.replace("DESIGN_NAME = top_a", "DESIGN_NAME = top_a $("))
    with pytest.raises(DseError, match="make cannot read the config.mk"):
        read_design(config)


def test_autotuner_json_maps_onto_the_space_types(tmp_path):
    path = tmp_path / "autotuner.json"
    path.write_text(
        json.dumps(
            {
                "_SDC_FILE_PATH": "constraint.sdc",
                "_SDC_CLK_PERIOD": {"type": "float", "minmax": [300, 600], "step": 0},
                "ABC_LOAD_IN_FF": {"type": "float", "minmax": [2.0, 4.0], "step": 0.5},
                "CORE_UTILIZATION": {"type": "int", "minmax": [20, 60], "step": 5},
                "CTS_CLUSTER_SIZE": {"type": "range_int", "min": 10, "max": 200, "step": 1},
            }
        )
    )
    params, skipped = autotuner_space(path, sdc_period=420, abc_area=True)
    clock = params["clock_period_ps"]
    assert clock["type"] == "float" and (clock["low"], clock["high"]) == (300, 600)
    assert clock["default"] == 420  # the SDC's own clock
    assert params["ABC_LOAD_IN_FF"]["type"] == "choice"
    assert params["ABC_LOAD_IN_FF"]["choices"] == [2.0, 2.5, 3.0, 3.5, 4.0]
    assert params["abc_script"]["default"] == "area"  # ABC_AREA = 1
    assert skipped == ["CORE_UTILIZATION", "CTS_CLUSTER_SIZE"]  # place-and-route: no synth knob
    path.write_text(json.dumps({"_SDC_CLK_PERIOD": {"type": "string", "minmax": [1, 2]}}))
    with pytest.raises(DseError, match="_SDC_CLK_PERIOD has type 'string'"):
        autotuner_space(path, 420, False)


def test_import_writes_a_core_and_a_space_that_load(tmp_path):
    config = _flat(tmp_path)
    (config.parent / "autotuner.json").write_text(
        json.dumps(
            {
                "_SDC_CLK_PERIOD": {"type": "float", "minmax": [300, 600], "step": 0},
                "PLACE_DENSITY_LB_ADDON": {"type": "float", "minmax": [0, 0.2], "step": 0},
            }
        )
    )
    core, space_path, _ = import_orfs(config, tmp_path / "cores")
    doc = yaml.safe_load(core.read_text().split("\n", 1)[1])
    assert doc["name"] == "orfs:asap7:blk:0"
    files = doc["filesets"]["rtl"]["files"]
    assert [next(iter(f)) for f in files] == ["rtl/a.v", "rtl/b.v"]  # inside the core's folder
    assert (core.parent / "rtl" / "a.v").is_file()
    include = doc["filesets"]["includes"]["files"][0]["rtl/inc/defs.vh"]
    assert include["is_include_file"] and include["include_path"] == "rtl/inc"
    assert doc["filesets"]["constraints"]["files"] == [{"constraints/constraint.sdc": {"file_type": "SDC"}}]
    assert doc["parameters"]["WIDTH"] == {
        "datatype": "int",
        "default": 8,
        "paramtype": "vlogparam",
        "description": "config.mk VERILOG_TOP_PARAMS",
    }
    assert doc["targets"]["dse"]["flow"] == "dse" and doc["targets"]["dse"]["toplevel"] == "top_a"
    space = load_space(space_path)
    assert set(space.parameters) == {"clock_period_ps", "abc_script"}
    assert "PLACE_DENSITY_LB_ADDON" in space_path.read_text()  # named in the comment as left out
    # The command line prints how to run it.
    out = subprocess.run(
        [sys.executable, "-m", "edalize_dse", "import-orfs", str(config), "--to", str(tmp_path / "c2")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert f"fusesoc --cores-root {tmp_path / 'c2'} run --target=dse orfs:asap7:blk" in out.stdout
