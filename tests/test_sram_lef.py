"""The SRAM macros' LEF abstracts (for ORFS's ADDITIONAL_LEFS): the liberty view's
pins and area, pins inside the block on the M4 grid."""

import re

import pytest

from edalize_dse.generators.sram import PIN_PITCH, macro_name, platform_model, write_lef, write_macro


@pytest.mark.parametrize("words, bits", [(256, 32), (64, 128), (1024, 16)])
def test_lef_matches_the_liberty_view(tmp_path, platform_dir, words, bits):
    model = platform_model()
    lib, _ = write_macro(model, words, bits, tmp_path)
    lef = write_lef(model, words, bits, tmp_path).read_text()
    name = macro_name(words, bits)
    assert f"MACRO {name}\n" in lef and lef.rstrip().endswith("END LIBRARY")
    width, height = map(float, re.search(r"SIZE ([\d.]+) BY ([\d.]+) ;", lef).groups())
    area = model.area(words, bits)
    assert area <= width * height <= 1.05 * area + 48 * 0.048 * 4  # the area, rounded up to the track grid
    pins = re.findall(r"^  PIN (\S+)\n    DIRECTION (\w+)", lef, re.MULTILINE)
    signals = {p: d for p, d in pins if p not in ("VDD", "VSS")}
    # Every bus bit and pin of the liberty view, with its direction.
    text = lib.read_text()
    assert "bus(rd_out)" in text and "bus(wd_in)" in text
    assert {f"rd_out[{i}]" for i in range(bits)} <= set(signals) and signals["rd_out[0]"] == "OUTPUT"
    assert {f"wd_in[{i}]" for i in range(bits)} | {"clk", "ce_in", "we_in"} <= set(signals)
    assert sum(1 for p in signals if p.startswith("addr_in[")) == max(1, (words - 1).bit_length())
    ys = [float(y) for y in re.findall(r"RECT 0\.000 ([\d.]+) 0\.024", lef)]
    assert len(ys) == len(signals) and max(ys) < height and min(ys) > 0
    assert min(b - a for a, b in zip(sorted(ys), sorted(ys)[1:])) == pytest.approx(PIN_PITCH)
    assert "USE POWER" in lef and "USE GROUND" in lef
