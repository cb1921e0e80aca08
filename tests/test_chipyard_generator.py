"""The Chipyard Gemmini generator without Chipyard: the rendered Scala names only real
GemminiArrayConfig fields with the point's values; the build where CHIPYARD_ROOT is real."""

import os
import re

import pytest

from edalize_dse.errors import DseError
from edalize_dse.generators import get_generator
from edalize_dse.generators.chipyard import (
    GEMMINI_ARRAY_CONFIG_FIELDS,
    ChipyardGemmini,
    config_name,
    find_chipyard,
    render_scala,
)

POINT = dict(
    meshRows=2,
    meshColumns=2,
    tileRows=2,
    tileColumns=2,
    dataflow="BOTH",
    inputType=8,
    accType=32,
    spatialArrayOutputType=20,
    sp_capacity=64,
    sp_banks=4,
    acc_capacity=32,
    acc_banks=2,
    tile_latency=1,
    mesh_output_delay=2,
)


def copied_fields(scala: str) -> dict:
    body = scala[scala.index("defaultConfig.copy(") + len("defaultConfig.copy(") :]
    body = body[: body.index("\n  )")]
    return dict(re.findall(r"^\s*(\w+) = (.+?),?$", body, re.MULTILINE))


def test_scala_sets_real_fields_to_the_points_values():
    scala = render_scala(POINT)
    fields = copied_fields(scala)
    assert set(fields) <= GEMMINI_ARRAY_CONFIG_FIELDS
    assert fields == {
        "meshRows": "2",
        "meshColumns": "2",
        "tileRows": "2",
        "tileColumns": "2",
        "dataflow": "Dataflow.BOTH",
        "inputType": "SInt(8.W)",
        "accType": "SInt(32.W)",
        "spatialArrayOutputType": "SInt(20.W)",
        "sp_capacity": "CapacityInKilobytes(64)",
        "sp_banks": "4",
        "acc_capacity": "CapacityInKilobytes(32)",
        "acc_banks": "2",
        "tile_latency": "1",
        "mesh_output_delay": "2",
    }
    name = config_name(POINT)
    assert f"class {name}Config extends Config(" in scala
    assert f"new gemmini.DefaultGemminiConfig({name}.gemminiConfig) ++" in scala
    assert scala.count("(") == scala.count(")")
    assert "package chipyard.edalizedse" in scala and "import gemmini._" in scala


def test_every_generator_parameter_maps_to_a_gemmini_field():
    gen = ChipyardGemmini()
    assert set(copied_fields(render_scala(gen.resolve({})))) == set(gen.PARAMETERS)
    assert set(gen.PARAMETERS) <= GEMMINI_ARRAY_CONFIG_FIELDS


def test_config_name_is_a_hash_of_the_configuration():
    assert config_name(POINT) == config_name(dict(POINT))
    assert config_name(POINT) != config_name(dict(POINT, sp_banks=2))


def test_gemmini_rules_are_checked_before_a_build():
    gen = ChipyardGemmini()
    assert gen.violations(gen.resolve(POINT)) == []
    assert "rule 'square_array'" in gen.violations(gen.resolve(dict(POINT, meshRows=4)))[0]
    # 64 KiB over 3 banks of 4 x int8 rows: not a power of two
    assert "rule 'sp_bank_entries'" in gen.violations(gen.resolve(dict(POINT, sp_banks=3)))[0]


def test_missing_checkout_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("CHIPYARD_ROOT", raising=False)
    with pytest.raises(DseError, match="set the 'chipyard_root' option or CHIPYARD_ROOT"):
        find_chipyard()
    with pytest.raises(DseError, match="is not a Chipyard checkout with Gemmini: it has no generators/gemmini"):
        get_generator("chipyard", chipyard_root=str(tmp_path)).check()


def live_root():
    try:
        return find_chipyard()
    except DseError as exc:
        return str(exc)


@pytest.mark.skipif(isinstance(live_root(), str), reason=f"live Chipyard build needs a checkout: {live_root()}")
def test_live_chipyard_build(tmp_path):
    gen = get_generator("chipyard", chipyard_root=os.environ["CHIPYARD_ROOT"])
    design = gen.generate(gen.resolve(dict(POINT, meshRows=2, meshColumns=2)), tmp_path / "rtl")
    assert design.top == "Gemmini" and design.files and all(f.is_file() for f in design.files)
