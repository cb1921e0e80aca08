"""SRAM macro model: views of a single-port SRAM of any shape (words x bits),
fitted at run time to the platform's ``fakeram7_<words>x<bits>`` liberty files.

Only nine fakeram7 shapes exist, but the scratchpad and accumulator banks of a
design point can have any shape, so each bank is a macro whose numbers come from
a small model of the nine files:

* area [um^2]           = k_area * words * bits   (bit-cell array, no periphery term)
* leakage [uW]          = k_leak * area           (leakage density of the bit-cell array)
* read/write energy [pJ] per access, clock-to-Q [ns], setup/hold [ns], minimum
  period [ns], pin capacitances [pF], per-pin energy [pJ]: the mean over the nine
  files (the fakeram7 files give the same value for every shape).

``k_area`` and ``k_leak`` minimise the squared *relative* error over the nine
files. The fakeram7 files give every shape the same placeholder leakage (so no
shape dependence can be learnt from them); the model keeps leakage proportional
to the bit-cell area, as in a real SRAM, at the density that best matches the
files. ``fit_report`` gives in-sample and leave-one-out errors (BENCHMARKS.md).

Units are those of the fakeram7 files: time ns, capacitance pF, leakage uW,
internal energy pJ (pF x V^2), area um^2. Each generated cell has a ``memory()``
group, so OpenSTA reports its power in the ``Macro`` group.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from edalize_dse.errors import DseError
from edalize_dse.templating import render_to

FAKERAM_GLOB = "fakeram7_*x*.lib"
_SHAPE = re.compile(r"fakeram7_(\d+)x(\d+)\.lib$")
# parse_fakeram also reads the views this module writes (same units and layout).
_ANY_SHAPE = re.compile(r"(?:fakeram7|dse_sram)_(\d+)x(\d+)\.lib$")


@dataclass(frozen=True)
class SramSample:
    """The numbers of one fakeram7 liberty file."""

    words: int
    bits: int
    area: float
    leakage: float
    clk_energy: float
    pin_energy: float
    clk_to_q: float
    out_slew: float
    setup: float
    hold: float
    min_period: float
    clk_cap: float
    pin_cap: float

    @property
    def size(self) -> int:
        return self.words * self.bits


def _number(text: str, pattern: str, what: str, path: Path) -> float:
    found = re.search(pattern, text, re.S)
    if not found:
        raise DseError(f"SRAM model: cannot read {what} from {path}")
    return float(found.group(1))


def _first_value(text: str, group_start: str, what: str, path: Path) -> float:
    """The first number of the ``values (...)`` inside the first group matching ``group_start``."""
    return _number(text, group_start + r"[^{]*\{[^}]*?values\s*\(\s*\\?\s*\"\s*([-\d.eE]+)", what, path)


def parse_fakeram(path: Path) -> SramSample:
    path = Path(path)
    shape = _ANY_SHAPE.search(path.name)
    if not shape:
        raise DseError(
            f"SRAM model: {path.name} is not named fakeram7_<words>x<bits>.lib (or dse_sram_<words>x<bits>.lib)"
        )
    text = path.read_text()
    for unit, value in (("time_unit", '"1ns"'), ("leakage_power_unit", '"1uW"')):
        if not re.search(rf"{unit}\s*:\s*{re.escape(value)}", text):
            raise DseError(f"SRAM model: {path} does not declare {unit} : {value}")
    clk = text[text.index("pin(clk)") :]
    we = text[text.index("pin(we_in)") :]
    out = text[text.index("bus(rd_out)") :]
    return SramSample(
        words=int(shape.group(1)),
        bits=int(shape.group(2)),
        area=_number(text, r"\barea\s*:\s*([\d.eE+-]+)", "area", path),
        leakage=_number(text, r"\bcell_leakage_power\s*:\s*([\d.eE+-]+)", "cell_leakage_power", path),
        clk_energy=_first_value(clk, r"rise_power", "clock energy", path),
        pin_energy=_first_value(we, r"rise_power", "pin energy", path),
        clk_to_q=_first_value(out, r"cell_rise", "clock-to-Q", path),
        out_slew=_first_value(out, r"rise_transition", "output slew", path),
        setup=_first_value(we, r"timing_type\s*:\s*setup_rising", "setup", path),
        hold=_first_value(we, r"timing_type\s*:\s*hold_rising", "hold", path),
        min_period=_number(clk, r"min_period\s*:\s*([\d.eE+-]+)", "min_period", path),
        clk_cap=_number(clk, r"capacitance\s*:\s*([\d.eE+-]+)", "clock pin capacitance", path),
        pin_cap=_number(we, r"capacitance\s*:\s*([\d.eE+-]+)", "pin capacitance", path),
    )


def _relative_fit(x: list[float], y: list[float]) -> float:
    """k minimising sum(((k*x - y) / y)^2)."""
    r = [a / b for a, b in zip(x, y)]
    return sum(r) / sum(v * v for v in r)


_CONSTANTS = ("clk_energy", "pin_energy", "clk_to_q", "out_slew", "setup", "hold", "min_period", "clk_cap", "pin_cap")


@dataclass(frozen=True)
class SramModel:
    k_area: float  # um^2 per bit
    k_leak: float  # uW per um^2
    constants: dict  # name -> value (units of the fakeram7 files)
    samples: tuple  # the SramSample the model was fitted to

    @classmethod
    def fit(cls, samples: list[SramSample]) -> "SramModel":
        if len(samples) < 2:
            raise DseError(f"SRAM model: needs at least two fakeram7 liberty files, found {len(samples)}")
        k_area = _relative_fit([s.size for s in samples], [s.area for s in samples])
        k_leak = _relative_fit([k_area * s.size for s in samples], [s.leakage for s in samples])
        consts = {c: sum(getattr(s, c) for s in samples) / len(samples) for c in _CONSTANTS}
        return cls(k_area=k_area, k_leak=k_leak, constants=consts, samples=tuple(samples))

    def area(self, words: int, bits: int) -> float:
        return self.k_area * words * bits

    def leakage(self, words: int, bits: int) -> float:
        return self.k_leak * self.area(words, bits)

    def view(self, words: int, bits: int) -> dict:
        """Everything a liberty view of a words x bits macro needs (fakeram7 units)."""
        return dict(area=self.area(words, bits), leakage=self.leakage(words, bits), **self.constants)

    def fit_report(self) -> dict:
        """Relative errors [%] of area and leakage, in sample and leave-one-out."""
        report = {}
        for name, predict, truth in (
            ("area", lambda m, s: m.area(s.words, s.bits), lambda s: s.area),
            ("leakage", lambda m, s: m.leakage(s.words, s.bits), lambda s: s.leakage),
        ):
            ins = [100 * (predict(self, s) - truth(s)) / truth(s) for s in self.samples]
            loo = []
            for i, s in enumerate(self.samples):
                rest = SramModel.fit([t for j, t in enumerate(self.samples) if j != i])
                loo.append(100 * (predict(rest, s) - truth(s)) / truth(s))
            report[name] = {
                "per_shape_pct": {f"{s.words}x{s.bits}": round(e, 2) for s, e in zip(self.samples, ins)},
                "in_sample_max_abs_pct": round(max(map(abs, ins)), 2),
                "in_sample_rms_pct": round(math.sqrt(sum(e * e for e in ins) / len(ins)), 2),
                "loo_max_abs_pct": round(max(map(abs, loo)), 2),
                "loo_rms_pct": round(math.sqrt(sum(e * e for e in loo) / len(loo)), 2),
            }
        for c in _CONSTANTS:
            values = [getattr(s, c) for s in self.samples]
            spread = max(values) - min(values)
            report[c] = {
                "value": self.constants[c],
                "max_abs_pct": round(100 * spread / abs(self.constants[c]), 2) if self.constants[c] else 0.0,
            }
        return report


@lru_cache(maxsize=4)
def _model_for(folder: str) -> SramModel:
    files = sorted(Path(folder).glob(FAKERAM_GLOB))
    return SramModel.fit([parse_fakeram(p) for p in files if _SHAPE.search(p.name)])


def platform_model() -> SramModel:
    """The model fitted to the fakeram7 files of the platform (``find_platform``)."""
    from edalize_dse.platform import find_platform

    folder = find_platform().root / "lib" / "NLDM"
    return _model_for(str(folder))


def macro_name(words: int, bits: int) -> str:
    return f"dse_sram_{words}x{bits}"


def addr_bits(words: int) -> int:
    return max(1, (words - 1).bit_length())


def write_macro(model: SramModel, words: int, bits: int, outdir: Path) -> tuple[Path, Path]:
    """Render the liberty view and the behavioural model of one macro; returns (lib, v)."""
    name = macro_name(words, bits)
    ctx = dict(cell=name, words=words, bits=bits, addr_bits=addr_bits(words), **model.view(words, bits))
    lib = render_to(Path(outdir) / f"{name}.lib", "sram/sram.lib.j2", **ctx)
    model_v = render_to(Path(outdir) / f"{name}.v", "sram/sram.v.j2", **ctx)
    return lib, model_v


# LEF abstract geometry (um): ASAP7's M4 track grid, pins and power stripes as the
# fakeram7 abstracts place them.
LEF_GRID = 0.048
PIN_PITCH = 0.192
PIN_WIDTH = 0.024
STRIPE_PITCH = 0.768
STRIPE_WIDTH = 0.096


def _on_grid(value: float) -> float:
    return math.ceil(value / LEF_GRID - 1e-9) * LEF_GRID


def write_lef(model: SramModel, words: int, bits: int, outdir: Path) -> Path:
    """A LEF abstract of one macro for OpenROAD (ORFS's ADDITIONAL_LEFS): as close to
    square as its pins allow, with the liberty view's area."""
    name = macro_name(words, bits)
    area = model.area(words, bits)
    pins = (
        [("clk", "INPUT"), ("ce_in", "INPUT"), ("we_in", "INPUT")]
        + [(f"addr_in[{i}]", "INPUT") for i in range(addr_bits(words))]
        + [(f"wd_in[{i}]", "INPUT") for i in range(bits)]
        + [(f"rd_out[{i}]", "OUTPUT") for i in range(bits)]
    )
    height = _on_grid(max(math.sqrt(area), (len(pins) + 1) * PIN_PITCH))
    width = _on_grid(max(area / height, 4 * LEF_GRID))
    pin_rows = [dict(name=n, direction=d, y=PIN_PITCH * (i + 1)) for i, (n, d) in enumerate(pins)]
    starts = [STRIPE_PITCH / 2 + k * STRIPE_PITCH for k in range(int((height - STRIPE_PITCH / 2) // STRIPE_PITCH))]
    stripes = {"VDD": starts[0::2], "VSS": starts[1::2]}
    return render_to(
        Path(outdir) / f"{name}.lef",
        "sram/sram.lef.j2",
        cell=name,
        words=words,
        bits=bits,
        area=area,
        aspect=f"{height / width:.2f}",
        width=f"{width:.3f}",
        height=f"{height:.3f}",
        width_value=width,
        pins=pin_rows,
        pin_pitch=PIN_PITCH,
        pin_width=PIN_WIDTH,
        pin_depth=f"{PIN_WIDTH:.3f}",
        stripes=stripes,
        stripe_width=STRIPE_WIDTH,
        stripe_margin=f"{LEF_GRID:.3f}",
        stripe_margin_value=LEF_GRID,
    )
