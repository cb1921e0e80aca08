"""A user's SDC file as the synth flow's timing constraint.

The file is read by OpenSTA as it is; the space's clock-period knob moves it the way
OpenROAD-flow-scripts' AutoTuner does: the value of ``set clk_period N`` is replaced
(the ORFS convention, every clock derived from it moves with it). A file without that
variable has its literal ``create_clock -period`` values scaled together by the ratio of
the knob to the first clock's period, so the clocks keep their relations."""

from __future__ import annotations

import re
from pathlib import Path

from edalize_dse.errors import DseError

_CLK_PERIOD_VAR = re.compile(r"^(\s*set\s+clk_period\s+)([-+\d.eE]+)(.*)$", re.MULTILINE)
_CREATE_CLOCK_PERIOD = re.compile(r"(\bcreate_clock\b[^\n]*?-period\s+)([\d.eE+]+)")
# ORFS platforms keep a generic constraints file that design SDCs source.
PLATFORM_CONSTRAINTS = re.compile(r"\$(?:::)?env\(PLATFORM_DIR\)/constraints\.sdc")


def base_period(text: str, source: str = "SDC") -> float:
    """The clock period the file sets by itself (ps): ``clk_period``, else the first
    ``create_clock -period``. Raises DseError when it creates no clock with a number."""
    m = _CLK_PERIOD_VAR.search(text)
    if m:
        return float(m.group(2))
    m = _CREATE_CLOCK_PERIOD.search(text)
    if m:
        return float(m.group(2))
    raise DseError(
        f"{source}: no clock period found (neither 'set clk_period N' nor 'create_clock -period N'); "
        "the synth flow times every clock the SDC creates and needs one to scale"
    )


def with_period(text: str, period_ps: float, source: str = "SDC") -> str:
    """The SDC text with its clock(s) moved to ``period_ps`` (see the module doc)."""
    if _CLK_PERIOD_VAR.search(text):
        return _CLK_PERIOD_VAR.sub(lambda m: f"{m.group(1)}{period_ps:g}{m.group(3)}", text, count=1)
    ratio = period_ps / base_period(text, source)
    return _CREATE_CLOCK_PERIOD.sub(lambda m: f"{m.group(1)}{float(m.group(2)) * ratio:g}", text)


def needs_platform_constraints(text: str) -> bool:
    return bool(PLATFORM_CONSTRAINTS.search(text))


def read(path: Path) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError as exc:
        raise DseError(f"SDC file {path}: {exc.strerror or exc}") from None
